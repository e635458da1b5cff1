// Routing and stream defects found in review, each named after the failure it pins, over real
// sockets: hedged streams keep the caller's deadline, probes never wedge a circuit, mid-stream
// failures reach the breaker, the attempt log blames the right attempt, circuits belong to aliases.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TargetState_Circuit, type Done } from "../../gen/switchboard/v1/inference_pb.js";
import { userText } from "../../clients/inference-client.js";
import { programs } from "../fakes/script.js";
import { startTestGateway } from "../helpers/gateway.js";
import { hits, routingGateway, startUpstreams } from "../helpers/routing.js";
import { streamUntilError } from "../helpers/streams.js";

const ask = (model = "chat", text = "Hi") => ({ model, messages: [userText(text)] });
const target = (provider: string, extra: Record<string, unknown> = {}) => ({ provider, model: "gpt-4o-mini", ...extra });
const stallAfterOne = { kind: "reply" as const, chunks: ["one ", "two ", "three"], stallAfterChunks: 1 };

async function lastDone(stream: AsyncIterable<{ event: { case?: string; value?: unknown } }>): Promise<{ done?: Done; error?: ConnectError }> {
  let done: Done | undefined;
  try {
    for await (const chunk of stream) if (chunk.event.case === "done") done = chunk.event.value as Done;
  } catch (error) {
    return { done, error: ConnectError.from(error) };
  }
  return { done };
}

test("hedged-stream-keeps-deadline: a hedged stream that stalls after its first event ends at the caller's deadline, upstream aborted", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: { hedge_after_ms: 10_000, idle_timeout_ms: 60_000, targets: [target("a"), target("b", { priority: 2 })] },
  });
  up.a.enqueue(stallAfterOne);
  const started = Date.now();
  // The deadline leaves a busy machine time for the first event, and ends well before the hedge (10 s).
  const { kinds, error } = await streamUntilError(client.streamComplete(ask(), { timeoutMs: 6000 }));
  const elapsed = Date.now() - started;
  t.is(error.code, Code.DeadlineExceeded);
  t.deepEqual(kinds, ["textDelta"], "the first event reached the caller before the stall");
  t.true(elapsed < 9500, `ended after ${elapsed} ms for a 6000 ms deadline`);
  await up.a.settled(1000);
  t.true(up.a.last().aborted, "the stalled upstream stream was aborted");
  t.is(up.b.requests.length, 0);
});

test("stream-stall-after-first-chunk-ends-at-idle-timeout: Done with the partial usage, then UNAVAILABLE", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, { chat: { idle_timeout_ms: 300, targets: [target("a"), target("b", { priority: 2 })] } });
  up.a.enqueue(stallAfterOne);
  const started = Date.now();
  const { done, error } = await lastDone(client.streamComplete(ask(), { timeoutMs: 20_000 }));
  const elapsed = Date.now() - started;
  t.is(error?.code, Code.Unavailable);
  t.regex(error?.rawMessage ?? "", /sent nothing for 300 ms/);
  t.true(elapsed >= 280 && elapsed < 5000, `ended after ${elapsed} ms`);
  t.truthy(done?.usage?.estimated, "the partial usage is reported, estimated");
  t.true((done?.usage?.outputTokens ?? 0n) > 0n);
  const serving = done?.route?.attemptLog.find((a) => a.provider === "a");
  t.is(serving?.outcome, "UNAVAILABLE");
  t.deepEqual(serving?.usage, done?.usage, "the partial usage is attached to the attempt that produced it");
  await up.a.settled(1000);
  t.true(up.a.last().aborted);
  t.is(up.b.requests.length, 0, "no failover after output reached the caller");
});

test("stream-silent-before-first-chunk-fails-over-at-first-chunk-timeout", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: { first_chunk_timeout_ms: 1500, retry: { max_attempts: 1 }, targets: [target("a"), target("b", { priority: 2 })] },
  });
  up.a.enqueue({ kind: "hang" });
  const { done, error } = await lastDone(client.streamComplete(ask(), { timeoutMs: 20_000 }));
  t.is(error, undefined);
  t.deepEqual(done?.route?.attemptLog.map((a) => `${a.provider}:${a.outcome}`), ["a:UNAVAILABLE", "b:OK"]);
  await up.a.settled(1000);
  t.true(up.a.last().aborted);
});

test("provider-timeout-bounds-every-stream-wait: a provider's timeout_ms ends a stalled stream whatever the deadline", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const { client } = await startTestGateway(t, {
    providers: { a: { type: "openai", base_url: `${up.a.url}/v1`, api_key: "sk-test-a-000000", timeout_ms: 300 } },
    models: { chat: { retry: { max_attempts: 1 }, targets: [target("a")] } },
  });
  up.a.enqueue(stallAfterOne, { kind: "reply", text: "late", delayMs: 10_000 });
  const streamed = await lastDone(client.streamComplete(ask(), { timeoutMs: 20_000 }));
  t.is(streamed.error?.code, Code.Unavailable, streamed.error?.rawMessage);
  t.regex(streamed.error?.rawMessage ?? "", /300 ms/);
  const started = Date.now();
  const unary = ConnectError.from(await t.throwsAsync(client.complete(ask(), { timeoutMs: 20_000 })));
  t.is(unary.code, Code.Unavailable, "a unary request is bounded from start to last byte");
  t.true(Date.now() - started < 8000, "bounded by the 300 ms timeout, not the upstream's 10 s delay");
});

