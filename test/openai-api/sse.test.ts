// The SSE writer whole, over a real socket: the exact bytes of a stream that ends with [DONE] and of
// one that ends with an error event, its headers, and that it waits for the socket to drain (at most
// one event in memory, however much the answer holds).
import http from "node:http";
import type { AddressInfo } from "node:net";
import test, { type ExecutionContext } from "ava";
import { SseWriter } from "../../server/openai/sse.js";

async function serve(t: ExecutionContext, handler: (res: http.ServerResponse) => Promise<void> | void): Promise<string> {
  const server = http.createServer((_req, res) => void handler(res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

test("sse-writer-stream-is-data-events-then-done", async (t) => {
  const url = await serve(t, async (res) => {
    const writer = new SseWriter(res, () => ({ "x-switchboard-provider": "p" }));
    t.false(writer.isStarted);
    await writer.send({ a: 1 });
    t.true(writer.isStarted);
    await writer.send({ text: "line\nbreak" });
    writer.end();
  });
  const response = await fetch(url);
  t.is(response.status, 200);
  t.is(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  t.is(response.headers.get("cache-control"), "no-cache");
  t.is(response.headers.get("x-switchboard-provider"), "p");
  // JSON escapes the newline, so one event is always one data: line.
  t.is(await response.text(), 'data: {"a":1}\n\ndata: {"text":"line\\nbreak"}\n\ndata: [DONE]\n\n');
});

test("sse-writer-failure-after-output-ends-with-an-error-event-and-no-done", async (t) => {
  const url = await serve(t, async (res) => {
    const writer = new SseWriter(res, () => ({}));
    await writer.send({ a: 1 });
    writer.end({ error: { message: "upstream cut", type: "api_error", code: "unavailable", param: null } });
  });
  t.is(await (await fetch(url)).text(), 'data: {"a":1}\n\ndata: {"error":{"message":"upstream cut","type":"api_error","code":"unavailable","param":null}}\n\n');
});

test("sse-writer-buffers-at-most-one-event-whatever-the-reader", async (t) => {
  const event = { pad: "x".repeat(64 * 1024) };
  const eventBytes = `data: ${JSON.stringify(event)}\n\n`.length;
  const count = 200; // 13 MB: more than the socket buffers hold, so the writer must wait for the reader
  let maxBuffered = 0;
  const url = await serve(t, async (res) => {
    const writer = new SseWriter(res, () => ({}));
    for (let i = 0; i < count; i++) {
      const pending = writer.send(event);
      // A writer that did not wait for 'drain' would pile every event up here, in memory.
      maxBuffered = Math.max(maxBuffered, res.writableLength);
      await pending;
    }
    writer.end();
  });
  const text = await (await fetch(url)).text();
  t.true(maxBuffered <= 2 * eventBytes, `at most one event waits in memory (saw ${maxBuffered} bytes)`);
  t.is(text.split('data: {"pad"').length - 1, count, "every event arrived");
  t.true(text.endsWith("data: [DONE]\n\n"));
});
