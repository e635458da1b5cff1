// The messages between the event loop's ThreadedSpanProcessor and the export thread.
import type { BufferConfig } from "@opentelemetry/sdk-trace-base";
import type { OtlpSettings } from "./otlp-export.js";
import type { FlatSpans } from "./span-wire.js";

/** The export thread's nice value: its work is never on a call's path, so it yields to the event loop. */
export const EXPORT_NICE = 10;

/** What the thread is started with (workerData). */
export type ExportThreadData = {
  otlp: OtlpSettings;
  batches: BufferConfig;
  /** The tracer provider's resource attributes and instrumentation scope, for the rebuilt spans. */
  resource: Record<string, string>;
  scope: { name: string; version?: string };
};

export type ExportRequest =
  | { kind: "spans"; flat: FlatSpans }
  /** Export everything received so far (forceFlush), then reply. */
  | { kind: "flush"; id: number }
  /** Export everything, stop the exporter, then reply: the thread then ends. */
  | { kind: "shutdown"; id: number };

export type ExportReply = { kind: "done"; id: number; error?: string };
