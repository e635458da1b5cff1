// The OTLP/HTTP exporter and batch settings the config asks for, shared by the export thread and
// the event loop's fallback. Plain values in, so the thread builds the same exporter from its data.
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { getNumberFromEnv } from "@opentelemetry/core";
import type { BufferConfig, SpanExporter } from "@opentelemetry/sdk-trace-base";

export const DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4318/v1/traces";

export type OtlpSettings = { endpoint?: string; protocol?: string; headers?: Record<string, string> };

/**
 * JSON unless the config (or, when it is unset, OTEL_EXPORTER_OTLP_PROTOCOL: the loader resolves it)
 * says protobuf. Protobuf is half the bytes (476 against 1,072 a span) and faster alone, but in the
 * gateway's event loop its serializer took more (4.9 % of the profile against JSON's 4.1 %), so it is
 * there for collectors that want it (bench/RESULTS.md, the full run at e8f0e55).
 */
export function otlpExporter(config: OtlpSettings): SpanExporter {
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
export function exportBatches(): BufferConfig {
  const config: BufferConfig = {};
  if (getNumberFromEnv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") === undefined) config.maxExportBatchSize = 2048;
  if (getNumberFromEnv("OTEL_BSP_MAX_QUEUE_SIZE") === undefined) config.maxQueueSize = 8192;
  return config;
}
