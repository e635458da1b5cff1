// Retries, fallback, circuit breaking, deadlines, streaming failover and hedging, over real sockets.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TargetState_Circuit } from "../../gen/switchboard/v1/inference_pb.js";
import { userText } from "../../clients/inference-client.js";
import { programs } from "../fakes/script.js";
import { startSageMakerFake } from "../fakes/sagemaker.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { hits, providersFor, routingGateway, runCalls, startUpstreams } from "../helpers/routing.js";
import { streamUntilError } from "../helpers/streams.js";

const ask = (text = "Hi") => ({ model: "chat", messages: [userText(text)] });
const target = (provider: string, extra: Record<string, unknown> = {}) => ({ provider, model: "gpt-4o-mini", ...extra });
const fast = { initial_backoff_ms: 10, max_backoff_ms: 50 };
const log = (res: { route?: { attemptLog: { provider: string; outcome: string }[] } }) =>
  res.route?.attemptLog.map((a) => `${a.provider}:${a.outcome}`);

test("a retryable failure is retried on the same target, then succeeds", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const { client } = await routingGateway(t, up, { chat: { retry: { max_attempts: 3, ...fast }, targets: [target("a")] } });
  up.a.enqueue({ kind: "error", error: "server_error" }, { kind: "error", error: "overloaded" });
  const res = await client.complete(ask());
  t.deepEqual(log(res), ["a:UNAVAILABLE", "a:UNAVAILABLE", "a:OK"]);
  t.is(res.route?.attempts, 3);
});

test("caller errors are neither retried nor sent elsewhere", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, { chat: { retry: { max_attempts: 3, ...fast }, targets: [target("a"), target("b", { priority: 2 })] } });
  up.a.enqueue({ kind: "error", error: "bad_request" });
  const error = ConnectError.from(await t.throwsAsync(client.complete(ask())));
  t.is(error.code, Code.InvalidArgument);
  t.deepEqual(hits(up), { a: 1, b: 0 });
});

test("retries honour the upstream's retry-after", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const { client } = await routingGateway(t, up, { chat: { retry: { max_attempts: 2, ...fast }, targets: [target("a")] } });
  up.a.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 1 });
  const started = Date.now();
  const res = await client.complete(ask());
  const elapsed = Date.now() - started;
  t.deepEqual(log(res), ["a:RESOURCE_EXHAUSTED", "a:OK"]);
  t.true(elapsed >= 950, `waited ${elapsed} ms for a 1 s retry-after`);
});

test("a retry-after longer than the deadline allows goes straight to the fallback", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, { chat: { targets: [target("a"), target("b", { priority: 2 })] } });
  up.a.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 30 });
  const started = Date.now();
  const res = await client.complete(ask(), { timeoutMs: 15_000 });
  t.true(Date.now() - started < 10_000, "it did not wait 30 s");
  t.deepEqual(log(res), ["a:RESOURCE_EXHAUSTED", "b:OK"]);
});

test("retries stop at the deadline: DEADLINE_EXCEEDED on time, no upstream request left open", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const { client } = await routingGateway(t, up, { chat: { retry: { max_attempts: 10, ...fast }, targets: [target("a")] } });
  await client.complete(ask("warm-up")); // the first call's one-time costs are not what this measures
  up.a.setProgram(programs.always({ kind: "reply", text: "never on time", delayMs: 5000 }));
  up.a.enqueue({ kind: "error", error: "server_error" });
  const started = Date.now();
  const error = ConnectError.from(await t.throwsAsync(client.complete(ask(), { timeoutMs: 2000 })));
  const elapsed = Date.now() - started;
  t.is(error.code, Code.DeadlineExceeded);
  // The upper bound leaves room for a busy CI machine; the upstream's 5 s delay is what it rules out.
  t.true(elapsed >= 1990 && elapsed < 4500, `ended after ${elapsed} ms for a 2000 ms deadline`);
  await up.a.settled(3000);
  t.is(up.a.openRequests(), 0);
  t.true(up.a.last().aborted, "the attempt in flight at the deadline was aborted");
});

test("public endpoint throttled → falls back to the internal target", async (t) => {
  const up = await startUpstreams(t, ["public", "internal"]);
  up.public.setProgram(programs.always({ kind: "error", error: "rate_limited", retryAfterSeconds: 20 }));
  const { client } = await routingGateway(t, up, {
    chat: {
      targets: [target("public", { priority: 1 }), { provider: "internal", model: "llama-3-8b-internal", priority: 2, internal: true }],
    },
  });
  // A 10 s deadline: the 20 s retry-after cannot be waited out, so the router falls back at once.
  const res = await client.complete(ask(), { timeoutMs: 10_000 });
  t.is(res.route?.provider, "internal");
  t.is(res.route?.targetModel, "llama-3-8b-internal");
  t.deepEqual(log(res), ["public:RESOURCE_EXHAUSTED", "internal:OK"]);
});

