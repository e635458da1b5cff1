// Three `switchboard serve` PROCESSES sharing one real redis-server (limits, budgets, circuits, key
// changes) and one real PostgreSQL (keys, ledger, audit): exact RPM across replicas, no budget
// overshoot, a circuit opened on one replica honoured by the others, a key revoked on one refused by
// the others within 1 s, a replica killed with SIGKILL mid-load losing no answered call's ledger row,
// and Redis stopped and restarted under on_failure closed (these processes) and open (an in-process
// gateway on the same Redis). The limits' clock is frozen
// (SWITCHBOARD_TEST_LIMITS_CLOCK_MS) so no bucket refills while a test runs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/switchboard/v1/admin_pb.js";
import { TargetState_Circuit } from "../../gen/switchboard/v1/inference_pb.js";
import { createInferenceClient, userText, type InferenceClient } from "../../clients/inference-client.js";
import { createPriceCatalog } from "../../server/core/pricing.js";
import { boundCompletion } from "../../server/policy/limits/cost-bound.js";
import { startOpenAIFake } from "../fakes/openai.js";
import type { FakeUpstream } from "../fakes/server.js";
import { childOutput, type ChildOutput } from "../helpers/child-output.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startPostgres } from "../helpers/postgres.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

const ADMIN_KEY = "admin-secret-for-replica-tests-01";
const RPM_KEY = "sk-sb-replicas-rpm-key-0000000001";
const BUDGET_KEY = "sk-sb-replicas-budget-key-000000001";
const LOAD_KEY = "sk-sb-replicas-load-key-00000000001";
const MODEL = "gpt-4o-mini";
const CLI = ["--import=tsx", "server/cli.ts"];
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS)_/.test(k) && !k.startsWith("SWITCHBOARD_")));
// An hour ahead: the key directory shares this clock, and a key revoked during the test must count as revoked by it.
const frozen = Date.now() + 3_600_000;

// The bound the gateway reserves for a one-message "Hi" with the alias's assumed 100 output tokens;
// the fake reports exactly it, so every admitted call costs what it reserved.
const bound = boundCompletion({
  request: { messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }], tools: [], generation: { maxOutputTokens: undefined, stopSequences: [] } },
  targets: [{ name: `main/${MODEL}`, providerType: "openai", model: MODEL, price: createPriceCatalog().lookup(MODEL) }],
  hedging: false,
  assumedOutputTokens: 100,
  budgetApplies: true,
});
const budgetUsd = (Number(bound.costNanoUsd) * 5.5) / 1e9;

type Replica = { child: ChildProcess; output: ChildOutput; address: string; as(key: string): InferenceClient };
type Cluster = { redis: TestRedis; main: FakeUpstream; broken: FakeUpstream; replicas: Replica[]; config: Record<string, unknown>; file: string };

const teardowns: (() => unknown)[] = [];
const on = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
let cluster: Promise<Cluster>;

async function serve(file: string): Promise<Replica> {
  const child = spawn(process.execPath, [...CLI, "serve", "--config", file], { env: { ...ENV, SWITCHBOARD_TEST_LIMITS_CLOCK_MS: String(frozen) } });
  teardowns.push(() => child.kill("SIGKILL"));
  const output = childOutput(child);
  const [, address] = await output.waitForLine(/"address":"([^"]+)".*switchboard listening/);
  return { child, output, address, as: (apiKey) => createInferenceClient({ baseUrl: `http://${address}`, apiKey, timeoutMs: 20_000 }) };
}

async function startCluster(): Promise<Cluster> {
  const [redis, main, broken, postgres] = await Promise.all([startRedis(on as never), startOpenAIFake(), startOpenAIFake(), startPostgres()]);
  teardowns.push(() => postgres.stop(), () => main.close(), () => broken.close());
  const databaseUrl = await postgres.createDatabase();
  main.setProgram(() => ({ kind: "reply", text: "ok", usage: { input: bound.inputTokens, output: bound.outputTokens } }));
  broken.setProgram(() => ({ kind: "error", error: "server_error" }));
  const dir = await mkdtemp(join(tmpdir(), "sb-replicas-"));
  teardowns.push(() => rm(dir, { recursive: true, force: true }));
  const provider = (fake: FakeUpstream) => ({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-000000000" });
  const config = {
    listen: "127.0.0.1:0",
    log_level: "info",
    auth: { admin_key: ADMIN_KEY },
    store: { postgres: { url: databaseUrl } },
    // A long poll: the key test proves the pub/sub path, not the fallback.
    shared_state: { redis: redis.url, on_failure: "closed", key_poll_ms: 600_000 },
    providers: { main: provider(main), broken: provider(broken) },
    models: {
      chat: { retry: { max_attempts: 1 }, assumed_output_tokens: 100, targets: [{ provider: "main", model: MODEL }] },
      flaky: { retry: { max_attempts: 1 }, circuit: { failure_threshold: 2, window_ms: 600_000, cooldown_ms: 600_000 }, targets: [{ provider: "broken", model: MODEL }] },
    },
    teams: { rpm: {}, spend: { budget: { usd: budgetUsd, window: "month" } }, load: {} },
    keys: [
      { name: "rpm-key", team: "rpm", secret: RPM_KEY, rpm: 60 },
      { name: "budget-key", team: "spend", secret: BUDGET_KEY },
      { name: "load-key", team: "load", secret: LOAD_KEY },
    ],
  };
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, JSON.stringify(config));
  // All three start at once: their migrations must not race (an advisory lock orders them).
  const replicas = await Promise.all([serve(file), serve(file), serve(file)]);
  return { redis, main, broken, replicas, config, file };
}

test.before(() => {
  cluster = startCluster();
  cluster.catch(() => undefined);
});
test.after.always(async () => {
  for (const teardown of teardowns.reverse()) await teardown();
});

async function settled(calls: Promise<unknown>[]): Promise<{ ok: number; refused: ConnectError[] }> {
  const results = await Promise.allSettled(calls);
  return { ok: results.filter((r) => r.status === "fulfilled").length, refused: results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : [])) };
}

