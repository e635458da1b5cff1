// Budget windows in Redis, shared by every replica. reserve() checks every budget of the call and
// reserves in all of them in one atomic script; each reservation is a lease that expires by itself
// (lease_ms) if the replica holding it dies before settling. Counters are keyed per budget and
// window start and expire a day after the window ends.
import { randomUUID } from "node:crypto";
import { windowAt } from "../policy/limits/budget-window.js";
import type { BudgetReservation, BudgetShortfall, BudgetSpend, BudgetStore, SeedSpend } from "../policy/limits/budget-store.js";
import { budgetId, type Budget } from "../policy/limits/scopes.js";
import { KEY_PREFIX, type SharedState } from "./connection.js";

const KEEP_AFTER_WINDOW_MS = 24 * 3600 * 1000;

export function windowKey(id: string, windowStart: number): string {
  return `${KEY_PREFIX}budget:${id}:${windowStart}`;
}

function leaseKey(id: string, windowStart: number): string {
  return `${windowKey(id, windowStart)}:leases`;
}

function spendOf(budget: Budget, now: number, committed: string, reserved: string): BudgetSpend {
  const { start, end } = windowAt(budget.window, now);
  return { committedNanoUsd: BigInt(committed), reservedNanoUsd: BigInt(reserved), windowStart: start, windowEnd: end };
}

export class RedisBudgetStore implements BudgetStore {
  readonly #shared: SharedState;

  constructor(shared: SharedState) {
    this.#shared = shared;
  }

  reserve(budgets: readonly Budget[], amountNanoUsd: bigint, now: number): Promise<BudgetReservation | BudgetShortfall> {
    const windows = budgets.map((budget) => windowAt(budget.window, now));
    const windowStarts = windows.map((w) => w.start);
    const lease = randomUUID();
    return this.#shared.guard<BudgetReservation | BudgetShortfall>(
      async (redis) => {
        const keys = budgets.flatMap((b, i) => [windowKey(b.id, windowStarts[i]!), leaseKey(b.id, windowStarts[i]!)]);
        const args = [now, amountNanoUsd.toString(), lease, now + this.#shared.leaseMs];
        budgets.forEach((b, i) => args.push(b.limitNanoUsd.toString(), windows[i]!.end + KEEP_AFTER_WINDOW_MS));
        const [failed, committed, reserved] = await redis.sbReserve(keys.length, ...keys, ...args);
        if (failed === 0) return { ok: true, windowStarts, lease };
        const budget = budgets[Number(failed) - 1]!;
        return { ok: false, budget, spend: spendOf(budget, now, String(committed), String(reserved)) };
      },
      // Admitted unchecked: no lease to release; the cost is still committed if Redis is back at settling.
      () => ({ ok: true, windowStarts }),
    );
  }

  async settle(budgets: readonly Budget[], reservation: BudgetReservation, reservedNanoUsd: bigint, costNanoUsd: bigint, now: number): Promise<readonly BudgetSpend[]> {
    const current = budgets.map((budget) => windowAt(budget.window, now).start);
    const keys = budgets.flatMap((b, i) => {
      const admitted = reservation.windowStarts[i]!;
      return [windowKey(b.id, admitted), leaseKey(b.id, admitted), windowKey(b.id, current[i]!), leaseKey(b.id, current[i]!)];
    });
    const args = [now, reservation.lease ?? "", reservedNanoUsd.toString(), costNanoUsd.toString()];
    budgets.forEach((b, i) => args.push(current[i] === reservation.windowStarts[i] ? "1" : "0", windowAt(b.window, now).end + KEEP_AFTER_WINDOW_MS));
    let spends: BudgetSpend[] = budgets.map((b) => spendOf(b, now, "0", "0"));
    await this.#shared.bestEffort(async (redis) => {
      const out = await redis.sbSettle(keys.length, ...keys, ...args);
      spends = budgets.map((b, i) => spendOf(b, now, out[2 * i]!, out[2 * i + 1]!));
    });
    return spends;
  }

  /** Seeds each window's committed spend from the ledger only where Redis holds none yet (another replica may be counting). */
  async seed(spend: readonly SeedSpend[]): Promise<void> {
    if (spend.length === 0) return;
    const keys: string[] = [];
    const args: string[] = [];
    for (const entry of spend) {
      const bounds = windowAt(entry.window, entry.windowStart);
      keys.push(windowKey(budgetId(entry.scope, entry.name, entry.window), bounds.start));
      args.push(entry.spentNanoUsd.toString(), String(bounds.end + KEEP_AFTER_WINDOW_MS));
    }
    await this.#shared.bestEffort((redis) => redis.sbSeed(keys.length, ...keys, ...args));
  }

  spend(budget: Budget, now: number): Promise<BudgetSpend> {
    const { start } = windowAt(budget.window, now);
    return this.#shared.guard(
      async (redis) => {
        const [committed, reserved] = await redis.sbSpend(2, windowKey(budget.id, start), leaseKey(budget.id, start), now);
        return spendOf(budget, now, committed!, reserved!);
      },
      () => spendOf(budget, now, "0", "0"),
    );
  }
}
