// W3C trace context across the gateway: read from the caller's metadata, and written as the
// headers an attempt's upstream requests carry. The headers travel with the attempt as a plain
// value (AttemptObserver → router → adapter → SDK call): an AsyncLocalStorage scope would do it
// without arguments, but on Node 20 entering one turns on promise hooks for the whole process: a
// cost on every promise of every call (up to ~10 % of CPU per call in bench:quick A/B runs).
import { ROOT_CONTEXT, trace, type SpanContext, type TextMapGetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

const propagator = new W3CTraceContextPropagator();

/** What carries the caller's metadata: an InboundCall (its `header` may be a prototype method). */
type HeaderCarrier = { header(name: string): string | undefined };

const getter: TextMapGetter<HeaderCarrier> = {
  keys: () => ["traceparent", "tracestate"],
  get: (carrier, key) => carrier.header(key),
};

/** The caller's span context from its `traceparent` / `tracestate` metadata; undefined when absent or malformed. */
export function callerSpanContext(carrier: HeaderCarrier): SpanContext | undefined {
  if (carrier.header("traceparent") === undefined) return undefined;
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, getter));
}

/** `traceparent` (and `tracestate`) naming `context` as the parent of an upstream request. */
export function traceHeaders(context: SpanContext): Readonly<Record<string, string>> {
  const traceparent = `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1).toString(16).padStart(2, "0")}`;
  const state = context.traceState?.serialize();
  return state ? { traceparent, tracestate: state } : { traceparent };
}
