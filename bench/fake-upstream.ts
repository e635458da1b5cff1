// A fast fake OpenAI-compatible upstream for the benchmark, in its own process: Chat Completions
// unary and SSE streaming (with the usage chunk of `stream_options.include_usage`), HTTP/1.1
// keep-alive, as little work per request as the wire allows. It counts what it served.
//   node --import tsx bench/fake-upstream.ts [--port N] [--latency-ms N] [--token-interval-ms N] [--hosts N]
// Prints one line `{"port":N}` once listening. --hosts N listens on 127.0.0.1 … 127.0.0.N (same
// port): N origins, so a client's per-origin connection pool does not cap concurrent streams. Behaviour by the requested model:
//   fail-503*  → 503 with an OpenAI error body (a failing first target)
//   anything else → "pong" (unary) or `max_completion_tokens ?? max_tokens ?? 16` tokens (stream)
// GET /count → {"ok":N,"failed":N,"open":N,"traceExports":N}: calls answered, 503s sent, streams open
// now, OTLP/HTTP trace exports received. POST /v1/traces stands in for an OpenTelemetry collector.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "latency-ms": { type: "string", default: "0" },
    "token-interval-ms": { type: "string", default: "0" },
    hosts: { type: "string", default: "1" },
  },
});
const latencyMs = Number(values["latency-ms"]);
const tokenIntervalMs = Number(values["token-interval-ms"]);

const counts = { ok: 0, failed: 0, open: 0, traceExports: 0 };

type ChatBody = { model?: string; stream?: boolean; max_tokens?: number; max_completion_tokens?: number };

const FAIL_BODY = JSON.stringify({
  error: { message: "The server is overloaded (bench fake).", type: "server_error", param: null, code: null },
});

function unaryBody(model: string): string {
  return `{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":${JSON.stringify(model)},"system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"pong","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`;
}

function chunkPrefix(model: string): string {
  return `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":${JSON.stringify(model)},"system_fingerprint":"fp_bench",`;
}

const TOKEN_CHOICE = `"choices":[{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`;
const STOP_CHOICE = `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n`;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function stream(res: ServerResponse, model: string, tokens: number): Promise<void> {
  counts.open++;
  let closed = false;
  res.on("close", () => (closed = true));
  try {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const prefix = chunkPrefix(model);
    res.write(`${prefix}"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`);
    for (let i = 0; i < tokens && !closed; i++) {
      if (tokenIntervalMs > 0) await delay(tokenIntervalMs);
      res.write(prefix + TOKEN_CHOICE);
    }
    if (closed) return;
    res.write(prefix + STOP_CHOICE);
    res.write(`${prefix}"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":${tokens},"total_tokens":${tokens + 5}}}\n\n`);
    res.end("data: [DONE]\n\n");
    counts.ok++;
  } finally {
    counts.open--;
  }
}

async function answer(res: ServerResponse, raw: string): Promise<void> {
  let body: ChatBody;
  try {
    body = JSON.parse(raw) as ChatBody;
  } catch {
    res.writeHead(400, { "content-type": "application/json" }).end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
    return;
  }
  const model = body.model ?? "unknown";
  if (latencyMs > 0) await delay(latencyMs);
  if (model.startsWith("fail-503")) {
    counts.failed++;
    res.writeHead(503, { "content-type": "application/json" }).end(FAIL_BODY);
    return;
  }
  if (body.stream) return stream(res, model, body.max_completion_tokens ?? body.max_tokens ?? 16);
  counts.ok++;
  res.writeHead(200, { "content-type": "application/json" }).end(unaryBody(model));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "GET" && req.url === "/count") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(counts));
    return;
  }
  if (req.method === "POST" && req.url === "/v1/traces") {
    req.resume();
    req.on("end", () => {
      counts.traceExports++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    return;
  }
  if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
    return;
  }
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (part: string) => (raw += part));
  req.on("end", () => void answer(res, raw).catch(() => res.destroy()));
}

function listen(host: string, port: number): Promise<number> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(address && typeof address === "object" ? address.port : port);
    });
  });
}

const port = await listen("127.0.0.1", Number(values.port));
for (let i = 2; i <= Number(values.hosts); i++) await listen(`127.0.0.${i}`, port);
console.log(JSON.stringify({ port }));
process.on("SIGTERM", () => process.exit(0));
