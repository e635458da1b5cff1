// Traces over real sockets: a grpc-js caller's W3C trace context → the gateway's server span and
// GenAI attempt spans → the traceparent the upstream fake received; one trace id throughout, also in
// the ledger row and the access log. Spans carry no prompt, completion or key.
import test from "ava";
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { SpanKind } from "@opentelemetry/api";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { startAnthropicFake } from "../fakes/anthropic.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { createGrpcInferenceClient } from "../helpers/grpc-client.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const PROMPT = "tell me the secret plan";
const ANSWER = "the completion text";
const OPENAI_KEY = "sk-test-openai-key-000001";
const ANTHROPIC_KEY = "sk-ant-test-key-000002";

const message = { role: Role.USER, content: [{ part: { case: "text" as const, value: PROMPT } }] };

function parseTraceparent(value: unknown): { traceId: string; parentId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(value));
  if (!match) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: match[1]!, parentId: match[2]! };
}

async function tracedGateway(t: Parameters<typeof startTestGateway>[0], models: Record<string, unknown>) {
  const openai = await useFake(t, () => startOpenAIFake());
  const anthropic = await useFake(t, () => startAnthropicFake());
  const exporter = new InMemorySpanExporter();
  const gw = await startTestGateway(
    t,
    {
      providers: {
        "openai-main": { type: "openai", base_url: `${openai.url}/v1`, api_key: OPENAI_KEY },
        claude: { type: "anthropic", base_url: anthropic.url, api_key: ANTHROPIC_KEY },
      },
      models,
    },
    { spanExporter: exporter },
  );
  const grpc = createGrpcInferenceClient(gw.gateway.address);
  t.teardown(() => grpc.close());
  return { ...gw, openai, anthropic, exporter, grpc };
}

async function ledgerRows(gateway: { store: { exportLedger(): AsyncIterable<{ traceId: string }> } }) {
  const rows: { traceId: string }[] = [];
  for await (const row of gateway.store.exportLedger()) rows.push(row);
  return rows;
}

const byKind = (spans: ReadableSpan[], kind: SpanKind) => spans.filter((s) => s.kind === kind);

test("trace-from-caller-reaches-upstream: one trace id in the caller's header, the gateway's spans and the fake's traceparent", async (t) => {
  const { openai, exporter, grpc, gateway } = await tracedGateway(t, { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "openai-main", model: "gpt-4o-mini" }] } });
  openai.enqueue({ kind: "reply", text: ANSWER, usage: { input: 12, output: 5 }, model: "gpt-4o-mini-2024-07-18" });
  await grpc.complete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT, tracestate: "vendor=abc" });

  const spans = exporter.getFinishedSpans();
  const [server] = byKind(spans, SpanKind.SERVER);
  const [attempt] = byKind(spans, SpanKind.CLIENT);
  t.truthy(server && attempt, "a server span and an attempt span");
  t.is(server!.spanContext().traceId, TRACE_ID);
  t.is(server!.parentSpanContext?.spanId, CALLER_SPAN);
  t.is(server!.name, "switchboard.v1.InferenceService/Complete");
  t.is(attempt!.spanContext().traceId, TRACE_ID);
  t.is(attempt!.parentSpanContext?.spanId, server!.spanContext().spanId);

  const sent = parseTraceparent(openai.last().headers.traceparent);
  t.is(sent.traceId, TRACE_ID);
  t.is(sent.parentId, attempt!.spanContext().spanId, "the upstream request's parent is the attempt span");
  t.is(openai.last().headers.tracestate, "vendor=abc");

  const rows = await ledgerRows(gateway);
  t.is(rows.at(-1)?.traceId, TRACE_ID, "the ledger row carries the trace id");
});

test("attempt-spans-follow-genai-conventions: a failover call has one GenAI span per attempt, and no prompt, answer or key anywhere in them", async (t) => {
  const { openai, anthropic, exporter, grpc } = await tracedGateway(t, {
    chat: {
      retry: { max_attempts: 1 },
      targets: [
        { provider: "openai-main", model: "gpt-4o-mini", priority: 1 },
        { provider: "claude", model: "claude-haiku-4-5", priority: 2 },
      ],
    },
  });
  openai.enqueue({ kind: "error", error: "server_error" });
  anthropic.enqueue({ kind: "reply", text: ANSWER, usage: { input: 20, output: 7 } });
  await grpc.complete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT });

  const spans = exporter.getFinishedSpans();
  const server = byKind(spans, SpanKind.SERVER)[0]!;
  const attempts = byKind(spans, SpanKind.CLIENT).sort((a, b) => Number(a.attributes["switchboard.attempt"]) - Number(b.attributes["switchboard.attempt"]));
  t.is(attempts.length, 2);
  const [failed, served] = attempts as [ReadableSpan, ReadableSpan];
  t.is(failed.name, "chat gpt-4o-mini");
  t.like(failed.attributes, {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "switchboard.alias": "chat",
    "switchboard.strategy": "priority",
    "switchboard.attempt": 1,
    "switchboard.hedged": false,
    "switchboard.outcome": "UNAVAILABLE",
  });
  t.is(failed.status.code, 2, "a failed attempt is an error span");
  t.like(served.attributes, {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-haiku-4-5",
    "gen_ai.usage.input_tokens": 20,
    "gen_ai.usage.output_tokens": 7,
    "switchboard.attempt": 2,
    "switchboard.outcome": "OK",
  });
  t.deepEqual(served.attributes["gen_ai.response.finish_reasons"], ["stop"]);
  t.is(typeof served.attributes["gen_ai.response.model"], "string");
  t.true(Number(served.attributes["switchboard.cost_nano_usd"]) > 0, "the serving attempt's cost");
  t.like(server.attributes, { "rpc.system": "grpc", "rpc.service": "switchboard.v1.InferenceService", "rpc.method": "Complete", "rpc.grpc.status_code": 0, "switchboard.alias": "chat" });
  for (const span of attempts) t.is(span.parentSpanContext?.spanId, server.spanContext().spanId);
  // Each upstream got its own attempt as parent.
  t.is(parseTraceparent(openai.last().headers.traceparent).parentId, failed.spanContext().spanId);
  t.is(parseTraceparent(anthropic.last().headers.traceparent).parentId, served.spanContext().spanId);

  const everything = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
  for (const secret of [PROMPT, ANSWER, OPENAI_KEY, ANTHROPIC_KEY]) t.false(everything.includes(secret), `spans must not contain ${secret}`);
});

