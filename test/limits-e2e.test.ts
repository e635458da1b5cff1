// RPM/TPM limits and budgets on the request path, over real sockets. The limits' clock is frozen so
// no bucket refills during a test: counts are exact, whatever the machine's speed. The fake reports
// exactly the usage the gateway reserved, so settling changes nothing and concurrency cannot blur it.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import test, { type ExecutionContext } from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, QuotaFailureSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { createInferenceClient, userText, type InferenceClient } from "../clients/inference-client.js";
import { createPriceCatalog } from "../server/core/pricing.js";
import { boundCompletion, type CallBound } from "../server/policy/limits/cost-bound.js";
import type { GatewayOptions } from "../server/gateway.js";
import { hashKey } from "../server/store/key-secrets.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { ledgerRow, openTestStore } from "./store/fixtures.js";
import type { FakeUpstream } from "./fakes/server.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";

const KEY = "sk-sb-limits-key-000000000000001";
const OTHER_KEY = "sk-sb-limits-key-000000000000002";
const MODEL = "gpt-4o-mini";
const frozen = Date.parse("2026-12-15T12:00:00Z");

/** The bound the gateway computes for a one-message "Hi" request (the fake then reports exactly it). */
function boundOf(maxOutputTokens: number | undefined, assumedOutputTokens: number, budgetApplies: boolean): CallBound {
  return boundCompletion({
    request: { messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }], tools: [], generation: { maxOutputTokens, stopSequences: [] } },
    targets: [{ name: `main/${MODEL}`, providerType: "openai", model: MODEL, price: createPriceCatalog().lookup(MODEL) }],
    hedging: false,
    assumedOutputTokens,
    budgetApplies,
  });
}

