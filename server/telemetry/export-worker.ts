// The export thread: spans ended on the event loop arrive flat (span-wire.ts), are rebuilt as
// ReadableSpans and go through the official BatchSpanProcessor and OTLP/HTTP exporter, so the
// OTLP encoding and the export's HTTP request cost the event loop nothing.
import { parentPort, workerData } from "node:worker_threads";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { lowerThisThreadsPriority } from "../core/thread-priority.js";
import { EXPORT_NICE, type ExportReply, type ExportRequest, type ExportThreadData } from "./export-protocol.js";
import { otlpExporter } from "./otlp-export.js";
import { spansFromFlat } from "./span-wire.js";

const port = parentPort;
if (!port) throw new Error("export-worker.ts runs as the span export thread");
lowerThisThreadsPriority(EXPORT_NICE);
const data = workerData as ExportThreadData;
const resource = resourceFromAttributes(data.resource);
const processor = new BatchSpanProcessor(otlpExporter(data.otlp), data.batches);
const reply = (message: ExportReply) => port.postMessage(message);
const failure = (error: unknown) => (error instanceof Error ? error.message : String(error));

port.on("message", (request: ExportRequest) => {
  switch (request.kind) {
    case "spans":
      for (const span of spansFromFlat(request.flat, resource, data.scope)) processor.onEnd(span);
      return;
    case "flush":
      processor.forceFlush().then(
        () => reply({ kind: "done", id: request.id }),
        (error: unknown) => reply({ kind: "done", id: request.id, error: failure(error) }),
      );
      return;
    case "shutdown":
      processor.shutdown().then(
        () => reply({ kind: "done", id: request.id }),
        (error: unknown) => reply({ kind: "done", id: request.id, error: failure(error) }),
      );
      return;
  }
});
