// The lean OpenAI-wire client (server/providers/openai-http.ts) where the conformance table and
// openai-e2e do not reach: SSE cut at every byte, error bodies that are not OpenAI's JSON, 2xx
// bodies that are not an answer, and the headers and URL the SDK used to build.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { FinishReason } from "../gen/switchboard/v1/inference_pb.js";
import { userText } from "../clients/inference-client.js";
import { UpstreamError } from "../server/core/errors.js";
import { sseObjects, type JsonObject } from "../server/providers/openai-http.js";
import { createTransport } from "../server/providers/transport.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { FakeUpstream, write, type FakeResponse } from "./fakes/server.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";
import { streamUntilError } from "./helpers/streams.js";

type ExecutionContext = Parameters<typeof startTestGateway>[0];
type Answer = {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
  /** One write per byte. */
  bytewise?: boolean;
  /** Keep the response open this long after the body, as a server that lingers after [DONE]. */
  lingerMs?: number;
};

/** A fake whose every answer is given verbatim: status, headers and body bytes. */
async function rawFake(t: ExecutionContext, answer: Answer): Promise<FakeUpstream> {
  return useFake(t, () =>
    new FakeUpstream({
      defaultReply: () => ({ kind: "reply" }),
      async render(_request, _reply, res: FakeResponse) {
        res.writeHead(answer.status, answer.headers ?? {});
        const bytes = Buffer.from(answer.body);
        if (answer.bytewise) for (let i = 0; i < bytes.length; i++) await write(res, bytes.subarray(i, i + 1));
        else await write(res, bytes);
        if (answer.lingerMs) await new Promise((resolve) => setTimeout(resolve, answer.lingerMs));
        res.end();
      },
    }).start(),
  );
}

async function gatewayFor(t: ExecutionContext, fake: FakeUpstream, provider: Record<string, unknown> = {}) {
  const config = singleProviderConfig(
    { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-lean-secret-0001", ...provider },
    "gpt-4o-mini",
  );
  const models = { ...config.models, embed: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "text-embedding-3-small" }] } };
  return (await startTestGateway(t, { ...config, models })).client;
}

async function failure(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

const reason = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;
const ask = { model: "chat", messages: [userText("Hi")] };
const json = { "content-type": "application/json" };
const sse = { "content-type": "text/event-stream" };

const chunk = (id: string, delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id, object: "chat.completion.chunk", model: "gpt-4o-mini-2024-07-18", choices: [{ index: 0, delta, finish_reason: finish }] });

// Every SSE feature in one body: a comment, multi-byte UTF-8, CRLF lines, one event's data on two
// lines, an `event:` without data, `data:` without a space, [DONE], and an event after [DONE].
const SSE_BODY =
  ": keep-alive\n\n" +
  `data: ${chunk("c1", { role: "assistant", content: "héllo 世界 🎉" })}\n\n` +
  'event: message\r\ndata: {"id":"c2",\r\ndata: "choices":[]}\r\n\r\n' +
  "event: ping\n\n" +
  `data:${chunk("c3", {}, "stop")}\n\n` +
  "data: [DONE]\n\n" +
  `data: ${chunk("after-done", { content: "never" })}\n\n`;
const SSE_EVENTS = [JSON.parse(chunk("c1", { role: "assistant", content: "héllo 世界 🎉" })), { id: "c2", choices: [] }, JSON.parse(chunk("c3", {}, "stop"))];

async function eventsOf(pieces: Buffer[]): Promise<JsonObject[]> {
  const events: JsonObject[] = [];
  for await (const event of sseObjects("upstream", Readable.from(pieces))) events.push(event);
  return events;
}

test("sse-split-at-every-byte-offset-parses-the-same-events", async (t) => {
  const bytes = Buffer.from(SSE_BODY);
  t.deepEqual(await eventsOf([bytes]), SSE_EVENTS);
  for (let cut = 1; cut < bytes.length; cut++) {
    const events = await eventsOf([bytes.subarray(0, cut), bytes.subarray(cut)]);
    if (JSON.stringify(events) !== JSON.stringify(SSE_EVENTS)) return t.fail(`split at byte ${cut}: ${JSON.stringify(events)}`);
  }
  const oneByteEach = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  t.deepEqual(await eventsOf(oneByteEach), SSE_EVENTS);
});