const hi = { model: "chat", messages: [userText("Hi")] };

/** Retries `probe` until it returns true, failing after `withinMs`; returns how long it took. */
async function until(probe: () => Promise<boolean>, withinMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    // A short pause between probes, so polling does not starve the replicas on a 2-core machine.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

/**
 * Waits until `client`'s key, created on another replica, is known where it calls: the key reaches
 * the other replicas within milliseconds of its creation, not before createKey returns.
 */
async function keyKnown(client: InferenceClient, what: string): Promise<void> {
  await until(async () => {
    try {
      await client.listModels({});
      return true;
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unauthenticated) return false;
      throw error;
    }
  }, 1_000, what);
}

test.serial("rpm-60-admits-exactly-60-of-200-concurrent-calls-across-three-replicas", async (t) => {
  const { replicas } = await cluster;
  const clients = replicas.map((r) => r.as(RPM_KEY));
  const { ok, refused } = await settled(Array.from({ length: 200 }, (_, i) => clients[i % 3]!.complete(hi)));
  t.is(ok, 60);
  t.is(refused.length, 140);
  t.true(refused.every((e) => e.code === Code.ResourceExhausted && e.findDetails(ErrorInfoSchema)[0]?.reason === "RPM_LIMIT"), refused[0]?.message);
});

test.serial("budget-that-fits-5-is-not-overshot-by-30-concurrent-calls-across-three-replicas", async (t) => {
  const { replicas } = await cluster;
  const clients = replicas.map((r) => r.as(BUDGET_KEY));
  const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => clients[i % 3]!.complete(hi)));
  const served = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const committed = served.reduce((sum, r) => sum + (r.usage?.costNanoUsd ?? 0n), 0n);
  t.true(committed <= BigInt(Math.round(budgetUsd * 1e9)), `committed ${committed}`);
  t.is(served.length, 5, "each call costs exactly its bound, so 5 fit");
  const refused = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : []));
  t.true(refused.every((e) => e.findDetails(ErrorInfoSchema)[0]?.reason === "BUDGET_EXHAUSTED"), refused[0]?.message);
});

test.serial("circuit-opened-on-one-replica-is-honoured-by-the-others", async (t) => {
  const { replicas, broken } = await cluster;
  // The circuit test needs a key without a spent RPM bucket: the admin creates one on replica A.
  const adminA = createClient(AdminService, createGrpcTransport({ baseUrl: `http://${replicas[0]!.address}` }));
  const created = await adminA.createKey({ name: "circuit-key", team: "rpm" }, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const [onA, onB, onC] = replicas.map((r) => r.as(created.secret));
  const failures = await settled([onA!.complete({ ...hi, model: "flaky" }), onA!.complete({ ...hi, model: "flaky" })]);
  t.is(failures.ok, 0);
  const sent = broken.requests.length;
  t.is(sent, 2, "replica A sent both calls upstream and saw them fail");
  for (const replica of replicas.slice(1)) {
    const list = () => replica.as(created.secret).listModels({});
    await keyKnown(replica.as(created.secret), "the created key known on the other replica");
    await until(async () => (await list()).models.find((m) => m.name === "flaky")?.targets[0]?.state?.circuit === TargetState_Circuit.OPEN, 1_000, "circuit open on the other replica");
  }
  for (const client of [onB!, onC!]) {
    const refused = ConnectError.from(await t.throwsAsync(client.complete({ ...hi, model: "flaky" })));
    t.is(refused.code, Code.Unavailable);
    t.regex(refused.rawMessage, /circuit open/);
  }
  t.is(broken.requests.length, sent, "replicas B and C skipped the target without calling it");
});

test.serial("key-revoked-on-one-replica-is-refused-by-the-others-within-1-s", async (t) => {
  const { replicas } = await cluster;
  const adminA = createClient(AdminService, createGrpcTransport({ baseUrl: `http://${replicas[0]!.address}` }));
  const asAdmin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } };
  const created = await adminA.createKey({ name: "revoked-key", team: "rpm" }, asAdmin);
  const others = replicas.slice(1).map((r) => r.as(created.secret));
  const answers = async (client: InferenceClient) => {
    try {
      await client.complete(hi);
      return true;
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unauthenticated) return false;
      throw error;
    }
  };
  for (const client of others) await until(() => answers(client), 1_000, "a created key works on the other replicas");
  await adminA.revokeKey({ id: created.key!.id }, asAdmin);
  for (const client of others) {
    const tookMs = await until(async () => !(await answers(client)), 1_000, "the revoked key refused on the other replicas");
    t.true(tookMs <= 1_000);
  }
  const refused = ConnectError.from(await t.throwsAsync(others[0]!.complete(hi)));
  t.regex(refused.rawMessage, /revoked/);
});

