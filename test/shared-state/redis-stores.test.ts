// The Lua scripts of the Redis stores against a real redis-server: exact admission at a bucket's
// boundary, all-or-nothing takes, leases that expire by themselves, seeding only what is absent,
// no overshoot under concurrent replicas, and the failure policy while Redis is down.
import test, { type ExecutionContext } from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import type { SharedStateConfig } from "../../server/config/schema.js";
import { limitScope, type Budget, type RateLimit } from "../../server/policy/limits/scopes.js";
import { SharedState } from "../../server/shared-state/connection.js";
import { RedisBudgetStore } from "../../server/shared-state/redis-budget-store.js";
import { RedisLimitStore } from "../../server/shared-state/redis-limit-store.js";
import { createLogger } from "../../server/telemetry/log.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

const now = Date.parse("2026-12-15T12:00:00Z");

async function connect(t: ExecutionContext, redis: TestRedis, config: Partial<SharedStateConfig> = {}): Promise<SharedState> {
  const state = new SharedState({ redis: redis.url, on_failure: "open", lease_ms: 60_000, key_poll_ms: 5_000, ...config }, createLogger("silent", process.stdout));
  t.teardown(() => state.close());
  await state.ready();
  return state;
}

const rpm = (name: string, perMinute: number): RateLimit => limitScope("key", name, { rpm: perMinute }).rpm!;
const budget = (name: string, nanoUsd: bigint): Budget => ({ ...limitScope("team", name, { budget: { usd: 1, window: "day" } }).budget!, limitNanoUsd: nanoUsd });

test("redis-bucket-admits-exactly-its-capacity-then-refills-at-the-exact-millisecond", async (t) => {
  const store = new RedisLimitStore(await connect(t, await startRedis(t)));
  const limit = rpm("boundary", 3);
  for (let i = 0; i < 3; i++) t.deepEqual(await store.take([{ limit, amount: 1 }], now), { ok: true });
  const refused = await store.take([{ limit, amount: 1 }], now);
  t.false(refused.ok);
  // One token of a 3-a-minute bucket takes 20 s to refill.
  t.deepEqual(!refused.ok && refused.shortfalls.map((s) => s.retryAfterMs), [20_000]);
  const almost = await store.take([{ limit, amount: 1 }], now + 19_999);
  t.deepEqual(!almost.ok && almost.shortfalls.map((s) => s.retryAfterMs), [1]);
  t.deepEqual(await store.take([{ limit, amount: 1 }], now + 20_000), { ok: true });
  t.false((await store.take([{ limit, amount: 1 }], now + 20_000)).ok);
});

test("redis-take-is-all-or-nothing-across-buckets", async (t) => {
  const store = new RedisLimitStore(await connect(t, await startRedis(t)));
  const wide = rpm("wide", 10);
  const narrow = rpm("narrow", 1);
  t.true((await store.take([{ limit: wide, amount: 1 }, { limit: narrow, amount: 1 }], now)).ok);
  const refused = await store.take([{ limit: wide, amount: 1 }, { limit: narrow, amount: 1 }], now);
  t.deepEqual(!refused.ok && refused.shortfalls.map((s) => s.limit.id), [narrow.id]);
  // The refused take left the wide bucket alone: 9 of its 10 remain.
  for (let i = 0; i < 9; i++) t.true((await store.take([{ limit: wide, amount: 1 }], now)).ok, `take ${i}`);
  t.false((await store.take([{ limit: wide, amount: 1 }], now)).ok);
  // A refund puts one back.
  await store.give([{ limit: wide, amount: 1 }], now);
  t.true((await store.take([{ limit: wide, amount: 1 }], now)).ok);
});

