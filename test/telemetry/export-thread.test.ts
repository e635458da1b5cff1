// OTLP export runs on a thread of its own by default (export_thread: false keeps it on the event
// loop); spans reach the collector either way, and when the thread dies the spans not yet handed
// to it and all later ones are exported from the event loop.
import test from "ava";
import type { Tracer } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { SPANS_PER_POST, ThreadedSpanProcessor } from "../../server/telemetry/export-thread.js";
import { otlpExporter } from "../../server/telemetry/otlp-export.js";
import { createTracing } from "../../server/telemetry/tracing.js";
import { startOtlpCollector } from "../helpers/otlp-collector.js";

type Collector = Awaited<ReturnType<typeof startOtlpCollector>>;
const names = (collector: Collector) => collector.exports.flatMap((e) => e.spans.map((span) => span.name)).sort();
const endSpans = (tracing: { tracer: Tracer }, prefix: string, count: number) => {
  for (let i = 0; i < count; i++) tracing.tracer.startSpan(`${prefix} ${String(i).padStart(4, "0")}`).end();
};
const expected = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix} ${String(i).padStart(4, "0")}`);

for (const exportThread of [undefined, false]) {
  test(`spans-reach-the-collector-with-export-thread-${exportThread ?? "default"}`, async (t) => {
    const collector = await startOtlpCollector(t);
    const tracing = createTracing({ exporter: "otlp", protocol: "http/json", endpoint: collector.endpoint, export_thread: exportThread }, "test")!;
    t.is(tracing.exportThread !== undefined, exportThread === undefined, "a thread unless the config says false");
    if (tracing.exportThread) t.not(tracing.exportThread.threadId, undefined);
    endSpans(tracing, "call", SPANS_PER_POST + 7); // one full post and a remainder
    await tracing.shutdown();
    t.deepEqual(names(collector), expected("call", SPANS_PER_POST + 7));
    await t.notThrowsAsync(tracing.exportThread?.shutdown() ?? Promise.resolve(), "export-thread-shuts-down-twice: the gateway's close and its stop both shut tracing down");
  });
}

test("export-thread-death-falls-back-to-inline-export", async (t) => {
  const collector = await startOtlpCollector(t);
  const otlp = { protocol: "http/protobuf", endpoint: collector.endpoint };
  const scope = { name: "switchboard", version: "test" };
  // Posts only when full (or flushed), so the "unposted" spans are still on the event loop when the thread dies.
  const thread = new ThreadedSpanProcessor({ otlp, batches: {}, resource: { "service.name": "switchboard" }, scope }, () => new BatchSpanProcessor(otlpExporter(otlp)), 3_600_000);
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "switchboard" }), spanProcessors: [thread] });
  const tracing = { tracer: provider.getTracer(scope.name, scope.version) };
  endSpans(tracing, "before", 3);
  await thread.forceFlush();
  t.deepEqual(names(collector), expected("before", 3), "exported by the thread");
  endSpans(tracing, "unposted", 2);
  await thread.terminateThread();
  t.is(thread.threadId, undefined);
  endSpans(tracing, "after", 4);
  await provider.shutdown();
  t.deepEqual(names(collector), [...expected("after", 4), ...expected("before", 3), ...expected("unposted", 2)]);
});
