// A fake Anthropic server speaking the real Messages wire protocol
// (../shared/reference/provider-wire-protocols.md §3): POST /v1/messages, JSON messages, SSE with
// `event:` lines in the API's order (ping included), `event: error` mid-stream, Anthropic's error
// bodies with request_id, retry-after and anthropic-ratelimit-* headers. Like the real API on
// version 2026-10-21, it requires max_tokens and anthropic-version, and rejects sampling parameters.
import { FakeUpstream, cutConnection, write, type FakeResponse, type RecordedRequest } from "./server.js";
import { echoReply, finishOf, sleep, textChunks, usageOf, type FakeErrorKind, type FakeFinish, type FakeReply, type Reply } from "./script.js";

type WireBlock = { type: string; text?: string };
type WireBody = {
  model?: string;
  max_tokens?: number;
  messages?: { role: string; content: string | WireBlock[] }[];
  stop_sequences?: string[];
  stream?: boolean;
  [field: string]: unknown;
};

export type ErrorSpec = { status: number; type: string; message: string; details?: Record<string, string> };

const ERRORS: Record<FakeErrorKind, ErrorSpec> = {
  rate_limited: {
    status: 429,
    type: "rate_limit_error",
    message: "This request would exceed the rate limit for your organization of 50 requests per minute.",
  },
  quota: {
    status: 429,
    type: "rate_limit_error",
    message: "You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.",
    details: { error_code: "enforced_spend_limit_reached" },
  },
  overloaded: { status: 529, type: "overloaded_error", message: "Overloaded" },
  server_error: { status: 500, type: "api_error", message: "Internal server error" },
  context_length: { status: 400, type: "invalid_request_error", message: "prompt is too long: 210345 tokens > 200000 maximum" },
  bad_request: { status: 400, type: "invalid_request_error", message: "messages: text content blocks must be non-empty" },
  auth: { status: 401, type: "authentication_error", message: "invalid x-api-key" },
  content_filter: { status: 400, type: "invalid_request_error", message: "Output blocked by content filtering policy" },
};

const STOP_REASONS: Record<FakeFinish, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

const SAMPLING_FIELDS = ["temperature", "top_p", "top_k"];

let requestCounter = 0;
const requestId = () => `req_011Fake${String(++requestCounter).padStart(8, "0")}`;

function errorBody(type: string, message: string, id: string, details?: Record<string, string>): string {
  return JSON.stringify({ type: "error", error: { type, message, ...(details ? { details } : {}) }, request_id: id });
}

function sendError(res: FakeResponse, spec: ErrorSpec, retryAfterSeconds?: number, message?: string): void {
  const id = requestId();
  const headers: Record<string, string> = { "content-type": "application/json", "request-id": id };
  if (spec.status === 429) {
    headers["anthropic-ratelimit-requests-limit"] = "50";
    headers["anthropic-ratelimit-requests-remaining"] = "0";
    headers["anthropic-ratelimit-requests-reset"] = new Date(Date.now() + (retryAfterSeconds ?? 60) * 1000).toISOString();
    if (retryAfterSeconds !== undefined) headers["retry-after"] = String(retryAfterSeconds);
  }
  if (spec.status === 529 || spec.status >= 500) headers["x-should-retry"] = "true";
  res.writeHead(spec.status, headers);
  res.end(errorBody(spec.type, message ?? spec.message, id, spec.details));
}

/** What the real API rejects before generating anything. */
function requestProblem(request: RecordedRequest, body: WireBody): ErrorSpec | undefined {
  const { authorization } = request.headers;
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey !== "string" && !(typeof authorization === "string" && /^Bearer \S+/.test(authorization))) {
    return { status: 401, type: "authentication_error", message: "x-api-key header is required" };
  }
  const version = request.headers["anthropic-version"];
  if (typeof version !== "string") {
    return { status: 400, type: "invalid_request_error", message: "anthropic-version: header is required" };
  }
  if (typeof body.max_tokens !== "number") {
    return { status: 400, type: "invalid_request_error", message: "max_tokens: Field required" };
  }
  const sampling = version >= "2026-10-21" ? SAMPLING_FIELDS.find((f) => f in body) : undefined;
  if (sampling) return { status: 400, type: "invalid_request_error", message: `${sampling}: Extra inputs are not permitted` };
  return undefined;
}

function lastUserText(body: WireBody): string {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  return user.content.map((b) => (b.type === "text" ? (b.text ?? "") : "")).join("");
}

export type AnthropicFakeOptions = {
  /** Input tokens reported as written to the prompt cache (cache_creation_input_tokens). */
  cacheCreationTokens?: number;
  /** Another real Anthropic error for a neutral kind (e.g. "quota" as 402 billing_error). */
  errors?: Partial<Record<FakeErrorKind, ErrorSpec>>;
};

function usageBody(reply: Reply, options: AnthropicFakeOptions) {
  const u = usageOf(reply);
  const cacheRead = u.cached ?? 0;
  const cacheWrite = u.cacheWrite ?? options.cacheCreationTokens ?? 0;
  return {
    // FakeUsage.input is the whole prompt; Anthropic's input_tokens leaves out cache reads and writes.
    input_tokens: Math.max(0, u.input - cacheRead - cacheWrite),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: u.output,
    // Thinking tokens are part of output_tokens.
    ...(u.reasoning !== undefined ? { output_tokens_details: { thinking_tokens: u.reasoning } } : {}),
    service_tier: "standard",
  };
}

