// A fake Gemini API (v1beta) speaking the real wire protocol
// (../shared/reference/provider-wire-protocols.md §4): `models/{model}:generateContent`,
// `:streamGenerateContent?alt=sse` (single-line `data:` events, no [DONE], usage as a running
// total), `:batchEmbedContents`, and Google's error bodies (google.rpc.Status with RetryInfo,
// QuotaFailure and ErrorInfo details). A missing x-goog-api-key is refused like the real API.
import { FakeUpstream, cutConnection, write, type FakeResponse, type RecordedRequest } from "./server.js";
import {
  echoReply,
  finishOf,
  replyText,
  sleep,
  textChunks,
  usageOf,
  type FakeErrorKind,
  type FakeFinish,
  type FakeReply,
  type Reply,
} from "./script.js";

type WirePart = { text?: string; thought?: boolean; functionCall?: unknown; functionResponse?: unknown };
type WireBody = { contents?: { role?: string; parts?: WirePart[] }[]; requests?: { content?: { parts?: WirePart[] } }[] };

const TYPE = "type.googleapis.com/google.rpc.";

function quotaFailure(quotaId: string, metric: string, value: string) {
  return {
    "@type": `${TYPE}QuotaFailure`,
    violations: [{ quotaMetric: metric, quotaId, quotaDimensions: { location: "global", model: "gemini-2.0-flash" }, quotaValue: value }],
  };
}

const HELP = { "@type": `${TYPE}Help`, links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }] };

type ErrorShape = { code: number; status: string; message: string; details?: Record<string, unknown>[] };

function errorShape(kind: Exclude<FakeErrorKind, "content_filter">, retryAfterSeconds?: number): ErrorShape {
  const retryInfo = (seconds: number) => ({ "@type": `${TYPE}RetryInfo`, retryDelay: `${seconds}s` });
  switch (kind) {
    case "rate_limited":
      return {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message:
          "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_paid_tier_requests, limit: 2000, model: gemini-2.0-flash",
        details: [
          quotaFailure("GenerateRequestsPerMinutePerProjectPerModel", "generativelanguage.googleapis.com/generate_content_paid_tier_requests", "2000"),
          HELP,
          ...(retryAfterSeconds !== undefined ? [retryInfo(retryAfterSeconds)] : []),
        ],
      };
    case "quota":
      // The real API adds a RetryInfo to daily-quota errors too; only the quota window tells them apart.
      return {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message:
          "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, model: gemini-2.0-flash\nPlease retry in 41.2s.",
        details: [
          quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "generativelanguage.googleapis.com/generate_content_free_tier_requests", "250"),
          HELP,
          retryInfo(retryAfterSeconds ?? 41),
        ],
      };
    case "overloaded":
      return { code: 503, status: "UNAVAILABLE", message: "The model is overloaded. Please try again later." };
    case "server_error":
      return {
        code: 500,
        status: "INTERNAL",
        message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
      };
    case "context_length":
      return {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: "The input token count (1199950) exceeds the maximum number of tokens allowed (1048576).",
      };
    case "bad_request":
      return {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"",
        details: [{ "@type": `${TYPE}BadRequest`, fieldViolations: [{ field: "generation_config.temperature", description: "Invalid value" }] }],
      };
    case "auth":
      return {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: "API key not valid. Please pass a valid API key.",
        details: [
          { "@type": `${TYPE}ErrorInfo`, reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
          { "@type": `${TYPE}LocalizedMessage`, locale: "en-US", message: "API key not valid. Please pass a valid API key." },
        ],
      };
  }
}

function sendStatus(res: FakeResponse, shape: ErrorShape, message?: string): void {
  res.writeHead(shape.code, { "content-type": "application/json; charset=UTF-8", vary: "Origin" });
  res.end(JSON.stringify({ error: { ...shape, message: message ?? shape.message } }, null, 2));
}

