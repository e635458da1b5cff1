// Shared circuit state on a real redis-server, replica by replica: an opening travels over pub/sub,
// a replica that starts during the cooldown adopts it from Redis, and a probe's success closes it
// everywhere. Plus the shared_state config errors, which name the field.
import test, { type ExecutionContext } from "ava";
import { validateConfig } from "../../server/config/load.js";
import { SharedState } from "../../server/shared-state/connection.js";
import { SharedCircuits } from "../../server/shared-state/shared-circuits.js";
import { createLogger } from "../../server/telemetry/log.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

const CIRCUIT = { failure_threshold: 2, window_ms: 60_000, cooldown_ms: 60_000 };

async function replica(t: ExecutionContext, redis: TestRedis): Promise<SharedCircuits> {
  const state = new SharedState({ redis: redis.url, on_failure: "open", lease_ms: 60_000, key_poll_ms: 5_000 }, createLogger("silent", process.stdout));
  t.teardown(() => state.close());
  await state.ready();
  return new SharedCircuits(state);
}

async function until(probe: () => boolean, withinMs: number): Promise<void> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("circuit-opened-on-one-replica-reaches-the-others-and-a-late-starter-and-a-probe-success-closes-it-everywhere", async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await Promise.all([replica(t, redis), replica(t, redis)]);
  const onA = a.factory("chat\u0000main\u0000gpt-4o", CIRCUIT);
  const onB = b.factory("chat\u0000main\u0000gpt-4o", CIRCUIT);
  const other = b.factory("chat\u0000main\u0000other", CIRCUIT);
  const now = Date.now();
  for (let i = 0; i < 2; i++) onA.settle(onA.admit(now)!, "failure", now);
  t.is(onA.circuit, "open");
  await until(() => onB.circuit === "open", 1_000);
  t.is(onB.admit(Date.now()), undefined, "replica B skips the target");
  t.true(onB.cooldownLeft(Date.now()) > 50_000, "with the cooldown A started");
  t.is(other.circuit, "closed", "only that target's circuit");

  // A replica starting during the cooldown finds it in Redis.
  const c = await replica(t, redis);
  const onC = c.factory("chat\u0000main\u0000gpt-4o", CIRCUIT);
  await c.load();
  t.is(onC.circuit, "open");

  // B's probe succeeds once the cooldown is over (here: B's clock jumps past it): every replica closes.
  const later = Date.now() + 61_000;
  const probe = onB.admit(later);
  t.true(probe?.probe);
  onB.settle(probe!, "success", later);
  await until(() => onA.circuit === "closed" && onC.circuit === "closed", 1_000);
  const d = await replica(t, redis);
  const onD = d.factory("chat\u0000main\u0000gpt-4o", CIRCUIT);
  await d.load();
  t.is(onD.circuit, "closed", "a closed circuit leaves nothing behind in Redis");
});

test("shared-state-config-errors-name-the-field", (t) => {
  const base = { providers: { p: { type: "openai", api_key: "sk-test-000000000" } }, models: { chat: { targets: [{ provider: "p", model: "m" }] } } };
  const problems = (shared: unknown) => {
    try {
      validateConfig({ ...base, shared_state: shared }, "test");
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };
  t.regex(problems({ redis: "http://redis:6379" }), /shared_state\.redis: expected a redis:\/\/ or rediss:\/\/ URL/);
  t.regex(problems({ redis: "redis://redis:6379", on_failure: "maybe" }), /shared_state\.on_failure:/);
  t.regex(problems({ redis: "redis://redis:6379", lease: 5 }), /shared_state: unknown field\(s\) "lease"/);
  t.regex(problems({}), /shared_state\.redis:/);
  t.is(problems({ redis: "rediss://user:pw@redis:6380/2" }), "");
  t.is(validateConfig({ ...base, shared_state: { redis: "redis://r:6379" } }, "test").shared_state?.on_failure, "open");
});
