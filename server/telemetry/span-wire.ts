// Ended spans as one flat array of primitives, the form they cross to the export thread in, and
// back into ReadableSpans there for the official batch processor and OTLP exporter. Structured
// clone of the SDK's span objects cost ~5 µs a span (bench/RESULTS.md, "OTLP export on its own
// thread"); flat, a call's two spans cross for less than the OTLP encoding they move off the event loop.
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from "@opentelemetry/api";
import { hrTimeDuration, TraceState, type InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";

export type FlatSpans = unknown[];

/** A link as it crosses: its trace state serialised (the SDK's TraceState is a class). */
type WireLink = { traceId: string; spanId: string; traceFlags: number; isRemote?: boolean; traceState?: string; attributes?: Attributes; droppedAttributesCount?: number };

/** Appends `span` to `flat`. */
export function flattenSpan(span: ReadableSpan, flat: FlatSpans): void {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  flat.push(
    context.traceId, context.spanId, context.traceFlags, context.traceState?.serialize(),
    parent?.spanId, parent?.traceFlags, parent?.isRemote,
    span.name, span.kind, span.startTime[0], span.startTime[1], span.endTime[0], span.endTime[1],
    span.status.code, span.status.message,
    span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount,
  );
  const names = Object.keys(span.attributes);
  flat.push(names.length);
  for (const name of names) flat.push(name, span.attributes[name]);
  // Events and links are rare here (the gateway's spans have none): they cross as plain objects.
  flat.push(span.events.length === 0 ? 0 : span.events, span.links.length === 0 ? 0 : span.links.map(wireLink));
}

/** The spans of `flat`, all of `resource` and `scope`. */
export function spansFromFlat(flat: FlatSpans, resource: Resource, scope: InstrumentationScope): ReadableSpan[] {
  const spans: ReadableSpan[] = [];
  let at = 0;
  const next = () => flat[at++];
  while (at < flat.length) {
    const traceId = next() as string;
    const context: SpanContext = { traceId, spanId: next() as string, traceFlags: next() as number };
    const traceState = next() as string | undefined;
    if (traceState !== undefined) context.traceState = new TraceState(traceState);
    const parentSpanId = next() as string | undefined;
    const parentFlags = next() as number | undefined;
    const parentIsRemote = next() as boolean | undefined;
    const parentSpanContext: SpanContext | undefined =
      parentSpanId === undefined ? undefined : { traceId, spanId: parentSpanId, traceFlags: parentFlags ?? 0, isRemote: parentIsRemote };
    const name = next() as string;
    const kind = next() as ReadableSpan["kind"];
    const startTime: HrTime = [next() as number, next() as number];
    const endTime: HrTime = [next() as number, next() as number];
    const code = next() as ReadableSpan["status"]["code"];
    const message = next() as string | undefined;
    const droppedAttributesCount = next() as number;
    const droppedEventsCount = next() as number;
    const droppedLinksCount = next() as number;
    const attributes: Attributes = {};
    for (let count = next() as number; count > 0; count--) {
      const key = next() as string;
      attributes[key] = next() as AttributeValue;
    }
    const events = next();
    const links = next();
    spans.push({
      name,
      kind,
      spanContext: () => context,
      parentSpanContext,
      startTime,
      endTime,
      status: message === undefined ? { code } : { code, message },
      attributes,
      links: links === 0 ? [] : (links as WireLink[]).map(linkFromWire),
      events: events === 0 ? [] : (events as TimedEvent[]),
      duration: hrTimeDuration(startTime, endTime),
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount,
      droppedEventsCount,
      droppedLinksCount,
    });
  }
  return spans;
}

function wireLink(link: Link): WireLink {
  const { traceId, spanId, traceFlags, isRemote, traceState } = link.context;
  return { traceId, spanId, traceFlags, isRemote, traceState: traceState?.serialize(), attributes: link.attributes, droppedAttributesCount: link.droppedAttributesCount };
}

function linkFromWire(link: WireLink): Link {
  const context: SpanContext = { traceId: link.traceId, spanId: link.spanId, traceFlags: link.traceFlags, isRemote: link.isRemote };
  if (link.traceState !== undefined) context.traceState = new TraceState(link.traceState);
  const rebuilt: Link = { context };
  if (link.attributes !== undefined) rebuilt.attributes = link.attributes;
  if (link.droppedAttributesCount !== undefined) rebuilt.droppedAttributesCount = link.droppedAttributesCount;
  return rebuilt;
}
