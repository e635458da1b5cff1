// RPM and TPM counters as token buckets. The interface is async-capable so that a Redis store can
// implement `take` as ONE atomic server-side script; the in-process store answers synchronously.
import type { RateLimit } from "./scopes.js";

export type MaybePromise<T> = T | Promise<T>;

export type BucketTake = { readonly limit: RateLimit; readonly amount: number };

export type BucketShortfall = {
  readonly limit: RateLimit;
  readonly amount: number;
  /** How long until the bucket holds enough for this call (ms, ≥ 1). */
  readonly retryAfterMs: number;
};

export type TakeOutcome = { readonly ok: true } | { readonly ok: false; readonly shortfalls: readonly BucketShortfall[] };

export interface LimitStore {
  /** All or nothing: takes every amount from its bucket, or — when any bucket lacks it — takes nothing. */
  take(takes: readonly BucketTake[], now: number): MaybePromise<TakeOutcome>;
  /** Puts amounts back (a refund); a negative amount charges more and may drive a bucket below zero. */
  give(takes: readonly BucketTake[], now: number): MaybePromise<void>;
}

// Levels are held in token·(60,000)ths so that a bucket refilling `perMinute` tokens a minute gains
// exactly `perMinute` units a millisecond: integer arithmetic, no drift however often it is read.
const UNITS_PER_TOKEN = 60_000;

type BucketState = { units: number; at: number };

/** A bucket's level after refilling up to `now`; starts full. */
function refill(state: BucketState | undefined, limit: RateLimit, now: number): BucketState {
  const capacity = limit.perMinute * UNITS_PER_TOKEN;
  if (!state) return { units: capacity, at: now };
  const elapsed = Math.max(0, now - state.at);
  // min() also applies a capacity lowered by a config reload.
  state.units = Math.min(capacity, state.units + elapsed * limit.perMinute);
  state.at = Math.max(state.at, now);
  return state;
}

/**
 * What a call needs in the bucket before it may run: its amount, but never more than the capacity —
 * a call larger than the whole limit runs when the bucket is full and leaves it negative, which delays
 * the calls after it as its tokens would have; otherwise it could never run at all.
 */
function unitsNeeded(limit: RateLimit, amount: number): number {
  return Math.min(amount, limit.perMinute) * UNITS_PER_TOKEN;
}

export class InProcessLimitStore implements LimitStore {
  readonly #buckets = new Map<string, BucketState>();

  take(takes: readonly BucketTake[], now: number): TakeOutcome {
    let shortfalls: BucketShortfall[] | undefined;
    for (const { limit, amount } of takes) {
      const state = refill(this.#buckets.get(limit.id), limit, now);
      this.#buckets.set(limit.id, state);
      const missing = unitsNeeded(limit, amount) - state.units;
      if (missing > 0) (shortfalls ??= []).push({ limit, amount, retryAfterMs: Math.max(1, Math.ceil(missing / limit.perMinute)) });
    }
    if (shortfalls) return { ok: false, shortfalls };
    for (const { limit, amount } of takes) this.#buckets.get(limit.id)!.units -= amount * UNITS_PER_TOKEN;
    return { ok: true };
  }

  give(takes: readonly BucketTake[], now: number): void {
    for (const { limit, amount } of takes) {
      const state = refill(this.#buckets.get(limit.id), limit, now);
      state.units = Math.min(limit.perMinute * UNITS_PER_TOKEN, state.units + amount * UNITS_PER_TOKEN);
      this.#buckets.set(limit.id, state);
    }
  }

  /** Whole tokens the bucket holds at `now` (negative after an underestimate): for tests and GetBudget-style views. */
  level(limit: RateLimit, now: number): number {
    const state = this.#buckets.get(limit.id);
    if (!state) return limit.perMinute;
    const units = Math.min(limit.perMinute * UNITS_PER_TOKEN, state.units + Math.max(0, now - state.at) * limit.perMinute);
    return Math.floor(units / UNITS_PER_TOKEN);
  }
}