test("stream-span-covers-the-stream: a streamed call's serving span ends with the stream and carries its usage", async (t) => {
  const { openai, exporter, grpc } = await tracedGateway(t, { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "openai-main", model: "gpt-4o-mini" }] } });
  openai.enqueue({ kind: "reply", text: ANSWER, usage: { input: 9, output: 4 } });
  const chunks = await grpc.streamComplete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT });
  t.true(chunks.length > 1);
  const server = byKind(exporter.getFinishedSpans(), SpanKind.SERVER)[0]!;
  const attempt = byKind(exporter.getFinishedSpans(), SpanKind.CLIENT)[0]!;
  t.is(server.name, "switchboard.v1.InferenceService/StreamComplete");
  t.like(attempt.attributes, { "gen_ai.usage.input_tokens": 9, "gen_ai.usage.output_tokens": 4, "switchboard.outcome": "OK" });
  t.is(parseTraceparent(openai.last().headers.traceparent).traceId, TRACE_ID);
});

test("trace-without-caller-context: a call with no traceparent starts its own trace and the upstream still gets one", async (t) => {
  const { openai, exporter, client } = await tracedGateway(t, { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "openai-main", model: "gpt-4o-mini" }] } });
  await client.complete({ model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
  const server = byKind(exporter.getFinishedSpans(), SpanKind.SERVER)[0]!;
  t.is(server.parentSpanContext, undefined);
  t.like(server.attributes, { "rpc.method": "Complete" });
  t.is(parseTraceparent(openai.last().headers.traceparent).traceId, server.spanContext().traceId);
});

test("traces-off-passes-caller-context: with the exporter none, the caller's traceparent still reaches the upstream and the ledger", async (t) => {
  const openai = await useFake(t, () => startOpenAIFake());
  const { gateway } = await startTestGateway(t, {
    providers: { up: { type: "openai", base_url: `${openai.url}/v1`, api_key: OPENAI_KEY } },
    models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
  });
  const grpc = createGrpcInferenceClient(gateway.address);
  t.teardown(() => grpc.close());
  await grpc.complete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT });
  t.deepEqual(parseTraceparent(openai.last().headers.traceparent), { traceId: TRACE_ID, parentId: CALLER_SPAN });
  await grpc.complete({ model: "chat", messages: [message] });
  t.is(openai.last().headers.traceparent, undefined, "no trace, no header (and nothing left over from the call before)");
  const rows = await ledgerRows(gateway);
  t.deepEqual(rows.map((r) => r.traceId), [TRACE_ID, ""]);
});

test("otlp-exporter-sends-to-endpoint: exporter otlp posts the call's spans as OTLP/HTTP to the configured endpoint", async (t) => {
  const received: { path: string; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      received.push({ path: req.url ?? "", body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  t.teardown(() => receiver.close());
  const openai = await useFake(t, () => startOpenAIFake());
  const { gateway } = await startTestGateway(t, {
    providers: { up: { type: "openai", base_url: `${openai.url}/v1`, api_key: OPENAI_KEY } },
    models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    telemetry: { traces: { exporter: "otlp", endpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces` } },
  });
  const grpc = createGrpcInferenceClient(gateway.address);
  await grpc.complete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT });
  grpc.close();
  await gateway.close(100); // flushes the batch
  t.true(received.length >= 1);
  t.is(received[0]!.path, "/v1/traces");
  const body = received.map((r) => r.body).join("\n");
  t.true(body.includes(TRACE_ID) || body.includes(Buffer.from(TRACE_ID, "hex").toString("base64")), "the exported spans carry the caller's trace id");
  t.true(body.includes("switchboard.v1.InferenceService/Complete"));
  t.true(body.includes("gen_ai.request.model"));
  t.false(body.includes(PROMPT));
});
