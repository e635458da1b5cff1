// A stand-in OTLP/HTTP collector on 127.0.0.1: keeps every export's headers and its spans, from
// OTLP protobuf or OTLP JSON bodies (chosen by content-type, as a collector does); anything it cannot
// read is answered 400 and not kept.
import type { ExecutionContext } from "ava";
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { BinaryReader } from "@bufbuild/protobuf/wire";

export type OtlpSpan = { name: string; traceId: string };
export type ReceivedExport = { headers: http.IncomingHttpHeaders; path: string; spans: OtlpSpan[] };
type ExportBody = { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };

export async function startOtlpCollector(t: ExecutionContext) {
  const exports: ReceivedExport[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let spans: OtlpSpan[];
      try {
        spans = readSpans(req.headers["content-type"], Buffer.concat(chunks));
      } catch (error) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ message: String(error) }));
        return;
      }
      exports.push({ headers: req.headers, path: req.url ?? "", spans });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => server.close());
  return { exports, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` };
}

function readSpans(contentType: string | undefined, body: Buffer): OtlpSpan[] {
  if (contentType === "application/x-protobuf") return protobufSpans(body);
  if (contentType === "application/json") {
    const parsed = JSON.parse(body.toString("utf8")) as ExportBody;
    return (parsed.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
  }
  throw new Error(`unsupported content-type ${contentType}`);
}

/** Each length-delimited field `field` of a message, as a reader over its bytes; other fields skipped. */
function* embedded(bytes: Uint8Array, field: number): Generator<Uint8Array> {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === field) yield reader.bytes();
    else reader.skip(wireType);
  }
}

/** ExportTraceServiceRequest → resource_spans (1) → scope_spans (2) → spans (2): name (5), trace_id (1). */
function protobufSpans(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const resourceSpans of embedded(body, 1))
    for (const scopeSpans of embedded(resourceSpans, 2))
      for (const span of embedded(scopeSpans, 2)) {
        const reader = new BinaryReader(span);
        const read: OtlpSpan = { name: "", traceId: "" };
        while (reader.pos < reader.len) {
          const [number, wireType] = reader.tag();
          if (number === 1) read.traceId = Buffer.from(reader.bytes()).toString("hex");
          else if (number === 5) read.name = reader.string();
          else reader.skip(wireType);
        }
        spans.push(read);
      }
  return spans;
}