test("sse-event-that-is-not-an-object-is-malformed", async (t) => {
  const error = await t.throwsAsync(eventsOf([Buffer.from(`data: ${chunk("c1", { content: "a" })}\n\ndata: null\n\n`)]));
  t.true(error instanceof UpstreamError);
  t.is((error as UpstreamError).kind, "malformed");
});

test("stream-sent-one-byte-per-write-streams-the-same-text", async (t) => {
  const fake = await rawFake(t, { status: 200, headers: sse, body: SSE_BODY, bytewise: true });
  const client = await gatewayFor(t, fake);
  const chunks = [];
  for await (const c of client.streamComplete(ask)) chunks.push(c);
  const text = chunks.flatMap((c) => (c.event.case === "textDelta" ? [c.event.value.text] : [])).join("");
  t.is(text, "héllo 世界 🎉");
  const done = chunks.at(-1)?.event;
  t.is(done?.case, "done");
  t.is(done?.case === "done" ? done.value.finishReason : undefined, FinishReason.STOP);
});

test("stream-lingering-after-done-leaves-its-connection-to-the-pool", async (t) => {
  const fake = await rawFake(t, { status: 200, headers: sse, body: SSE_BODY, lingerMs: 30 });
  const client = await gatewayFor(t, fake);
  for (let call = 0; call < 3; call++) {
    const kinds = [];
    for await (const c of client.streamComplete(ask)) kinds.push(c.event.case);
    t.is(kinds.at(-1), "done");
  }
  t.is(fake.requests.length, 3);
  t.is(fake.connectionsAccepted, 1, "every call after the first reused the first connection");
});

test("stream-in-band-error-that-is-a-string-is-unavailable", async (t) => {
  const body = `data: ${chunk("c1", { content: "partial" })}\n\ndata: {"error":"boom"}\n\n`;
  const fake = await rawFake(t, { status: 200, headers: sse, body });
  const client = await gatewayFor(t, fake);
  const { kinds, error } = await streamUntilError(client.streamComplete(ask));
  t.true(kinds.includes("textDelta"));
  t.is(error.code, Code.Unavailable);
  t.regex(error.rawMessage, /failed mid-stream/);
});

test("non-json-error-body-keeps-its-status-and-text", async (t) => {
  const fake = await rawFake(t, { status: 502, headers: { "content-type": "text/html" }, body: "<html><h1>Bad Gateway</h1></html>" });
  const client = await gatewayFor(t, fake);
  const error = await failure(() => client.complete(ask));
  t.is(error.code, Code.Unavailable);
  t.is(reason(error), "UNAVAILABLE");
  t.regex(error.rawMessage, /HTTP 502: .*Bad Gateway/);
});

test("non-json-400-saying-the-prompt-is-too-long-is-context-length", async (t) => {
  const fake = await rawFake(t, { status: 400, headers: { "content-type": "text/plain" }, body: "prompt is too long: 9000 tokens > 8192" });
  const client = await gatewayFor(t, fake);
  const error = await failure(() => client.complete(ask));
  t.is(error.code, Code.InvalidArgument);
  t.is(reason(error), "CONTEXT_LENGTH");
});

test("vllm-top-level-error-message-is-classified", async (t) => {
  const body = JSON.stringify({
    object: "error",
    message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
    type: "BadRequestError",
    param: null,
    code: 400,
  });
  const fake = await rawFake(t, { status: 400, headers: json, body });
  const client = await gatewayFor(t, fake);
  const error = await failure(() => client.complete(ask));
  t.is(error.code, Code.InvalidArgument);
  t.is(reason(error), "CONTEXT_LENGTH");
  t.regex(error.rawMessage, /maximum context length is 4096/);
});

test("credentials-error-with-a-text-body-does-not-echo-it", async (t) => {
  const fake = await rawFake(t, { status: 401, headers: { "content-type": "text/plain" }, body: "invalid key sk-live-abcdefghijklmnop0123" });
  const client = await gatewayFor(t, fake);
  const error = await failure(() => client.complete(ask));
  t.is(reason(error), "AUTH");
  t.false(error.rawMessage.includes("sk-live"), error.rawMessage);
  t.false(error.rawMessage.includes("invalid key"), error.rawMessage);
});

