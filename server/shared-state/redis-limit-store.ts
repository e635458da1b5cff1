// RPM and TPM token buckets in Redis, shared by every replica: take() is one atomic script over
// every bucket of the call (all or nothing), as the in-process store does it in one event-loop turn.
import type { BucketShortfall, BucketTake, LimitStore, TakeOutcome } from "../policy/limits/limit-store.js";
import { KEY_PREFIX, type SharedState } from "./connection.js";

const ADMITTED: TakeOutcome = Object.freeze({ ok: true });

export function bucketKey(id: string): string {
  return `${KEY_PREFIX}bucket:${id}`;
}

function keysThenArgs(takes: readonly BucketTake[], now: number): (string | number)[] {
  const args: (string | number)[] = takes.map((take) => bucketKey(take.limit.id));
  args.push(now);
  for (const { limit, amount } of takes) args.push(limit.perMinute, amount);
  return args;
}

export class RedisLimitStore implements LimitStore {
  readonly #shared: SharedState;

  constructor(shared: SharedState) {
    this.#shared = shared;
  }

  take(takes: readonly BucketTake[], now: number): Promise<TakeOutcome> {
    return this.#shared.guard(
      async (redis) => {
        const short = await redis.sbTake(takes.length, ...keysThenArgs(takes, now));
        if (short.length === 0) return ADMITTED;
        const shortfalls: BucketShortfall[] = [];
        for (let i = 0; i < short.length; i += 2) {
          const take = takes[short[i]!]!;
          shortfalls.push({ limit: take.limit, amount: take.amount, retryAfterMs: short[i + 1]! });
        }
        return { ok: false, shortfalls };
      },
      () => ADMITTED,
    );
  }

  give(takes: readonly BucketTake[], now: number): Promise<void> {
    return this.#shared.bestEffort((redis) => redis.sbGive(takes.length, ...keysThenArgs(takes, now)));
  }
}