test.serial("replica-killed-mid-load-loses-no-answered-row-and-writes-none-twice", async (t) => {
  const { replicas, file } = await cluster;
  const answered: string[] = [];
  const clients = replicas.map((r) => r.as(LOAD_KEY));
  let victimAnswers = 0;
  let killed = false;
  const victim = replicas[2]!;
  // 90 calls spread over the three replicas; the third is killed once it has answered 5.
  const calls = Array.from({ length: 90 }, async (_, i) => {
    const replica = i % 3;
    let requestId: string | null = null;
    await clients[replica]!.complete(hi, { onHeader: (h) => (requestId = h.get("x-request-id")) });
    if (requestId) answered.push(requestId);
    if (replica === 2 && ++victimAnswers === 5 && !killed) {
      killed = true;
      victim.child.kill("SIGKILL");
    }
  });
  const outcome = await settled(calls);
  t.true(killed, "the replica was killed mid-load");
  t.true(outcome.refused.length > 0 || outcome.ok === 90, "calls on the killed replica may fail; none may be lost silently");
  t.is(answered.length, outcome.ok);
  // Restarted on the same database, it serves again.
  const restarted = await serve(file);
  replicas[2] = restarted;
  t.truthy((await restarted.as(LOAD_KEY).complete(hi)).route);
  const admin = createClient(AdminService, createGrpcTransport({ baseUrl: `http://${replicas[0]!.address}` }));
  const rows: string[] = [];
  for await (const line of admin.exportLedger({}, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })) {
    const row = JSON.parse(line.json) as { requestId: string; keyName: string };
    if (row.keyName === "load-key") rows.push(row.requestId);
  }
  const counts = new Map<string, number>();
  for (const id of rows) counts.set(id, (counts.get(id) ?? 0) + 1);
  t.deepEqual([...counts.values()].filter((n) => n > 1), [], "no row is written twice");
  t.deepEqual(answered.filter((id) => !counts.has(id)), [], "every answered call has its row");
});

test.serial("redis-stopped-closed-refuses-unavailable-open-admits-and-both-recover-without-restart", async (t) => {
  const { redis, replicas, config } = await cluster;
  // An in-process gateway on the same Redis with on_failure: open.
  const { store: _sharedFile, ...rest } = config;
  const open = await startTestGateway(t, { ...rest, shared_state: { redis: redis.url, on_failure: "open" } }, { clock: () => frozen });
  const asAdmin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } };
  const adminA = createClient(AdminService, createGrpcTransport({ baseUrl: `http://${replicas[0]!.address}` }));
  const created = await adminA.createKey({ name: "outage-key", team: "rpm", restrictions: { rpm: 1000 } }, asAdmin);
  const closedClient = replicas[1]!.as(created.secret);
  const openKeyClient = createInferenceClient({ baseUrl: open.baseUrl, apiKey: RPM_KEY, timeoutMs: 20_000 });
  await keyKnown(closedClient, "the key created on replica A known on replica B");
  t.truthy((await closedClient.complete(hi)).route);
  const mark = replicas[1]!.output.mark();

  await redis.stop();
  const refused = ConnectError.from(await t.throwsAsync(closedClient.complete(hi)));
  t.is(refused.code, Code.Unavailable);
  t.regex(refused.rawMessage, /shared state \(redis\) unavailable/);
  await t.throwsAsync(closedClient.complete(hi));
  // rpm-key's bucket in Redis is spent (the first test); unchecked, the open gateway admits it.
  t.truthy((await openKeyClient.complete(hi)).route, "on_failure open admits while Redis is down");
  t.true(open.logs.some((line) => line.includes("admitting calls without limit and budget checks")));
  const metrics = await (await fetch(`http://${open.gateway.operatorAddress}/metrics`)).text();
  t.regex(metrics, /^switchboard_shared_state_events_total\{event="outage"\} [1-9]/m, "the outage is exported as a metric");
  t.regex(metrics, /^switchboard_shared_state_events_total\{event="admitted_unchecked"\} [1-9]/m);

  await redis.start();
  await until(async () => {
    try {
      await closedClient.complete(hi);
      return true;
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unavailable) return false;
      throw error;
    }
  }, 15_000, "the closed replica answers again once Redis is back");
  await replicas[1]!.output.waitForLine(/shared state \(redis\) reachable again/, { after: mark });
  const outageLines = replicas[1]!.output.text().split("\n").slice(mark).filter((line) => line.includes("refusing calls UNAVAILABLE until it returns"));
  t.is(outageLines.length, 1, "the outage is logged once, not per call");
});
