// The one entry point the policy chain calls: admit a call against every RPM/TPM bucket and budget
// that applies to it (key, team, alias) — all or nothing — and settle it afterwards with what it
// really used. Rejections are thrown as RESOURCE_EXHAUSTED ConnectErrors (quota-errors.ts).
import type { BudgetAlerts } from "./budget-alerts.js";
import type { BudgetReservation, BudgetSpend, BudgetStore } from "./budget-store.js";
import type { BucketTake, LimitStore, MaybePromise, TakeOutcome } from "./limit-store.js";
import { budgetExhausted, rateLimitExceeded } from "./quota-errors.js";
import type { Budget, LimitScope } from "./scopes.js";

/** What the call is expected to use; asked for only when a TPM limit or a budget applies. */
export type CallEstimate = {
  /** Tokens reserved against TPM buckets (e.g. CallBound.expectedTokens); settled to the real usage. */
  readonly tokens: number;
  /** The upper bound of the cost reserved against budgets (CallBound.costNanoUsd). */
  readonly costNanoUsd: bigint;
};

export type AdmissionCall = {
  readonly key?: LimitScope;
  readonly team?: LimitScope;
  readonly alias?: LimitScope;
  readonly estimate: () => CallEstimate;
};

export type CallOutcome = {
  /** Input + output tokens the upstream reported (or the gateway estimated). */
  readonly tokens: number;
  /** The exact cost recorded for the call. */
  readonly costNanoUsd: bigint;
  /** false: refused or failed before any upstream request, so the call counts for nothing. */
  readonly reachedUpstream: boolean;
};

export interface Admission {
  /** Call once, when the call has ended. Later calls are ignored. */
  settle(outcome: CallOutcome): MaybePromise<void>;
}

export type AdmissionOptions = {
  limits: LimitStore;
  budgets: BudgetStore;
  alerts?: BudgetAlerts;
  clock?: () => number;
};

const NOTHING_APPLIES: Admission = { settle: () => undefined };

function then<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

function applies(scope: LimitScope | undefined): boolean {
  return scope !== undefined && (scope.rpm !== undefined || scope.tpm !== undefined || scope.budget !== undefined);
}

export class Admissions {
  readonly #limits: LimitStore;
  readonly #budgets: BudgetStore;
  readonly #alerts: BudgetAlerts | undefined;
  readonly #clock: () => number;

  constructor(options: AdmissionOptions) {
    this.#limits = options.limits;
    this.#budgets = options.budgets;
    this.#alerts = options.alerts;
    this.#clock = options.clock ?? Date.now;
  }

  /** Whether a budget applies, so the bound must assume an output limit and send it upstream. */
  static budgetApplies(call: Pick<AdmissionCall, "key" | "team">): boolean {
    return call.key?.budget !== undefined || call.team?.budget !== undefined;
  }

  /**
   * Synchronous when the stores are (the in-process ones): then a call nothing applies to costs no
   * allocation and no await. Callers `await` the result either way; a rejection is thrown (or
   * rejected) as a RESOURCE_EXHAUSTED ConnectError and takes nothing from any bucket or budget.
   */
  admit(call: AdmissionCall): MaybePromise<Admission> {
    if (!applies(call.key) && !applies(call.team) && !applies(call.alias)) return NOTHING_APPLIES;
    const takes: BucketTake[] = [];
    const budgets: Budget[] = [];
    let estimate: CallEstimate | undefined;
    for (const scope of [call.key, call.team, call.alias]) {
      if (!scope) continue;
      if (scope.rpm) takes.push({ limit: scope.rpm, amount: 1 });
      if (scope.tpm) takes.push({ limit: scope.tpm, amount: (estimate ??= call.estimate()).tokens });
      if (scope.budget) budgets.push(scope.budget);
    }
    const cost = budgets.length > 0 ? (estimate ??= call.estimate()).costNanoUsd : 0n;
    const now = this.#clock();
    // Budgets first: an exhausted budget is the answer that holds, not a rate limit that will pass.
    const reserved = budgets.length > 0 ? this.#budgets.reserve(budgets, cost, now) : undefined;
    return then(reserved, (reservation) => {
      if (reservation && !reservation.ok) throw budgetExhausted(reservation.budget, reservation.spend, cost);
      const taken: MaybePromise<TakeOutcome> = takes.length > 0 ? this.#limits.take(takes, now) : { ok: true };
      return then(taken, (outcome) => {
        if (outcome.ok) return new SettleOnce((result) => this.#settle(takes, budgets, reservation, cost, result));
        if (!reservation) throw rateLimitExceeded(outcome.shortfalls);
        return then(this.#budgets.settle(budgets, reservation, cost, 0n, now), () => {
          throw rateLimitExceeded(outcome.shortfalls);
        });
      });
    });
  }

  #settle(takes: readonly BucketTake[], budgets: readonly Budget[], reservation: BudgetReservation | undefined, reserved: bigint, outcome: CallOutcome): MaybePromise<void> {
    const now = this.#clock();
    let refund: BucketTake[] | undefined;
    for (const take of takes) {
      // A call that never reached an upstream gives everything back; one that did keeps its request
      // and trades its token estimate for the real count (a negative refund charges the difference).
      const amount = !outcome.reachedUpstream ? take.amount : take.limit.kind === "tpm" ? take.amount - outcome.tokens : 0;
      if (amount !== 0) (refund ??= []).push({ limit: take.limit, amount });
    }
    const given = refund ? this.#limits.give(refund, now) : undefined;
    if (!reservation) return given;
    const cost = outcome.reachedUpstream ? outcome.costNanoUsd : 0n;
    const settled = this.#budgets.settle(budgets, reservation, reserved, cost, now);
    return then(given, () => then(settled, (spends) => this.#alert(budgets, spends)));
  }

  #alert(budgets: readonly Budget[], spends: readonly BudgetSpend[]): void {
    if (!this.#alerts) return;
    for (let i = 0; i < budgets.length; i++) this.#alerts.check(budgets[i]!, spends[i]!);
  }
}

class SettleOnce implements Admission {
  #settle: ((outcome: CallOutcome) => MaybePromise<void>) | undefined;
  constructor(settle: (outcome: CallOutcome) => MaybePromise<void>) {
    this.#settle = settle;
  }

  settle(outcome: CallOutcome): MaybePromise<void> {
    const settle = this.#settle;
    this.#settle = undefined;
    return settle?.(outcome);
  }
}
