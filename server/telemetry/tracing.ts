// The tracer the config asks for: OTLP/HTTP, console, or none (no tracer at all: no span objects).
// Not registered as the global tracer provider, so gateways in one process (tests) keep their own.
import type { Tracer } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { usesRatio } from "../config/otel-env.js";
import { ThreadedSpanProcessor } from "./export-thread.js";
import { exportBatches, otlpExporter } from "./otlp-export.js";
import type { GatewayConfig } from "../config/schema.js";

export type Tracing = {
  tracer: Tracer;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
  /** The OTLP export thread, when spans are exported from one. */
  exportThread?: ThreadedSpanProcessor;
};

/**
 * `spanExporter` (tests: an in-memory exporter) replaces the configured one and exports each span
 * as it ends.
 */
export function createTracing(config: GatewayConfig["telemetry"]["traces"], version: string, spanExporter?: SpanExporter): Tracing | undefined {
  const resource = { "service.name": "switchboard", "service.version": version };
  const scope = { name: "switchboard", version };
  let processor: SpanProcessor;
  let exportThread: ThreadedSpanProcessor | undefined;
  if (spanExporter) processor = new SimpleSpanProcessor(spanExporter);
  else if (config.exporter === "otlp") {
    const inline = () => new BatchSpanProcessor(otlpExporter(config), exportBatches());
    if (config.export_thread === false) processor = inline();
    else {
      const otlp = { endpoint: config.endpoint, protocol: config.protocol, headers: config.headers };
      processor = exportThread = new ThreadedSpanProcessor({ otlp, batches: exportBatches(), resource, scope }, inline);
    }
  } else if (config.exporter === "console") processor = new SimpleSpanProcessor(new ConsoleSpanExporter());
  else return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [processor],
    sampler: samplerFor(config),
  });
  return {
    tracer: provider.getTracer(scope.name, scope.version),
    shutdown: () => provider.shutdown(),
    exportThread,
  };
}

/**
 * The head sampler the config names (the loader resolved OTEL_TRACES_SAMPLER into it). A call not
 * sampled still gets a trace id, for its ledger row and access line, and its upstream requests a
 * traceparent saying "not sampled"; its spans are non-recording and never exported.
 */
function samplerFor(config: GatewayConfig["telemetry"]["traces"]): Sampler {
  const name = config.sampler ?? "parentbased_always_on";
  const root = usesRatio(name)
    ? new TraceIdRatioBasedSampler(config.sample_ratio ?? 1)
    : name.endsWith("always_off") ? new AlwaysOffSampler() : new AlwaysOnSampler();
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root }) : root;
}