test("circuit breaker: opens after N failures, skips, half-opens with one probe, closes", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  up.a.setProgram(programs.always({ kind: "error", error: "server_error" }));
  const { client } = await routingGateway(t, up, {
    chat: {
      retry: { max_attempts: 1 },
      circuit: { failure_threshold: 2, window_ms: 10_000, cooldown_ms: 2000 },
      targets: [target("a"), target("b", { priority: 2 })],
    },
  });
  const circuitOfA = async () => (await client.listModels({})).models[0].targets[0].state?.circuit;
  t.deepEqual(log(await client.complete(ask())), ["a:UNAVAILABLE", "b:OK"]);
  t.deepEqual(log(await client.complete(ask())), ["a:UNAVAILABLE", "b:OK"]);
  t.is(await circuitOfA(), TargetState_Circuit.OPEN);
  t.deepEqual(log(await client.complete(ask())), ["a:SKIPPED_CIRCUIT_OPEN", "b:OK"]);
  t.is(up.a.requests.length, 2, "an open circuit sends nothing to the target");

  await new Promise((r) => setTimeout(r, 2100));
  up.a.setProgram(programs.always({ kind: "reply", text: "recovered", delayMs: 200 }));
  const concurrent = await Promise.all([client.complete(ask()), client.complete(ask()), client.complete(ask())]);
  t.is(concurrent.filter((r) => r.route?.provider === "a").length, 1, "half-open lets exactly one probe through");
  t.is(up.a.requests.length, 3);
  t.is(await circuitOfA(), TargetState_Circuit.CLOSED, "a successful probe closes the circuit");
  t.is((await client.complete(ask())).route?.provider, "a");
});

test("every target cooling down → UNAVAILABLE saying so", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  up.a.setProgram(programs.always({ kind: "error", error: "server_error" }));
  const { client } = await routingGateway(t, up, {
    chat: { retry: { max_attempts: 1 }, circuit: { failure_threshold: 1, window_ms: 10_000, cooldown_ms: 60_000 }, targets: [target("a")] },
  });
  await t.throwsAsync(client.complete(ask()));
  const error = ConnectError.from(await t.throwsAsync(client.complete(ask())));
  t.is(error.code, Code.Unavailable);
  t.regex(error.rawMessage, /circuit open/);
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds ?? 0n;
  t.true(delay > 50n && delay <= 60n, `retry when the cooldown ends (${delay} s)`);
  t.is(up.a.requests.length, 1);
});

test("streaming fails over before the first chunk", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, { chat: { retry: { max_attempts: 1 }, targets: [target("a"), target("b", { priority: 2 })] } });
  up.a.enqueue({ kind: "error", error: "server_error" });
  let text = "";
  let attempts: string[] | undefined;
  for await (const chunk of client.streamComplete(ask("stream me"))) {
    if (chunk.event.case === "textDelta") text += chunk.event.value.text;
    if (chunk.event.case === "done") attempts = log(chunk.event.value);
  }
  t.is(text, "echo: stream me");
  t.deepEqual(attempts, ["a:UNAVAILABLE", "b:OK"]);
});

test("streaming does not fail over after the first chunk reached the caller", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, { chat: { targets: [target("a"), target("b", { priority: 2 })] } });
  up.a.enqueue({ kind: "cut" });
  const { kinds, error } = await streamUntilError(client.streamComplete(ask()));
  t.is(error.code, Code.Unavailable);
  t.true(kinds.includes("textDelta"));
  t.is(kinds.at(-1), "done", "the partial usage is reported before the error");
  t.is(up.b.requests.length, 0);
});

test("hedging: the second target starts after hedge_after_ms, the first answer wins, the loser is aborted", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: { hedge_after_ms: 100, targets: [target("a"), target("b", { priority: 2 })] },
  });
  up.a.enqueue({ kind: "reply", text: "too late", delayMs: 8000 });
  const started = Date.now();
  const res = await client.complete(ask());
  t.true(Date.now() - started < 6000, "the hedge answered long before the first target would have");
  t.is(res.route?.provider, "b");
  t.deepEqual(log(res)?.sort(), ["a:CANCELED_HEDGE_LOST", "b:OK"]);
  const loser = res.route?.attemptLog.find((a) => a.provider === "a");
  const winner = res.route?.attemptLog.find((a) => a.provider === "b");
  t.true(loser?.usage?.estimated, "the aborted loser's usage is still counted, as an estimate");
  t.true((loser?.usage?.inputTokens ?? 0n) > 0n);
  t.true((loser?.usage?.costNanoUsd ?? 0n) > 0n, "gpt-4o-mini has a price, so the estimate has a cost");
  t.deepEqual(winner?.usage, res.usage, "the serving attempt carries the answer's usage");
  await up.a.settled(3000);
  t.true(up.a.last().aborted, "the losing upstream request was aborted");
});