async function setup(t: ExecutionContext, governance: Record<string, unknown>, usage: { input: number; output: number }, options: GatewayOptions = {}) {
  const main = await useFake(t, () => startOpenAIFake());
  main.setProgram(() => ({ kind: "reply", text: "ok", usage }));
  const provider = (fake: FakeUpstream) => ({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-000000000" });
  const gw = await startTestGateway(
    t,
    {
      providers: { main: provider(main), other: provider(main) },
      ...governance,
      models: {
        chat: { retry: { max_attempts: 1 }, assumed_output_tokens: 100, targets: [{ provider: "main", model: MODEL }] },
        "chat-other": { retry: { max_attempts: 1 }, targets: [{ provider: "other", model: MODEL }] },
        ...(governance.models as object | undefined),
      },
    },
    { clock: () => frozen, ...options },
  );
  const as = (apiKey: string): InferenceClient => createInferenceClient({ baseUrl: gw.baseUrl, apiKey, timeoutMs: 20_000 });
  return { ...gw, main, as };
}

async function outcomes(calls: Promise<unknown>[]): Promise<{ ok: number; refused: ConnectError[] }> {
  const settled = await Promise.allSettled(calls);
  const refused = settled.flatMap((s) => (s.status === "rejected" ? [ConnectError.from(s.reason)] : []));
  return { ok: settled.length - refused.length, refused };
}

const hi = (maxOutputTokens?: number) => ({ model: "chat", messages: [userText("Hi")], generation: maxOutputTokens === undefined ? undefined : { maxOutputTokens } });

test("rpm-limit-admits-exactly-its-capacity-under-50-concurrent-calls with QuotaFailure and RetryInfo", async (t) => {
  const bound = boundOf(10, 100, false);
  const { as } = await setup(
    t,
    { teams: { search: {} }, keys: [{ name: "search-api", team: "search", secret: KEY, rpm: 10 }] },
    { input: bound.inputTokens, output: 10 },
  );
  const client = as(KEY);
  const { ok, refused } = await outcomes(Array.from({ length: 50 }, () => client.complete(hi(10))));
  t.is(ok, 10);
  t.is(refused.length, 40);
  for (const error of refused) {
    t.is(error.code, Code.ResourceExhausted);
    t.is(error.findDetails(QuotaFailureSchema)[0]?.violations[0]?.subject, "key:search-api");
    t.is(error.findDetails(ErrorInfoSchema)[0]?.reason, "RPM_LIMIT");
    t.is(error.findDetails(RetryInfoSchema).length, 1);
  }
});

test("alias-rpm-counts-every-caller-together", async (t) => {
  const { as } = await setup(
    t,
    {
      models: { chat: { retry: { max_attempts: 1 }, rpm: 3, targets: [{ provider: "main", model: MODEL }] } },
      teams: { search: {} },
      keys: [
        { name: "a", team: "search", secret: KEY },
        { name: "b", team: "search", secret: OTHER_KEY },
      ],
    },
    { input: 12, output: 2 },
  );
  const { ok, refused } = await outcomes([KEY, OTHER_KEY, KEY, OTHER_KEY, KEY, OTHER_KEY].map((key) => as(key).complete(hi(10))));
  t.is(ok, 3);
  t.true(refused.every((e) => e.code === Code.ResourceExhausted && e.findDetails(QuotaFailureSchema)[0]?.violations[0]?.subject === "alias:chat"));
});

test("tpm-limit-admits-exactly-what-fits-under-50-concurrent-calls", async (t) => {
  const bound = boundOf(10, 100, false);
  const per = bound.expectedTokens;
  const { as } = await setup(
    t,
    { teams: { search: { tpm: 19 * per + Math.floor(per / 2) } }, keys: [{ name: "search-api", team: "search", secret: KEY }] },
    // Reported usage = the reservation: settling gives nothing back, so timing cannot change the count.
    { input: per - 10, output: 10 },
  );
  const client = as(KEY);
  const { ok, refused } = await outcomes(Array.from({ length: 50 }, () => client.complete(hi(10))));
  t.is(ok, 19);
  t.is(refused.length, 31);
  t.true(refused.every((e) => e.code === Code.ResourceExhausted && e.findDetails(ErrorInfoSchema)[0]?.reason === "TPM_LIMIT"));
  t.true(refused.every((e) => e.findDetails(QuotaFailureSchema)[0]?.violations[0]?.subject === "team:search"));
});

test("call-refused-before-any-upstream-is-refunded-and-does-not-count", async (t) => {
  const { as, main } = await setup(
    t,
    { teams: { search: {} }, keys: [{ name: "search-api", team: "search", secret: KEY, rpm: 2, providers: ["other"] }] },
    { input: 12, output: 2 },
  );
  const client = as(KEY);
  for (let i = 0; i < 5; i++) {
    const error = ConnectError.from(await t.throwsAsync(client.complete(hi(10))));
    t.is(error.code, Code.FailedPrecondition, "chat's only target is not among the key's providers");
  }
  t.is(main.requests.length, 0);
  const other = { ...hi(10), model: "chat-other" };
  const { ok, refused } = await outcomes([client.complete(other), client.complete(other), client.complete(other)]);
  t.is(ok, 2);
  t.is(refused[0]?.code, Code.ResourceExhausted);
});

test("budget-that-fits-5-of-20-concurrent-calls-commits-no-more-than-it-holds and alerts once each", async (t) => {
  const received: { fraction: number; budget: string }[] = [];
  const hook = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      received.push(JSON.parse(body) as { fraction: number; budget: string });
      res.writeHead(204).end();
    });
  });
  hook.listen(0, "127.0.0.1");
  await once(hook, "listening");
  t.teardown(() => hook.close());
  // No max_output_tokens in the request and a budget applies: the bound assumes the alias's 100.
  const bound = boundOf(undefined, 100, true);
  t.is(bound.maxOutputTokensToSend, 100);
  const usd = (Number(bound.costNanoUsd) * 5.5) / 1e9;
  const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/budget`;
  const { as, main, gateway } = await setup(
    t,
    {
      teams: { search: { budget: { usd, window: "month", alerts: [0.2, 0.4, 0.9], webhook } } },
      keys: [{ name: "search-api", team: "search", secret: KEY }],
    },
    { input: bound.inputTokens, output: bound.outputTokens },
  );
  const client = as(KEY);
  const answers = await Promise.allSettled(Array.from({ length: 20 }, () => client.complete(hi())));
  const served = answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
  const refused = answers.flatMap((a) => (a.status === "rejected" ? [ConnectError.from(a.reason)] : []));
  const committed = served.reduce((sum, r) => sum + (r.usage?.costNanoUsd ?? 0n), 0n);
  t.true(served.length >= 1);
  t.is(served.length, 5, "each call costs exactly its bound, so 5 fit");
  t.true(committed <= BigInt(Math.round(usd * 1e9)));
  t.true(refused.every((e) => e.code === Code.ResourceExhausted && e.findDetails(ErrorInfoSchema)[0]?.reason === "BUDGET_EXHAUSTED"));
  t.true(refused.every((e) => e.findDetails(RetryInfoSchema).length === 0), "waiting does not help a monthly budget");
  t.regex(refused[0]!.rawMessage, /budget of team search/);
  t.true(main.requests.every((r) => (r.body as { max_completion_tokens?: number }).max_completion_tokens === 100), "the assumed limit went upstream");
  await gateway.alerts.idle();
  t.deepEqual(received.map((r) => r.fraction).sort(), [0.2, 0.4, 0.9]);
});

test("budgets-are-seeded-from-the-store-so-a-restart-does-not-reset-them", async (t) => {
  const { store } = openTestStore(t, { now: () => frozen });
  const batch = await store.createKey({ name: "batch", team: "other", hash: hashKey(OTHER_KEY), restrictions: { budget: { usd: 0.001, window: "day" } } });
  // Spend recorded before this gateway started: the team's month is spent, the batch key's day too.
  await store.append({ row: ledgerRow({ time: frozen - 60_000, keyId: "key_gone", keyName: "gone", team: "search", costNanoUsd: 2_000_000n }) });
  await store.append({ row: ledgerRow({ time: frozen - 60_000, keyId: batch.id, keyName: "batch", team: "other", costNanoUsd: 1_000_000n }) });
  const { as, main } = await setup(
    t,
    {
      teams: { search: { budget: { usd: 0.002, window: "month" } }, other: {} },
      keys: [{ name: "search-api", team: "search", secret: KEY }],
    },
    { input: 12, output: 2 },
    { store },
  );
  const team = ConnectError.from(await t.throwsAsync(as(KEY).complete(hi(10))));
  t.is(team.code, Code.ResourceExhausted);
  t.regex(team.rawMessage, /budget of team search .* is exhausted: 0\.002 USD spent/);
  const key = ConnectError.from(await t.throwsAsync(as(OTHER_KEY).complete(hi(10))));
  t.is(key.code, Code.ResourceExhausted);
  t.regex(key.rawMessage, /budget of key batch .* is exhausted: 0\.001 USD spent/);
  t.is(main.requests.length, 0);
});

test("budget-alert-is-not-fired-again-after-a-restart: sent alerts are remembered in the store", async (t) => {
  const received: number[] = [];
  const hook = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      received.push((JSON.parse(body) as { fraction: number }).fraction);
      res.writeHead(204).end();
    });
  });
  hook.listen(0, "127.0.0.1");
  await once(hook, "listening");
  t.teardown(() => hook.close());
  const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/budget`;
  const bound = boundOf(undefined, 100, true);
  // Each call costs a tenth of the budget: three calls pass the 20 % alert, a fourth after the restart too.
  const usd = (Number(bound.costNanoUsd) * 10) / 1e9;
  const governance = {
    teams: { search: { budget: { usd, window: "month", alerts: [0.2], webhook } } },
    keys: [{ name: "search-api", team: "search", secret: KEY }],
  };
  const usage = { input: bound.inputTokens, output: bound.outputTokens };
  const { store } = openTestStore(t, { now: () => frozen });
  const first = await setup(t, governance, usage, { store });
  for (let i = 0; i < 3; i++) await first.as(KEY).complete(hi());
  await first.gateway.alerts.idle();
  t.deepEqual(received, [0.2]);
  await first.gateway.close(100);

  const second = await setup(t, governance, usage, { store });
  await second.as(KEY).complete(hi());
  await second.gateway.alerts.idle();
  t.deepEqual(received, [0.2], "the restarted gateway knows the alert was sent this window");
});
