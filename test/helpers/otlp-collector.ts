// A stand-in OTLP/HTTP collector on 127.0.0.1: keeps every export's headers and its spans (OTLP JSON;
// anything else is answered 400 and not kept).
import type { ExecutionContext } from "ava";
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

export type OtlpSpan = { name: string; traceId: string };
export type ReceivedExport = { headers: http.IncomingHttpHeaders; path: string; spans: OtlpSpan[] };
type ExportBody = { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] };

export async function startOtlpCollector(t: ExecutionContext) {
  const exports: ReceivedExport[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body: ExportBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportBody;
      } catch {
        res.writeHead(400, { "content-type": "application/json" }).end('{"message":"not OTLP JSON"}');
        return;
      }
      const spans = (body.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
      exports.push({ headers: req.headers, path: req.url ?? "", spans });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => server.close());
  return { exports, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` };
}
