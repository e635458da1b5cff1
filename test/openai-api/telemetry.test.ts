// The OpenAI-compatible door in telemetry, as gRPC is: the HTTP request's W3C traceparent is the
// parent of the gateway's spans and reaches the upstream; the ledger row, the metrics and the access
// line carry the call with protocol "openai".
import test from "ava";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { openaiRow } from "../conformance/rows/openai.js";
import { startWithRow } from "./setup.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

test("openai-door-traceparent-reaches-spans-upstream-ledger-and-metrics", async (t) => {
  const exporter = new InMemorySpanExporter();
  const gw = await startWithRow(t, openaiRow, {}, { spanExporter: exporter });
  const response = await fetch(`${gw.v1}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent: TRACEPARENT },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hi" }] }),
  });
  t.is(response.status, 200);
  await response.json();
  const spans = exporter.getFinishedSpans();
  t.true(spans.length >= 2, "a server span and an attempt span");
  t.true(spans.every((s) => s.spanContext().traceId === TRACE_ID), "every span continues the caller's trace");
  t.regex(String(gw.fake.last().headers.traceparent), new RegExp(`^00-${TRACE_ID}-`), "the upstream request carries the trace");
  const rows = [];
  for await (const row of gw.gateway.store.exportLedger()) rows.push(row);
  t.deepEqual(rows.map((r) => [r.protocol, r.traceId, r.status]), [["openai", TRACE_ID, "OK"]]);
  const metrics = await (await fetch(`http://${gw.gateway.operatorAddress}/metrics`)).text();
  t.regex(metrics, /^switchboard_calls_total\{method="complete",code="OK"\} 1$/m);
  t.true(gw.logs.some((line) => line.includes('"msg":"call"') && line.includes('"protocol":"openai"') && line.includes(TRACE_ID)), "the access line");
});