test("redis-budget-lease-expiry-releases-the-reservation-of-a-replica-that-died", async (t) => {
  const redis = await startRedis(t);
  const dead = new RedisBudgetStore(await connect(t, redis, { lease_ms: 1_000 }));
  const alive = new RedisBudgetStore(await connect(t, redis, { lease_ms: 1_000 }));
  const b = budget("lease", 100n);
  t.true((await dead.reserve([b], 100n, now)).ok);
  // The holder never settles. Until its lease runs out, nothing else fits.
  const refused = await alive.reserve([b], 1n, now + 999);
  t.false(refused.ok);
  t.is(!refused.ok && refused.spend.reservedNanoUsd, 100n);
  t.true((await alive.reserve([b], 100n, now + 1_000)).ok);
  t.like(await alive.spend(b, now + 1_000), { committedNanoUsd: 0n, reservedNanoUsd: 100n });
});

test("redis-budget-settle-commits-the-cost-and-releases-the-reservation", async (t) => {
  const store = new RedisBudgetStore(await connect(t, await startRedis(t)));
  const team = budget("settle-team", 100n);
  const key = budget("settle-key", 1_000n);
  const reservation = await store.reserve([team, key], 60n, now);
  if (!reservation.ok) return t.fail("the first reservation must fit");
  const spends = await store.settle([team, key], reservation, 60n, 40n, now);
  t.deepEqual(spends.map((s) => [s.committedNanoUsd, s.reservedNanoUsd]), [[40n, 0n], [40n, 0n]]);
  const over = await store.reserve([key, team], 61n, now);
  t.is(!over.ok && over.budget.id, team.id);
  // The refusal reserved nothing in the key's budget either.
  t.like(await store.spend(key, now), { reservedNanoUsd: 0n });
  t.true((await store.reserve([team], 60n, now)).ok);
});

test("redis-budget-seed-applies-only-to-a-window-not-yet-counted", async (t) => {
  const store = new RedisBudgetStore(await connect(t, await startRedis(t)));
  const b = budget("seeded", 1_000n);
  const dayStart = Date.parse("2026-12-15T00:00:00Z");
  await store.seed([{ scope: "team", name: "seeded", window: "day", windowStart: dayStart, spentNanoUsd: 300n }]);
  await store.seed([{ scope: "team", name: "seeded", window: "day", windowStart: dayStart, spentNanoUsd: 999n }]);
  t.like(await store.spend(b, now), { committedNanoUsd: 300n, windowStart: dayStart });
});

test("redis-budget-never-overshoots-under-concurrent-replicas", async (t) => {
  const redis = await startRedis(t);
  const replicas = await Promise.all([0, 1, 2].map(async () => new RedisBudgetStore(await connect(t, redis))));
  const b = budget("race", 500n);
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => replicas[i % 3]!.reserve([b], 100n, now)));
  t.is(results.filter((r) => r.ok).length, 5);
});

test("redis-down-open-admits-closed-refuses-unavailable-and-both-recover", async (t) => {
  const redis = await startRedis(t);
  const open = await connect(t, redis, { on_failure: "open" });
  const closed = await connect(t, redis, { on_failure: "closed" });
  const limit = rpm("outage", 1);
  const [openStore, closedStore] = [new RedisLimitStore(open), new RedisLimitStore(closed)];
  t.true((await openStore.take([{ limit, amount: 1 }], now)).ok);
  t.false((await closedStore.take([{ limit, amount: 1 }], now)).ok);

  await redis.stop();
  t.true((await openStore.take([{ limit, amount: 1 }], now)).ok, "fail-open admits unchecked");
  t.is(open.counters.admittedUnchecked, 1);
  const error = await t.throwsAsync(Promise.resolve(closedStore.take([{ limit, amount: 1 }], now)));
  t.is(ConnectError.from(error).code, Code.Unavailable);
  t.regex(ConnectError.from(error).rawMessage, /shared state \(redis\) unavailable/);
  t.is(open.counters.outages, 1);

  // Not events.once: it would reject on the connection errors ioredis reports while reconnecting.
  const ready = (state: SharedState) => new Promise((resolve) => state.redis.once("ready", resolve));
  const reconnected = Promise.all([ready(open), ready(closed)]);
  await redis.start();
  await reconnected;
  // Redis came back empty (no persistence): the bucket is full again, and checked again.
  t.true((await closedStore.take([{ limit, amount: 1 }], now)).ok);
  t.false((await openStore.take([{ limit, amount: 1 }], now)).ok);
});
