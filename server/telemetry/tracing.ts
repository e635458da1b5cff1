// The tracer the config asks for: OTLP/HTTP, console, or none (no tracer at all: no span objects).
// Not registered as the global tracer provider, so gateways in one process (tests) keep their own.
import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { getNumberFromEnv } from "@opentelemetry/core";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { usesRatio } from "../config/otel-env.js";
import type { GatewayConfig } from "../config/schema.js";

export type Tracing = {
  tracer: Tracer;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
};

export const DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4318/v1/traces";

/**
 * `spanExporter` (tests: an in-memory exporter) replaces the configured one and exports each span
 * as it ends.
 */
export function createTracing(config: GatewayConfig["telemetry"]["traces"], version: string, spanExporter?: SpanExporter): Tracing | undefined {
  let processor: SpanProcessor;
  if (spanExporter) processor = new SimpleSpanProcessor(spanExporter);
  else if (config.exporter === "otlp") processor = new BatchSpanProcessor(otlpExporter(config), exportBatches());
  else if (config.exporter === "console") processor = new SimpleSpanProcessor(new ConsoleSpanExporter());
  else return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "switchboard", "service.version": version }),
    spanProcessors: [processor],
    sampler: samplerFor(config),
  });
  return {
    tracer: provider.getTracer("switchboard", version),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * JSON unless the config (or, when it is unset, OTEL_EXPORTER_OTLP_PROTOCOL: the loader resolves it)
 * says protobuf. Protobuf is half the bytes (476 against 1,072 a span) and faster alone, but in the
 * gateway's event loop its serializer took more (4.9 % of the profile against JSON's 4.1 %), so it is
 * there for collectors that want it (bench/RESULTS.md, the full run at e8f0e55).
 */
function otlpExporter(config: GatewayConfig["telemetry"]["traces"]): SpanExporter {
  const options = { url: config.endpoint ?? DEFAULT_OTLP_ENDPOINT, headers: config.headers };
  return config.protocol === "http/protobuf" ? new OtlpProtobufExporter(options) : new OtlpJsonExporter(options);
}

/**
 * Batches of up to 2,048 spans in a queue of 8,192, against the SDK's 512 and 2,048, unless the
 * standard OTEL_BSP_MAX_EXPORT_BATCH_SIZE / OTEL_BSP_MAX_QUEUE_SIZE say otherwise. At 4,000 spans/s
 * (2,000 calls/s) the SDK's queue is full after half a second of a slow collector and spans are
 * dropped; this one rides out two seconds, with a quarter of the exports. 2,048 spans are ~2.2 MB
 * of OTLP JSON (~1 MB of protobuf), within collectors' usual request limits. Throughput in paired
 * runs: from no difference to +4.6 % (bench/RESULTS.md, "Span export batches").
 */
function exportBatches(): BufferConfig {
  const config: BufferConfig = {};
  if (getNumberFromEnv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") === undefined) config.maxExportBatchSize = 2048;
  if (getNumberFromEnv("OTEL_BSP_MAX_QUEUE_SIZE") === undefined) config.maxQueueSize = 8192;
  return config;
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
