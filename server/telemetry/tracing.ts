// The tracer the config asks for: OTLP/HTTP, console, or none (no tracer at all: no span objects).
// Not registered as the global tracer provider, so gateways in one process (tests) keep their own.
import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
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
  else if (config.exporter === "otlp") processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint ?? DEFAULT_OTLP_ENDPOINT, headers: config.headers }));
  else if (config.exporter === "console") processor = new SimpleSpanProcessor(new ConsoleSpanExporter());
  else return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "switchboard", "service.version": version }),
    spanProcessors: [processor],
  });
  return {
    tracer: provider.getTracer("switchboard", version),
    shutdown: () => provider.shutdown(),
  };
}