test("retry-after-ms-header-reaches-the-caller", async (t) => {
  const body = JSON.stringify({ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } });
  const fake = await rawFake(t, { status: 429, headers: { ...json, "retry-after-ms": "1500", "retry-after": "9" }, body });
  const client = await gatewayFor(t, fake);
  const error = await failure(() => client.complete(ask));
  t.is(error.code, Code.ResourceExhausted);
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  t.deepEqual([delay?.seconds, delay?.nanos], [1n, 500_000_000]);
});

for (const [name, headers, body] of [
  ["ok-with-invalid-json-is-malformed", json, '{"id": "chatcmpl-1", "choices": [{"index": 0,'],
  ["ok-with-a-json-array-is-malformed", json, "[]"],
  ["ok-with-a-text-body-is-malformed", { "content-type": "text/plain" }, "pong"],
  ["ok-with-an-empty-body-is-malformed", json, ""],
] as const) {
  test(name, async (t) => {
    const fake = await rawFake(t, { status: 200, headers, body });
    const client = await gatewayFor(t, fake);
    const error = await failure(() => client.complete(ask));
    t.is(error.code, Code.Unavailable);
    t.is(reason(error), "MALFORMED");
  });
}

test("embeddings-answer-without-data-is-malformed", async (t) => {
  const fake = await rawFake(t, { status: 200, headers: json, body: JSON.stringify({ object: "list", model: "text-embedding-3-small" }) });
  const client = await gatewayFor(t, fake);
  const error = await failure(() => client.embed({ model: "embed", inputs: ["alpha"] }));
  t.is(error.code, Code.Unavailable);
  t.is(reason(error), "MALFORMED");
});

test("configured-authorization-header-replaces-the-bearer-token", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const client = await gatewayFor(t, fake, { headers: { Authorization: "Token abc" }, type: "openai-compatible", api_key: undefined });
  await client.complete(ask);
  t.is(fake.last().headers.authorization, "Token abc");
});

test("organization-header-and-bearer-token-are-sent", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const client = await gatewayFor(t, fake, { organization: "org-lean-42" });
  await client.complete(ask);
  t.is(fake.last().headers["openai-organization"], "org-lean-42");
  t.is(fake.last().headers.authorization, "Bearer sk-test-lean-secret-0001");
  t.is(fake.last().headers["content-type"], "application/json");
});

test("base-url-with-a-trailing-slash-joins-like-the-sdk", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const client = await gatewayFor(t, fake, { base_url: `${fake.url}/v1/` });
  await client.complete(ask);
  await client.embed({ model: "embed", inputs: ["alpha"] });
  t.deepEqual(
    fake.requests.map((r) => r.path),
    ["/v1/chat/completions", "/v1/embeddings"],
  );
});

test("transport-request-sends-the-urls-path-and-query-to-its-origin; a non-http url is refused by name", async (t) => {
  const seen: { url?: string; host?: string; method?: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      seen.push({ url: req.url, host: req.headers.host, method: req.method, body });
      res.end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const transport = createTransport({ env: {} });
  t.teardown(async () => {
    await transport.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const url of [`${origin}/v1/chat/completions`, `${origin}/v1/chat/completions`, `${origin}/openai/deployments/x/chat/completions?api-version=2024-10-21`]) {
    const response = await transport.request(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    t.is(await response.body.text(), "ok");
  }
  t.deepEqual(
    seen.map((s) => s.url),
    ["/v1/chat/completions", "/v1/chat/completions", "/openai/deployments/x/chat/completions?api-version=2024-10-21"],
  );
  t.true(seen.every((s) => s.host === origin.slice("http://".length) && s.method === "POST" && s.body === "{}"));
  const refused = await t.throwsAsync(transport.request("ftp://files.example/v1", { method: "POST", headers: {}, body: null }));
  t.regex(refused?.message ?? "", /ftp:\/\/files\.example is not http: or https:/);
});