test("half-open-probe-released-after-caller-error: a probe the upstream refuses as invalid does not wedge the circuit", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: {
      retry: { max_attempts: 1 },
      circuit: { failure_threshold: 1, window_ms: 10_000, cooldown_ms: 200 },
      targets: [target("a"), target("b", { priority: 2 })],
    },
  });
  up.a.enqueue({ kind: "error", error: "server_error" });
  t.is((await client.complete(ask())).route?.provider, "b", "the failure opened a's circuit");
  await new Promise((r) => setTimeout(r, 250)); // the cooldown is the behaviour under test
  up.a.enqueue({ kind: "error", error: "bad_request" });
  const refused = ConnectError.from(await t.throwsAsync(client.complete(ask())));
  t.is(refused.code, Code.InvalidArgument, "the probe ended with a caller error");
  const next = await client.complete(ask());
  t.is(next.route?.provider, "a", "the next call probes a again instead of skipping it forever");
  t.is((await client.listModels({})).models[0].targets[0].state?.circuit, TargetState_Circuit.CLOSED);
});

test("mid-stream-failures-open-the-circuit: a target that cuts every stream is taken out of rotation", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  up.a.setProgram(programs.always({ kind: "cut" }));
  const { client } = await routingGateway(t, up, {
    chat: { retry: { max_attempts: 1 }, circuit: { failure_threshold: 2, window_ms: 10_000, cooldown_ms: 60_000 }, targets: [target("a"), target("b", { priority: 2 })] },
  });
  for (let i = 0; i < 2; i++) t.is((await lastDone(client.streamComplete(ask()))).error?.code, Code.Unavailable);
  const state = (await client.listModels({})).models[0].targets[0].state;
  t.is(state?.circuit, TargetState_Circuit.OPEN);
  t.is(state?.failures, 2n);
  const third = await lastDone(client.streamComplete(ask()));
  t.is(third.error, undefined);
  t.is(third.done?.route?.provider, "b");
  t.is(up.a.requests.length, 2);
});

test("broken-hedged-stream-blames-the-serving-attempt: the attempt log names the attempt that broke, not the cancelled loser", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, { chat: { hedge_after_ms: 100, targets: [target("a"), target("b", { priority: 2 })] } });
  up.a.enqueue({ kind: "reply", text: "too late", delayMs: 3000 });
  up.b.enqueue({ kind: "cut" });
  const { done, error } = await lastDone(client.streamComplete(ask()));
  t.is(error?.code, Code.Unavailable);
  const byProvider = Object.fromEntries(done?.route?.attemptLog.map((a) => [a.provider, a]) ?? []);
  t.is(byProvider.a?.outcome, "CANCELED_HEDGE_LOST");
  t.is(byProvider.b?.outcome, "UNAVAILABLE");
  t.deepEqual(byProvider.b?.usage, done?.usage, "the broken attempt carries the partial usage");
  t.is(done?.route?.provider, "b");
});

test("aliases-keep-their-own-circuits: a strict alias's open circuit does not trip a tolerant alias on the same upstream", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const targets = [target("a"), target("b", { priority: 2 })];
  const { client } = await routingGateway(t, up, {
    strict: { retry: { max_attempts: 1 }, circuit: { failure_threshold: 1, window_ms: 10_000, cooldown_ms: 60_000 }, targets },
    tolerant: { retry: { max_attempts: 1 }, circuit: { failure_threshold: 5, window_ms: 10_000, cooldown_ms: 60_000 }, targets },
  });
  up.a.enqueue({ kind: "error", error: "server_error" });
  t.is((await client.complete(ask("strict"))).route?.provider, "b");
  const models = Object.fromEntries((await client.listModels({})).models.map((m) => [m.name, m.targets[0].state?.circuit]));
  t.is(models.strict, TargetState_Circuit.OPEN);
  t.is(models.tolerant, TargetState_Circuit.CLOSED);
  t.is((await client.complete(ask("tolerant"))).route?.provider, "a");
  t.deepEqual(hits(up), { a: 2, b: 1 });
});

test("error-info-attempts-counts-upstream-requests: a fast fail on an open circuit made none", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  up.a.setProgram(programs.always({ kind: "error", error: "server_error" }));
  const { client } = await routingGateway(t, up, {
    chat: { retry: { max_attempts: 2, initial_backoff_ms: 1, max_backoff_ms: 1 }, circuit: { failure_threshold: 5, window_ms: 10_000, cooldown_ms: 60_000 }, targets: [target("a")] },
    fragile: { retry: { max_attempts: 1 }, circuit: { failure_threshold: 1, window_ms: 10_000, cooldown_ms: 60_000 }, targets: [target("a")] },
  });
  const attempts = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.metadata.attempts;
  t.is(attempts(ConnectError.from(await t.throwsAsync(client.complete(ask())))), "2");
  await t.throwsAsync(client.complete(ask("fragile")));
  const fast = ConnectError.from(await t.throwsAsync(client.complete(ask("fragile"))));
  t.regex(fast.rawMessage, /circuit open/);
  t.is(attempts(fast), "0");
});

test("deadline-ended-stream-reports-usage: a stream the caller's deadline ends after output still reports what it consumed", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const { client, logs } = await routingGateway(t, up, { chat: { idle_timeout_ms: 60_000, targets: [target("a")] } });
  up.a.enqueue(stallAfterOne);
  // The stream stalls after its first delta; the deadline must leave time for that delta on a busy machine.
  const { kinds, error } = await streamUntilError(client.streamComplete(ask(), { timeoutMs: 4000 }));
  t.is(error.code, Code.DeadlineExceeded);
  t.deepEqual(kinds, ["textDelta"]);
  await up.a.settled(2000);
  const find = () => logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).includes("usage so far"));
  for (const until = Date.now() + 5000; !find() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
  const line = find();
  t.truthy(line, "the interrupted stream was logged with its usage");
  t.is(line?.provider, "a");
  t.true(Number(line?.outputTokens) > 0 && Number(line?.inputTokens) > 0);
  t.is(line?.estimated, true);
});
