// A fake OpenAI server speaking the real Chat Completions and Embeddings wire protocol
// (../shared/reference/provider-wire-protocols.md §2): JSON bodies, SSE `data:` lines ending with
// `data: [DONE]`, the usage chunk with `choices: []`, OpenAI's error bodies and retry headers.
// Also serves as any OpenAI-compatible server (vLLM, Ollama) with `omitUsage`.
import { FakeUpstream, cutConnection, write, type FakeResponse, type RecordedRequest } from "./server.js";
import { echoReply, finishOf, sleep, textChunks, usageOf, type FakeErrorKind, type FakeReply, type Reply } from "./script.js";

type ChatBody = { model?: string; messages?: { role: string; content: unknown }[]; stream?: boolean; input?: unknown; encoding_format?: string };

const ERRORS: Record<FakeErrorKind, { status: number; type: string; code: string | null; message: string }> = {
  rate_limited: { status: 429, type: "requests", code: "rate_limit_exceeded", message: "Rate limit reached for requests" },
  quota: { status: 429, type: "insufficient_quota", code: "insufficient_quota", message: "You exceeded your current quota" },
  overloaded: { status: 503, type: "server_error", code: null, message: "The engine is currently overloaded" },
  server_error: { status: 500, type: "server_error", code: null, message: "The server had an error while processing your request." },
  context_length: {
    status: 400,
    type: "invalid_request_error",
    code: "context_length_exceeded",
    message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
  },
  bad_request: { status: 400, type: "invalid_request_error", code: null, message: "Invalid value for 'temperature'." },
  auth: {
    status: 401,
    type: "invalid_request_error",
    code: "invalid_api_key",
    message: "Incorrect API key provided: sk-test-abcdefghijklmnop. You can find your API key at https://platform.openai.com/account/api-keys.",
  },
  content_filter: {
    status: 400,
    type: "invalid_request_error",
    code: "content_filter",
    message: "The response was filtered due to the prompt triggering content management policy.",
  },
};

function lastUserText(body: ChatBody | undefined): string {
  const user = [...(body?.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  if (Array.isArray(user.content)) {
    return user.content.map((p: { type?: string; text?: string }) => (p.type === "text" ? (p.text ?? "") : "")).join("");
  }
  return "";
}

function sendError(res: FakeResponse, kind: FakeErrorKind, retryAfterSeconds?: number, message?: string): void {
  const e = ERRORS[kind];
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": "req_fake" };
  if (retryAfterSeconds !== undefined) headers["retry-after"] = String(retryAfterSeconds);
  if (kind === "rate_limited") headers["x-ratelimit-remaining-requests"] = "0";
  res.writeHead(e.status, headers);
  res.end(JSON.stringify({ error: { message: message ?? e.message, type: e.type, param: null, code: e.code } }));
}

function toolCallsOf(reply: Reply) {
  return (reply.toolCalls ?? []).map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: c.rawArguments ?? JSON.stringify(c.arguments) },
  }));
}

function usageBody(reply: Reply, omit: boolean) {
  if (omit) return undefined;
  const u = usageOf(reply);
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning ?? 0, audio_tokens: 0 },
  };
}

async function sendCompletion(body: ChatBody, reply: Reply, res: FakeResponse, omitUsage: boolean): Promise<void> {
  const toolCalls = toolCallsOf(reply);
  const text = reply.chunks ? reply.chunks.join("") : (reply.text ?? "");
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id: "chatcmpl-fake1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: reply.model ?? `${body.model ?? "gpt"}-2024-08-06`,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text === "" && toolCalls.length ? null : text, refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
          logprobs: null,
          finish_reason: finishOf(reply),
        },
      ],
      usage: usageBody(reply, omitUsage),
      system_fingerprint: "fp_fake",
    }),
  );
}

async function sendStream(body: ChatBody, reply: FakeReply, res: FakeResponse, omitUsage: boolean): Promise<void> {
  const model = reply.kind === "reply" && reply.model ? reply.model : `${body.model ?? "gpt"}-2024-08-06`;
  const base = { id: "chatcmpl-fake1", object: "chat.completion.chunk", created: 1_700_000_000, model, system_fingerprint: "fp_fake" };
  const event = (choices: unknown[], usage: unknown = null) => write(res, `data: ${JSON.stringify({ ...base, choices, usage })}\n\n`);
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  await event([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]);
  if (reply.kind === "cut" || reply.kind === "stall") {
    await event([{ index: 0, delta: { content: "partial" }, logprobs: null, finish_reason: null }]);
    if (reply.kind === "stall") return; // the client's abort closes it
    await sleep(10);
    return cutConnection(res);
  }
  if (reply.kind === "stream_error") {
    await event([{ index: 0, delta: { content: "partial" }, logprobs: null, finish_reason: null }]);
    const e = ERRORS[reply.error];
    await write(res, `data: ${JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: e.code } })}\n\n`);
    res.end();
    return;
  }
  if (reply.kind !== "reply") throw new Error(`unexpected stream reply ${reply.kind}`);
  for (const [n, piece] of textChunks(reply).entries()) {
    if (n === reply.stallAfterChunks) return new Promise<void>((resolve) => res.once("close", resolve));
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    await event([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]);
  }
  for (const [index, call] of toolCallsOf(reply).entries()) {
    const args = call.function.arguments;
    const half = Math.ceil(args.length / 2);
    await event([{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, finish_reason: null }]);
    await event([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] }, finish_reason: null }]);
    await event([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, finish_reason: null }]);
  }
  await event([{ index: 0, delta: {}, logprobs: null, finish_reason: finishOf(reply) }]);
  if (!omitUsage) await event([], usageBody(reply, false));
  await write(res, "data: [DONE]\n\n");
  res.end();
}

function sendEmbeddings(body: ChatBody, res: FakeResponse): void {
  const inputs = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
  const vectors = inputs.map((text) => [text.length / 10, 0.5, -0.25]);
  const data = vectors.map((v, index) => ({
    object: "embedding",
    index,
    embedding: body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
  }));
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ object: "list", data, model: body.model, usage: { prompt_tokens: inputs.length * 3, total_tokens: inputs.length * 3 } }));
}

export type OpenAIFakeOptions = { omitUsage?: boolean };

export async function startOpenAIFake(options: OpenAIFakeOptions = {}): Promise<FakeUpstream> {
  const omitUsage = options.omitUsage ?? false;
  return new FakeUpstream({
    defaultReply: (request) => echoReply(lastUserText(request.body as ChatBody)),
    async render(request: RecordedRequest, reply: FakeReply, res: FakeResponse) {
      const body = (request.body ?? {}) as ChatBody;
      if (reply.kind === "reply" && reply.delayMs) await sleep(reply.delayMs);
      if (reply.kind === "error") return sendError(res, reply.error, reply.retryAfterSeconds, reply.message);
      if (request.path.endsWith("/embeddings")) return sendEmbeddings(body, res);
      if (!request.path.endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `Unknown request URL: POST ${request.path}`, type: "invalid_request_error", code: "unknown_url" } }));
        return;
      }
      if (reply.kind === "malformed") {
        res.writeHead(200, { "content-type": body.stream ? "text/event-stream" : "application/json" });
        res.end(body.stream ? "data: {not json\n\n" : "{\"id\": \"chatcmpl-broken\", \"choices\": [");
        return;
      }
      if (body.stream) return sendStream(body, reply, res, omitUsage);
      if (reply.kind === "cut" || reply.kind === "stream_error") return cutConnection(res);
      if (reply.kind === "reply") return sendCompletion(body, reply, res, omitUsage);
    },
  }).start();
}
