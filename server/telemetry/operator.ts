// The operators' HTTP listener: /metrics (Prometheus text exposition), /healthz (liveness) and
// /readyz (ready once the gateway listens, 503 while it drains), for load balancers and scrapers
// that do not speak gRPC. Health and readiness never need a credential; /metrics needs the
// configured bearer when there is one.
import { timingSafeEqual, createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type OperatorOptions = {
  host: string;
  port: number;
  bearer?: string;
  metrics(): string;
  ready(): boolean;
  /** Another handler mounted first (the dashboard); true when it took the request. */
  mounted?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
};

export type OperatorListener = { address: string; port: number; close(): Promise<void> };

const EXPOSITION = "text/plain; version=0.0.4; charset=utf-8";
const digest = (value: string) => createHash("sha256").update(value).digest();

function authorized(header: string | undefined, expected: Buffer | undefined): boolean {
  if (expected === undefined) return true;
  const match = header === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(header);
  // Compared as digests: equal lengths for timingSafeEqual, and nothing learned from the length.
  return match !== undefined && match !== null && timingSafeEqual(digest(match[1]!.trim()), expected);
}

export function startOperatorListener(options: OperatorOptions): Promise<OperatorListener> {
  const expected = options.bearer === undefined ? undefined : digest(options.bearer);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (options.mounted?.(req, res)) return;
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n", { allow: "GET, HEAD" });
    switch (path) {
      case "/healthz":
        return reply(200, "ok\n");
      case "/readyz":
        return options.ready() ? reply(200, "ready\n") : reply(503, "draining\n");
      case "/metrics":
        if (!authorized(req.headers.authorization, expected)) return reply(401, "unauthorized\n", { "www-authenticate": 'Bearer realm="switchboard-operator"' });
        return reply(200, options.metrics(), { "content-type": EXPOSITION });
      default:
        return reply(404, `not found: /metrics, /healthz, /readyz${options.mounted ? ", /dashboard/" : ""}\n`);
    }
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      const { port, address } = server.address() as AddressInfo;
      resolve({
        address: `${address.includes(":") ? `[${address}]` : address}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