test("context too long falls back only to a target with a larger context window", async (t) => {
  const up = await startUpstreams(t, ["small", "tiny", "large"]);
  const { client } = await routingGateway(t, up, {
    chat: {
      targets: [
        target("small", { priority: 1, context_window: 8000 }),
        target("tiny", { priority: 2, context_window: 4000 }),
        target("large", { priority: 3, context_window: 200000 }),
      ],
    },
    strict: { targets: [target("small")] },
  });
  up.small.setProgram(programs.always({ kind: "error", error: "context_length" }));
  const res = await client.complete(ask());
  t.deepEqual(log(res), ["small:INVALID_ARGUMENT", "large:OK"]);
  t.is(up.tiny.requests.length, 0);
  const error = ConnectError.from(await t.throwsAsync(client.complete({ ...ask(), model: "strict" })));
  t.is(error.code, Code.InvalidArgument, "with no larger window configured, the caller hears it");
});

// Serial: 2,000 calls keep the CPU busy, which would skew the timing tests that run concurrently.
test.serial("reliability: one target failing 50 % at random and a healthy fallback → ≥ 99.9 % of 2,000 calls succeed", async (t) => {
  const up = await startUpstreams(t, ["flaky", "healthy"]);
  up.flaky.setProgram(programs.failRate(0.5, 42, { kind: "error", error: "server_error" }));
  const { client } = await routingGateway(t, up, {
    chat: { retry: fast, targets: [target("flaky"), target("healthy", { priority: 2 })] },
  });
  const ok = await runCalls(2000, 16, () => client.complete(ask()));
  t.true(ok >= 1998, `${ok} of 2000 succeeded`);
  t.true(up.flaky.requests.length > 0 && up.healthy.requests.length > 0);
});

test("the mission's case: OpenAI throttled or down → the internal SageMaker endpoint answers", async (t) => {
  const up = await startUpstreams(t, ["openai"]);
  const sagemaker = await useFake(t, () => startSageMakerFake());
  up.openai.setProgram(programs.always({ kind: "error", error: "rate_limited", retryAfterSeconds: 30 }));
  const { client } = await startTestGateway(t, {
    providers: {
      ...providersFor(up),
      internal: { type: "sagemaker", base_url: sagemaker.url, region: "eu-west-1", access_key_id: "AKIDEXAMPLE", secret_access_key: "test-secret", payload_format: "openai" },
    },
    models: {
      chat: {
        targets: [
          { provider: "openai", model: "gpt-4o", priority: 1 },
          { provider: "internal", model: "llama-3-internal-endpoint", priority: 2, internal: true, region: "eu-west-1" },
        ],
      },
    },
  });
  const res = await client.complete(ask("throttled?"));
  t.is(res.route?.providerType, "sagemaker");
  t.is(res.route?.targetModel, "llama-3-internal-endpoint");
  t.deepEqual(log(res), ["openai:RESOURCE_EXHAUSTED", "internal:OK"]);
  t.is(sagemaker.last().path, "/endpoints/llama-3-internal-endpoint/invocations");

  up.openai.setProgram(programs.always({ kind: "error", error: "server_error" }));
  let text = "";
  for await (const chunk of client.streamComplete(ask("down?"))) {
    if (chunk.event.case === "textDelta") text += chunk.event.value.text;
    if (chunk.event.case === "done") t.is(chunk.event.value.route?.providerType, "sagemaker");
  }
  t.true(text.length > 0, "the internal model streamed the answer");
});

test("with no caller deadline, the alias's timeout_ms bounds the call", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const { baseUrl, client } = await routingGateway(t, up, { chat: { timeout_ms: 500, targets: [target("a")] } });
  await client.complete(ask("warm-up")); // the first call's one-time costs are not what this measures
  up.a.enqueue({ kind: "hang" });
  const { createClient } = await import("@connectrpc/connect");
  const { createGrpcTransport } = await import("@connectrpc/connect-node");
  const { InferenceService } = await import("../../gen/switchboard/v1/inference_pb.js");
  const noDeadline = createClient(InferenceService, createGrpcTransport({ baseUrl }));
  const started = Date.now();
  const error = ConnectError.from(await t.throwsAsync(noDeadline.complete(ask())));
  t.is(error.code, Code.DeadlineExceeded);
  t.true(Date.now() - started < 4000, `ended after ${Date.now() - started} ms for a 500 ms alias timeout`);
  await up.a.settled(3000);
  t.true(up.a.last().aborted);
});
