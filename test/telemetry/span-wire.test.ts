// Ended spans cross to the export thread as one flat array: every field the OTLP encoding reads
// comes back as the SDK had it (remote and local parents, trace state, status, array attributes,
// events, links, dropped counts), and the flat form holds no span objects.
import test from "ava";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type SpanContext } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { flattenSpan, spansFromFlat } from "../../server/telemetry/span-wire.js";

function endedSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "switchboard" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    spanLimits: { attributeCountLimit: 12 },
  });
  const tracer = provider.getTracer("switchboard", "1.2.3");
  const caller: SpanContext = {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState("vendor=a,other=b"),
  };
  const server = tracer.startSpan("switchboard.v1.InferenceService/Complete", { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc" } }, trace.setSpanContext(ROOT_CONTEXT, caller));
  const attempt = tracer.startSpan(
    "chat gpt-4o",
    {
      kind: SpanKind.CLIENT,
      attributes: { "gen_ai.request.model": "gpt-4o", "switchboard.attempt": 2, "switchboard.hedged": false },
      links: [{ context: { ...caller, spanId: "1111111111111111" }, attributes: { why: "hedge" } }],
    },
    trace.setSpan(ROOT_CONTEXT, server),
  );
  attempt.setAttribute("gen_ai.response.finish_reasons", ["stop", "length"]);
  attempt.setAttribute("switchboard.cost_nano_usd", 12_345.5);
  for (let i = 0; i < 20; i++) attempt.setAttribute(`extra.${i}`, i); // beyond the limit: dropped, counted
  attempt.addEvent("retry", { delay_ms: 50 });
  attempt.setStatus({ code: SpanStatusCode.ERROR, message: "UNAVAILABLE" });
  attempt.end();
  server.setStatus({ code: SpanStatusCode.OK });
  server.end();
  tracer.startSpan("a root of its own").end();
  return exporter.getFinishedSpans();
}

/** What the OTLP encoding reads of a span. */
function encoded(span: ReadableSpan) {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  return {
    name: span.name,
    kind: span.kind,
    context: { traceId: context.traceId, spanId: context.spanId, traceFlags: context.traceFlags, traceState: context.traceState?.serialize() },
    parent: parent && { spanId: parent.spanId, isRemote: Boolean(parent.isRemote) },
    times: [span.startTime, span.endTime, span.duration],
    status: span.status,
    attributes: span.attributes,
    events: span.events,
    links: span.links.map((link) => ({ ...link, context: { ...link.context, traceState: link.context.traceState?.serialize() } })),
    dropped: [span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount],
    resource: span.resource.attributes,
    scope: span.instrumentationScope,
  };
}

test("spans-cross-to-the-export-thread-with-every-field-the-encoding-reads", (t) => {
  const spans = endedSpans();
  t.is(spans.length, 3);
  t.true(spans[0].droppedAttributesCount > 0, "the fixture has dropped attributes");
  const flat: unknown[] = [];
  for (const span of spans) flattenSpan(span, flat);
  const objects = flat.filter((value) => typeof value === "object" && value !== null && !Array.isArray(value));
  t.deepEqual(objects, [], "no span, context or attribute objects in the flat form");
  const rebuilt = spansFromFlat(structuredClone(flat), spans[0].resource, spans[0].instrumentationScope);
  t.deepEqual(rebuilt.map(encoded), spans.map(encoded));
  t.true(rebuilt.every((span) => span.ended && span.resource === spans[0].resource), "all of one resource: one resourceSpans entry in the export");
});
