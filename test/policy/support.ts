// Shared pieces of the policy tests: a clock the test moves by hand, and stores that answer
// asynchronously (as a Redis store would) by wrapping the in-process ones, so the admission's
// promise path and interleaving of concurrent calls are exercised too.
import { ConnectError } from "@connectrpc/connect";
import { Admissions, type Admission, type AdmissionCall, type CallEstimate } from "../../server/policy/limits/admission.js";
import {
  InProcessBudgetStore,
  type BudgetReservation,
  type BudgetShortfall,
  type BudgetSpend,
  type BudgetStore,
  type SeedSpend,
} from "../../server/policy/limits/budget-store.js";
import { InProcessLimitStore, type BucketTake, type LimitStore, type TakeOutcome } from "../../server/policy/limits/limit-store.js";
import type { Budget } from "../../server/policy/limits/scopes.js";

export class ManualClock {
  now: number;
  constructor(iso = "2026-12-15T12:00:00.000Z") {
    this.now = Date.parse(iso);
  }
  read = (): number => this.now;
  set(iso: string): void {
    this.now = Date.parse(iso);
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

/** One macrotask later: lets every pending promise chain of the other concurrent calls run. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class AsyncLimitStore implements LimitStore {
  constructor(readonly inner: InProcessLimitStore) {}
  async take(takes: readonly BucketTake[], now: number): Promise<TakeOutcome> {
    await turn();
    return this.inner.take(takes, now);
  }
  async give(takes: readonly BucketTake[], now: number): Promise<void> {
    await turn();
    this.inner.give(takes, now);
  }
}

export class AsyncBudgetStore implements BudgetStore {
  constructor(readonly inner: InProcessBudgetStore) {}
  async reserve(budgets: readonly Budget[], amount: bigint, now: number): Promise<BudgetReservation | BudgetShortfall> {
    await turn();
    return this.inner.reserve(budgets, amount, now);
  }
  async settle(budgets: readonly Budget[], r: BudgetReservation, reserved: bigint, cost: bigint, now: number): Promise<readonly BudgetSpend[]> {
    await turn();
    return this.inner.settle(budgets, r, reserved, cost, now);
  }
  async seed(spend: readonly SeedSpend[]): Promise<void> {
    this.inner.seed(spend);
  }
  async spend(budget: Budget, now: number): Promise<BudgetSpend> {
    return this.inner.spend(budget, now);
  }
}

export type Rig = { admissions: Admissions; limits: InProcessLimitStore; budgets: InProcessBudgetStore; clock: ManualClock };

export function rig(options: { async?: boolean; clock?: ManualClock } = {}): Rig {
  const limits = new InProcessLimitStore();
  const budgets = new InProcessBudgetStore();
  const clock = options.clock ?? new ManualClock();
  const admissions = new Admissions({
    limits: options.async ? new AsyncLimitStore(limits) : limits,
    budgets: options.async ? new AsyncBudgetStore(budgets) : budgets,
    clock: clock.read,
  });
  return { admissions, limits, budgets, clock };
}

export function estimate(tokens: number, costNanoUsd = 0n): () => CallEstimate {
  return () => ({ tokens, costNanoUsd });
}

/** Admits, and returns the admission or the ConnectError it was refused with (anything else fails the test). */
export async function tryAdmit(admissions: Admissions, call: AdmissionCall): Promise<Admission | ConnectError> {
  try {
    return await admissions.admit(call);
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw error;
  }
}

export function refused(results: readonly (Admission | ConnectError)[]): ConnectError[] {
  return results.filter((r): r is ConnectError => r instanceof ConnectError);
}