function lastUserText(body: WireBody | undefined): string {
  const user = [...(body?.contents ?? [])].reverse().find((c) => c.role === "user" && c.parts?.some((p) => typeof p.text === "string"));
  return (user?.parts ?? []).map((p) => p.text ?? "").join("");
}

const FINISH: Record<FakeFinish, string> = { stop: "STOP", length: "MAX_TOKENS", tool_calls: "STOP", content_filter: "SAFETY" };

const BLOCKED_RATINGS = [
  { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true },
  { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" },
];

export type GeminiFakeOptions = {
  /** Give function calls an id (newer models do; most answers carry none). */
  functionCallIds?: boolean;
  /** Thinking tokens to report in usageMetadata.thoughtsTokenCount. */
  thoughtsTokenCount?: number;
};

function usageMetadata(reply: Reply, options: GeminiFakeOptions, share = 1) {
  const u = usageOf(reply);
  // FakeUsage.output includes its reasoning; Gemini reports thoughts apart from the candidates.
  // The thoughtsTokenCount option adds thoughts on top of FakeUsage.output.
  const reasoning = u.reasoning ?? 0;
  const candidates = Math.round((u.output - reasoning) * share);
  const thoughts = reasoning + (options.thoughtsTokenCount ?? 0);
  return {
    promptTokenCount: u.input,
    candidatesTokenCount: candidates,
    totalTokenCount: u.input + candidates + thoughts,
    ...(u.cached ? { cachedContentTokenCount: u.cached } : {}),
    ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
    promptTokensDetails: [{ modality: "TEXT", tokenCount: u.input }],
  };
}

function functionCallParts(reply: Reply, options: GeminiFakeOptions) {
  return (reply.toolCalls ?? []).map((c) => ({
    functionCall: { ...(options.functionCallIds ? { id: c.id } : {}), name: c.name, args: c.arguments },
    ...(c.signature ? { thoughtSignature: c.signature } : {}),
  }));
}

function candidate(parts: unknown[], finish?: FakeFinish) {
  if (finish === "content_filter") return { finishReason: "SAFETY", index: 0, safetyRatings: BLOCKED_RATINGS };
  return { content: { parts, role: "model" }, ...(finish ? { finishReason: FINISH[finish] } : {}), index: 0 };
}

function envelope(body: Record<string, unknown>, model: string) {
  return { ...body, modelVersion: model, responseId: "fakeResp_7d1sQ" };
}

function blockedPrompt(model: string) {
  return envelope(
    {
      promptFeedback: { blockReason: "SAFETY", safetyRatings: BLOCKED_RATINGS },
      usageMetadata: { promptTokenCount: 8, totalTokenCount: 8, promptTokensDetails: [{ modality: "TEXT", tokenCount: 8 }] },
    },
    model,
  );
}

function sendJson(res: FakeResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json; charset=UTF-8", vary: "Origin" });
  res.end(JSON.stringify(body, null, 2));
}

function sendCompletion(reply: Reply, res: FakeResponse, model: string, options: GeminiFakeOptions): void {
  const text = replyText(reply);
  const parts = [...(text ? [{ text }] : []), ...functionCallParts(reply, options)];
  sendJson(res, envelope({ candidates: [candidate(parts, finishOf(reply))], usageMetadata: usageMetadata(reply, options) }, model));
}

async function sendStream(reply: FakeReply, res: FakeResponse, model: string, options: GeminiFakeOptions): Promise<void> {
  const event = (body: unknown) => write(res, `data: ${JSON.stringify(body)}\r\n\r\n`);
  res.writeHead(200, { "content-type": "text/event-stream", "x-content-type-options": "nosniff" });
  if (reply.kind === "cut" || reply.kind === "stream_error" || reply.kind === "stall") {
    const partial = { kind: "reply" as const, text: "partial" };
    await event(envelope({ candidates: [candidate([{ text: "partial" }])], usageMetadata: usageMetadata(partial, options, 0.5) }, model));
    if (reply.kind === "stall") return; // the client's abort closes it
    await sleep(10);
    if (reply.kind === "cut") return cutConnection(res);
    if (reply.error === "content_filter") await event(blockedPrompt(model));
    else {
      const shape = errorShape(reply.error);
      await event({ error: { code: shape.code, message: shape.message, status: shape.status } });
    }
    res.end();
    return;
  }
  if (reply.kind === "error") {
    await event(blockedPrompt(model));
    res.end();
    return;
  }
  if (reply.kind !== "reply") throw new Error(`unexpected stream reply ${reply.kind}`);
  // Each event is one piece of text; function calls come whole, after the text; the last event
  // carries the finish reason. usageMetadata is the running total so far on every event.
  const pieces: unknown[][] = textChunks(reply).map((text) => [{ text }]);
  const calls = functionCallParts(reply, options);
  if (calls.length > 0) pieces.push(calls);
  if (pieces.length === 0) pieces.push([]);
  for (const [i, parts] of pieces.entries()) {
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    const last = i === pieces.length - 1;
    const body = { candidates: [candidate(parts, last ? finishOf(reply) : undefined)], usageMetadata: usageMetadata(reply, options, (i + 1) / pieces.length) };
    await event(envelope(body, model));
  }
  res.end();
}

function sendEmbeddings(body: WireBody, res: FakeResponse): void {
  const requests = body.requests ?? [];
  const embeddings = requests.map((r) => {
    const text = (r.content?.parts ?? []).map((p) => p.text ?? "").join("");
    return { values: [text.length / 10, 0.5, -0.25, 0.125] };
  });
  sendJson(res, { embeddings });
}

/** `/v1beta/models/gemini-2.0-flash:generateContent` → ["gemini-2.0-flash", "generateContent"]. */
function route(path: string): { model: string; method: string } | undefined {
  const match = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/.exec(path);
  return match ? { model: decodeURIComponent(match[1]), method: match[2] } : undefined;
}

export async function startGeminiFake(options: GeminiFakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream({
    defaultReply: (request) => echoReply(lastUserText(request.body as WireBody)),
    async render(request: RecordedRequest, reply: FakeReply, res: FakeResponse) {
      const body = (request.body ?? {}) as WireBody;
      const target = route(request.path);
      if (reply.kind === "reply" && reply.delayMs) await sleep(reply.delayMs);
      if (typeof request.headers["x-goog-api-key"] !== "string") {
        return sendStatus(res, {
          code: 403,
          status: "PERMISSION_DENIED",
          message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        });
      }
      if (!target || !["generateContent", "streamGenerateContent", "batchEmbedContents"].includes(target.method)) {
        return sendStatus(res, { code: 404, status: "NOT_FOUND", message: `models/${target?.model ?? "?"} is not found for API version v1beta, or is not supported for ${target?.method ?? request.path}.` });
      }
      const streaming = target.method === "streamGenerateContent";
      if (streaming && request.query.get("alt") !== "sse") {
        return sendStatus(res, { code: 400, status: "INVALID_ARGUMENT", message: "this fake serves streams as SSE only (alt=sse)" });
      }
      const model = reply.kind === "reply" && reply.model ? reply.model : `${target.model}-001`;
      if (reply.kind === "error" && reply.error !== "content_filter") {
        return sendStatus(res, errorShape(reply.error, reply.retryAfterSeconds), reply.message);
      }
      if (target.method === "batchEmbedContents") return sendEmbeddings(body, res);
      if (reply.kind === "malformed") {
        res.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json; charset=UTF-8" });
        res.end(streaming ? "data: {not json\r\n\r\n" : '{"candidates": [{"content": {"parts": [');
        return;
      }
      if (streaming) return sendStream(reply, res, model, options);
      if (reply.kind === "cut" || reply.kind === "stream_error") return cutConnection(res);
      // Gemini has no refusal error: a blocked prompt is a 200 with promptFeedback and no candidates.
      if (reply.kind === "error") return sendJson(res, blockedPrompt(model));
      if (reply.kind === "reply") return sendCompletion(reply, res, model, options);
    },
  }).start();
}
