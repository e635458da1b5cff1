// The transport's requestWhole (a unary answer read whole through undici's dispatch, no body
// stream) over a real socket: chunks joined, headers by name, cancel reaching the socket, and a
// connection cut after the headers leaving the status to classify by, as the body stream did.
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import test, { type ExecutionContext } from "ava";
import { Cancel } from "../server/core/cancel.js";
import { UpstreamError } from "../server/core/errors.js";
import { createOpenAIHttpClient } from "../server/providers/openai-http.js";
import { createTransport } from "../server/providers/transport.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function upstream(t: ExecutionContext, handler: Handler) {
  const sockets = new Set<Socket>();
  const closed: Promise<void>[] = [];
  const server = createServer(handler);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    closed.push(once(socket, "close").then(() => undefined));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const transport = createTransport({ env: {} });
  t.teardown(async () => {
    await transport.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createOpenAIHttpClient({ provider: "up", baseUrl, request: transport.request, requestWhole: transport.requestWhole });
  return { transport, client, url: `${baseUrl}/v1/chat/completions`, socketClosed: () => Promise.all(closed) };
}

const post = { method: "POST" as const, headers: { "content-type": "application/json" }, body: "{}" };

test("whole-response-joins-every-chunk-and-finds-headers-by-name", async (t) => {
  const { transport, url } = await upstream(t, (req, res) => {
    req.resume();
    res.writeHead(200, { "Content-Type": "application/json", "X-Request-Id": "req-7" });
    // Several writes, a multi-byte character split across two of them.
    const body = Buffer.from(JSON.stringify({ text: "naïve ".repeat(2000) }));
    const cut = body.indexOf(Buffer.from("ï")) + 1;
    res.write(body.subarray(0, cut));
    setImmediate(() => {
      res.write(body.subarray(cut, 9000));
      setImmediate(() => res.end(body.subarray(9000)));
    });
  });
  const response = await transport.requestWhole(url, post);
  t.is(response.statusCode, 200);
  t.is(response.header("x-request-id"), "req-7");
  t.is(response.header("content-type"), "application/json");
  t.is(response.header("retry-after"), undefined);
  t.is(response.bodyError, undefined);
  t.deepEqual(JSON.parse(response.text()), { text: "naïve ".repeat(2000) });
});

test("whole-response-cancel-aborts-the-upstream-socket-at-once", async (t) => {
  let arrived!: () => void;
  const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
  const { transport, url, socketClosed } = await upstream(t, (req) => {
    req.resume();
    arrived(); // never answered: only the cancel can end this call
  });
  const cancel = new Cancel();
  const pending = transport.requestWhole(url, { ...post, signal: cancel });
  await requestArrived;
  const reason = new Error("the caller went away");
  cancel.abort(reason);
  t.is(await t.throwsAsync(pending), reason);
  await socketClosed();
  t.pass();
});

test("whole-response-refuses-an-already-aborted-signal-without-a-request", async (t) => {
  let requests = 0;
  const { transport, url } = await upstream(t, (req, res) => {
    requests++;
    req.resume();
    res.end("{}");
  });
  const cancel = new Cancel();
  const reason = new Error("deadline passed");
  cancel.abort(reason);
  t.is(await t.throwsAsync(transport.requestWhole(url, { ...post, signal: cancel })), reason);
  const controller = new AbortController();
  controller.abort(reason);
  t.is(await t.throwsAsync(transport.requestWhole(url, { ...post, signal: controller.signal })), reason);
  // The same socket still serves the next call, and only that call reached the upstream.
  t.is((await transport.requestWhole(url, post)).statusCode, 200);
  t.is(requests, 1);
});

test("whole-response-cut-after-a-503s-headers-is-still-an-upstream-503", async (t) => {
  const { client } = await upstream(t, (req, res) => {
    req.resume();
    res.writeHead(503, { "content-type": "application/json", "content-length": "200", "retry-after": "3" });
    res.write('{"error":{"message":"overlo');
    setImmediate(() => res.socket?.destroy());
  });
  const error = await t.throwsAsync(client.post("/v1/chat/completions", {}));
  t.true(error instanceof UpstreamError, String(error));
  t.is((error as UpstreamError).kind, "overloaded");
  t.is((error as UpstreamError).retryAfterMs, 3_000);
});

test("whole-response-cut-after-a-200s-headers-fails-as-the-network-did", async (t) => {
  const { client } = await upstream(t, (req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": "200" });
    res.write('{"id":"chatcmpl-1","choi');
    setImmediate(() => res.socket?.destroy());
  });
  const error = await t.throwsAsync(client.post("/v1/chat/completions", {}));
  t.false(error instanceof UpstreamError);
  t.false(error instanceof SyntaxError, "the cut body is never parsed");
  t.regex(String((error as Error & { code?: string }).code ?? error?.message), /UND_ERR_SOCKET|other side closed/);
});
