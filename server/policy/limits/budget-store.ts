// Spend per budget and window: what is committed (settled calls) and what is reserved (upper
// bounds of calls in flight). The invariant every implementation keeps: reserved + committed never
// exceeds the limit because of an admission. Async-capable so Redis can do `reserve` in one script.
import { windowAt } from "./budget-window.js";
import type { MaybePromise } from "./limit-store.js";
import { budgetId, type Budget, type BudgetWindow } from "./scopes.js";

export type BudgetSpend = {
  readonly committedNanoUsd: bigint;
  readonly reservedNanoUsd: bigint;
  /** The window's UTC bounds (ms since the epoch). */
  readonly windowStart: number;
  readonly windowEnd: number;
};

export type BudgetReservation = {
  readonly ok: true;
  /** The window each budget was reserved in, so settling after a rollover touches the right one. */
  readonly windowStarts: readonly number[];
  /** A shared store's lease on the reservation (released at settling, or expiring by itself). */
  readonly lease?: string;
};

export type BudgetShortfall = { readonly ok: false; readonly budget: Budget; readonly spend: BudgetSpend };

/** Spend already recorded for a budget's current window (from the ledger's rollups, at start-up). */
export type SeedSpend = {
  readonly scope: "key" | "team";
  readonly name: string;
  readonly window: BudgetWindow;
  /** Start of the window the spend belongs to (ms since the epoch, UTC midnight / month start). */
  readonly windowStart: number;
  readonly spentNanoUsd: bigint;
};

export interface BudgetStore {
  /** All or nothing: reserves `amount` in every budget, or in none when any would go over. */
  reserve(budgets: readonly Budget[], amountNanoUsd: bigint, now: number): MaybePromise<BudgetReservation | BudgetShortfall>;
  /** Releases a reservation and commits the exact cost; returns each budget's spend after it. */
  settle(
    budgets: readonly Budget[],
    reservation: BudgetReservation,
    reservedNanoUsd: bigint,
    costNanoUsd: bigint,
    now: number,
  ): MaybePromise<readonly BudgetSpend[]>;
  seed(spend: readonly SeedSpend[]): MaybePromise<void>;
  spend(budget: Budget, now: number): MaybePromise<BudgetSpend>;
}

type WindowState = { start: number; end: number; committed: bigint; reserved: bigint };

/**
 * Whether a call whose cost is at most `amount` fits. A budget already spent in full admits nothing,
 * not even a call bounded at 0 (an unpriced target): a hard stop stops.
 */
export function fits(budget: Budget, state: { committed: bigint; reserved: bigint }, amount: bigint): boolean {
  return state.committed < budget.limitNanoUsd && state.committed + state.reserved + amount <= budget.limitNanoUsd;
}

export class InProcessBudgetStore implements BudgetStore {
  readonly #windows = new Map<string, WindowState>();

  #current(budget: Budget, now: number): WindowState {
    let state = this.#windows.get(budget.id);
    // Only moving forward past the window's end rolls it over: a clock stepping back keeps the
    // current window (and its spend) rather than opening an empty older one.
    if (!state || now >= state.end) {
      state = { ...windowAt(budget.window, now), committed: 0n, reserved: 0n };
      this.#windows.set(budget.id, state);
    }
    return state;
  }

  reserve(budgets: readonly Budget[], amountNanoUsd: bigint, now: number): BudgetReservation | BudgetShortfall {
    for (const budget of budgets) {
      const state = this.#current(budget, now);
      if (!fits(budget, state, amountNanoUsd)) return { ok: false, budget, spend: view(state) };
    }
    const windowStarts = budgets.map((budget) => {
      const state = this.#current(budget, now);
      state.reserved += amountNanoUsd;
      return state.start;
    });
    return { ok: true, windowStarts };
  }

  settle(budgets: readonly Budget[], reservation: BudgetReservation, reservedNanoUsd: bigint, costNanoUsd: bigint, now: number): BudgetSpend[] {
    return budgets.map((budget, i) => {
      const state = this.#current(budget, now);
      // A call is charged to the window it was admitted in; once that window has rolled over its
      // counters are gone, and the cost belongs to no current budget.
      if (state.start !== reservation.windowStarts[i]) return view(state);
      state.reserved -= reservedNanoUsd;
      if (state.reserved < 0n) state.reserved = 0n;
      state.committed += costNanoUsd;
      return view(state);
    });
  }

  seed(spend: readonly SeedSpend[]): void {
    for (const entry of spend) {
      const id = budgetId(entry.scope, entry.name, entry.window);
      const bounds = windowAt(entry.window, entry.windowStart);
      if (bounds.start !== entry.windowStart) throw new RangeError(`seed for ${id}: ${new Date(entry.windowStart).toISOString()} is not the start of a ${entry.window}`);
      const state = this.#windows.get(id);
      if (state && state.start > bounds.start) continue;
      this.#windows.set(id, { ...bounds, committed: entry.spentNanoUsd, reserved: state?.start === bounds.start ? state.reserved : 0n });
    }
  }

  spend(budget: Budget, now: number): BudgetSpend {
    return view(this.#current(budget, now));
  }
}

function view(state: WindowState): BudgetSpend {
  return { committedNanoUsd: state.committed, reservedNanoUsd: state.reserved, windowStart: state.start, windowEnd: state.end };
}