function stopOf(reply: Reply, body: WireBody): { stop_reason: string; stop_sequence: string | null } {
  const finish = finishOf(reply);
  // A reply that stops normally on a request with stop sequences reports the first one as hit.
  if (finish === "stop" && body.stop_sequences?.length) return { stop_reason: "stop_sequence", stop_sequence: body.stop_sequences[0] };
  return { stop_reason: STOP_REASONS[finish], stop_sequence: null };
}

function modelOf(reply: FakeReply, body: WireBody): string {
  return reply.kind === "reply" && reply.model ? reply.model : (body.model ?? "claude");
}

function toolUseBlocks(reply: Reply) {
  return (reply.toolCalls ?? []).map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: c.arguments, caller: { type: "direct" } }));
}

function sendMessage(body: WireBody, reply: Reply, res: FakeResponse, options: AnthropicFakeOptions): void {
  const text = textChunks(reply).join("");
  const content = [...(text !== "" ? [{ type: "text", text, citations: null }] : []), ...toolUseBlocks(reply)];
  const stop = stopOf(reply, body);
  res.writeHead(200, { "content-type": "application/json", "request-id": requestId() });
  res.end(
    JSON.stringify({
      id: "msg_01FakeMessage0001",
      type: "message",
      role: "assistant",
      model: modelOf(reply, body),
      content,
      ...stop,
      stop_details: stop.stop_reason === "refusal" ? { type: "refusal", category: null, explanation: null } : null,
      container: null,
      diagnostics: null,
      usage: usageBody(reply, options),
    }),
  );
}

async function sendStream(body: WireBody, reply: FakeReply, res: FakeResponse, options: AnthropicFakeOptions): Promise<void> {
  const event = (name: string, data: Record<string, unknown>) => write(res, `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`);
  const usage = reply.kind === "reply" ? usageBody(reply, options) : { input_tokens: 10, output_tokens: 1 };
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": requestId() });
  await event("message_start", {
    message: {
      id: "msg_01FakeMessage0001",
      type: "message",
      role: "assistant",
      model: modelOf(reply, body),
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      // Output counts are cumulative; the API starts them at 1 here.
      usage: { ...usage, output_tokens: 1 },
    },
  });
  if (reply.kind === "cut" || reply.kind === "stream_error" || reply.kind === "stall") {
    await event("content_block_start", { index: 0, content_block: { type: "text", text: "", citations: null } });
    await event("ping", {});
    await event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "partial" } });
    if (reply.kind === "stall") return; // the client's abort closes it
    await sleep(10);
    if (reply.kind === "cut") return cutConnection(res);
    const spec = options.errors?.[reply.error] ?? ERRORS[reply.error];
    await write(res, `event: error\ndata: ${errorBody(spec.type, spec.message, requestId())}\n\n`);
    res.end();
    return;
  }
  if (reply.kind !== "reply") throw new Error(`unexpected stream reply ${reply.kind}`);
  let index = 0;
  let pinged = false;
  const ping = async () => {
    if (!pinged) await event("ping", {});
    pinged = true;
  };
  const chunks = textChunks(reply);
  if (chunks.length > 0) {
    await event("content_block_start", { index, content_block: { type: "text", text: "", citations: null } });
    await ping();
    for (const piece of chunks) {
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      await event("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
    }
    await event("content_block_stop", { index: index++ });
  }
  for (const call of reply.toolCalls ?? []) {
    const args = JSON.stringify(call.arguments);
    const half = Math.ceil(args.length / 2);
    await event("content_block_start", { index, content_block: { type: "tool_use", id: call.id, name: call.name, input: {}, caller: { type: "direct" } } });
    await ping();
    for (const partial of ["", args.slice(0, half), args.slice(half)]) {
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      await event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: partial } });
    }
    await event("content_block_stop", { index: index++ });
  }
  await ping();
  await event("message_delta", {
    delta: { ...stopOf(reply, body), stop_details: null, container: null },
    usage: { output_tokens: usage.output_tokens, ...("output_tokens_details" in usage ? { output_tokens_details: usage.output_tokens_details } : {}) },
  });
  await event("message_stop", {});
  res.end();
}

export async function startAnthropicFake(options: AnthropicFakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream({
    defaultReply: (request) => echoReply(lastUserText((request.body ?? {}) as WireBody)),
    async render(request: RecordedRequest, reply: FakeReply, res: FakeResponse) {
      const body = (request.body ?? {}) as WireBody;
      if (reply.kind === "reply" && reply.delayMs) await sleep(reply.delayMs);
      if (request.method !== "POST" || request.path !== "/v1/messages") {
        return sendError(res, { status: 404, type: "not_found_error", message: `Not found: ${request.method} ${request.path}` });
      }
      const problem = requestProblem(request, body);
      if (problem) return sendError(res, problem);
      if (reply.kind === "error") {
        const spec = options.errors?.[reply.error] ?? ERRORS[reply.error];
        return sendError(res, spec, reply.retryAfterSeconds, reply.message);
      }
      if (reply.kind === "malformed") {
        res.writeHead(200, { "content-type": body.stream ? "text/event-stream" : "application/json", "request-id": requestId() });
        res.end(body.stream ? "event: message_start\ndata: {not json\n\n" : '{"id": "msg_broken", "type": "message", "content": [');
        return;
      }
      if (body.stream) return sendStream(body, reply, res, options);
      if (reply.kind === "cut" || reply.kind === "stream_error") return cutConnection(res);
      if (reply.kind === "reply") return sendMessage(body, reply, res, options);
    },
  }).start();
}
