// W3C trace context across the gateway: read from the caller's metadata, and carried on every
// upstream HTTP request made inside an attempt's scope. The scope is an AsyncLocalStorage entered
// only around an upstream attempt of a traced call, so the transport can add the header without any
// adapter knowing; with no trace, a request pays one getStore().
import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, trace, type SpanContext, type TextMapGetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

const propagator = new W3CTraceContextPropagator();
const scope = new AsyncLocalStorage<SpanContext>();

type HeaderReader = (name: string) => string | undefined;

const getter: TextMapGetter<HeaderReader> = {
  keys: () => ["traceparent", "tracestate"],
  get: (header, key) => header(key),
};

/** The caller's span context from its `traceparent` / `tracestate` metadata; undefined when absent or malformed. */
export function callerSpanContext(header: HeaderReader): SpanContext | undefined {
  if (header("traceparent") === undefined) return undefined;
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, header, getter));
}

/** Runs `run` so that every upstream request it makes carries `context` as its parent. */
export function withUpstreamTrace<T>(context: SpanContext, run: () => T): T {
  return scope.run(context, run);
}

function format(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1).toString(16).padStart(2, "0")}`;
}

/**
 * The headers of an outbound request made inside a traced attempt: a copy of `headers` with
 * `traceparent` (and `tracestate`) set. Outside one, `headers` itself (clients reuse their headers
 * object across requests, so it is never modified).
 */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const context = scope.getStore();
  if (context === undefined) return headers;
  const out: Record<string, string> = { ...headers, traceparent: format(context) };
  const state = context.traceState?.serialize();
  if (state) out.tracestate = state;
  else delete out.tracestate;
  return out;
}

/** Sets the trace headers on a request object the caller owns (the AWS SDK's HttpRequest). */
export function setTraceHeaders(headers: Record<string, string>): void {
  const context = scope.getStore();
  if (context === undefined) return;
  headers.traceparent = format(context);
  const state = context.traceState?.serialize();
  if (state) headers.tracestate = state;
}
