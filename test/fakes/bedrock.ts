// A fake Amazon Bedrock Runtime speaking the real wire protocol (../shared/reference/
// provider-wire-protocols.md §5 and §7): HTTP/2 (the SDK's handler speaks h2 even to http://),
// URL-encoded model ids in the path, restJson errors named by `x-amzn-errortype`, and AWS
// event-stream binary frames for converse-stream, with exception frames for in-band errors.
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { FakeUpstream, cutConnection, write, type FakeResponse, type RecordedRequest } from "./server.js";
import {
  echoReply,
  finishOf,
  replyText,
  seededRandom,
  sleep,
  textChunks,
  usageOf,
  type FakeErrorKind,
  type FakeFinish,
  type FakeReply,
  type Reply,
} from "./script.js";

type WireBlock = { text?: string; image?: unknown; toolUse?: unknown; toolResult?: unknown };
type ConverseBody = { messages?: { role: string; content?: WireBlock[] }[]; inferenceConfig?: { stopSequences?: string[] } };

type HttpError = { status: number; type: string; message: string };

export const BEDROCK_ERRORS: Record<FakeErrorKind, HttpError> = {
  rate_limited: { status: 429, type: "ThrottlingException", message: "Too many requests, please wait before trying again." },
  quota: {
    status: 400,
    type: "ServiceQuotaExceededException",
    message: "Your request exceeds the service quota for your account. You can view your quotas at https://docs.aws.amazon.com/bedrock/latest/userguide/quotas.html.",
  },
  overloaded: { status: 429, type: "ModelNotReadyException", message: "Model is not ready to serve inference requests. Try again later." },
  server_error: { status: 500, type: "InternalServerException", message: "The system encountered an unexpected error during processing. Try your request again." },
  context_length: { status: 400, type: "ValidationException", message: "Input is too long for requested model." },
  bad_request: {
    status: 400,
    type: "ValidationException",
    message: "The model returned the following errors: temperature: range: 0..1",
  },
  auth: { status: 403, type: "UnrecognizedClientException", message: "The security token included in the request is invalid." },
  content_filter: { status: 400, type: "ValidationException", message: "This request has been blocked by our content filters." },
};

/**
 * The in-band exception each failure becomes once a stream has started. Credentials are checked
 * before a stream starts, so `auth` has none: it is answered as the HTTP error instead.
 */
const STREAM_EXCEPTIONS: Partial<Record<FakeErrorKind, string>> = {
  rate_limited: "throttlingException",
  quota: "throttlingException",
  overloaded: "serviceUnavailableException",
  server_error: "internalServerException",
  context_length: "validationException",
  bad_request: "validationException",
  content_filter: "validationException",
};

const STOP_REASONS: Record<FakeFinish, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "content_filtered",
};

// Real Bedrock pads every stream event with a field of random length so sizes leak nothing.
const PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456";

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** The path's model id, URL-decoded (ids hold `:`, inference-profile ARNs hold `/`). */
export function bedrockModelId(request: RecordedRequest): string {
  const match = /^\/model\/([^/]+)\//.exec(request.path);
  return match ? decodeURIComponent(match[1]) : "";
}

function operationOf(request: RecordedRequest): string {
  return /^\/model\/[^/]+\/([a-z-]+)$/.exec(request.path)?.[1] ?? "";
}

function lastUserText(body: ConverseBody): string {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  return (user?.content ?? []).map((b) => b.text ?? "").join("");
}

function sendError(res: FakeResponse, error: HttpError, message?: string): void {
  res.writeHead(error.status, {
    "content-type": "application/json",
    "x-amzn-errortype": error.type,
    "x-amzn-requestid": "00000000-fake-4000-8000-000000000000",
  });
  res.end(JSON.stringify({ message: message ?? error.message }));
}

function usageBody(reply: Reply) {
  const u = usageOf(reply);
  const cached = u.cached ?? 0;
  const written = u.cacheWrite ?? 0;
  // Bedrock counts cache reads and writes apart from inputTokens; the neutral FakeUsage.input
  // includes them. Converse does not break reasoning out of outputTokens.
  return {
    inputTokens: u.input - cached - written,
    outputTokens: u.output,
    totalTokens: u.input + u.output,
    ...(cached > 0 || written > 0 ? { cacheReadInputTokens: cached, cacheWriteInputTokens: written } : {}),
  };
}

function sendConverse(reply: Reply, res: FakeResponse): void {
  const text = replyText(reply);
  const content = [
    ...(text !== "" ? [{ text }] : []),
    ...(reply.toolCalls ?? []).map((c) => ({ toolUse: { toolUseId: c.id, name: c.name, input: c.arguments } })),
  ];
  res.writeHead(200, { "content-type": "application/json", "x-amzn-requestid": "00000000-fake-4000-8000-000000000001" });
  res.end(
    JSON.stringify({
      output: { message: { role: "assistant", content } },
      stopReason: STOP_REASONS[finishOf(reply)],
      usage: usageBody(reply),
      metrics: { latencyMs: 42 },
    }),
  );
}

/**
 * Writes event-stream frames. With `fragment`, the bytes go out in small pieces of random size and
 * the tail of each frame is held back until the next one, so frames straddle writes as they can on
 * a real connection.
 */
class FrameWriter {
  private pending = Buffer.alloc(0);
  private readonly random = seededRandom(7);

  constructor(
    private readonly res: FakeResponse,
    private readonly fragment: boolean,
  ) {}

  event(type: string, body: Record<string, unknown>): Promise<void> {
    const padding = PADDING.slice(0, 1 + Math.floor(this.random() * PADDING.length));
    return this.frame({ ":event-type": type, ":message-type": "event" }, { ...body, p: padding });
  }

  exception(type: string, message: string): Promise<void> {
    return this.frame({ ":exception-type": type, ":message-type": "exception" }, { message });
  }

  async frame(names: Record<string, string>, body: unknown): Promise<void> {
    const headers = Object.fromEntries(
      Object.entries({ ...names, ":content-type": "application/json" }).map(([k, v]) => [k, { type: "string" as const, value: v }]),
    );
    const bytes = codec.encode({ headers, body: fromUtf8(JSON.stringify(body)) });
    if (!this.fragment) return write(this.res, bytes);
    const data = Buffer.concat([this.pending, bytes]);
    const hold = Math.floor(this.random() * Math.min(data.length - 1, 20));
    let offset = 0;
    while (offset < data.length - hold) {
      const size = 1 + Math.floor(this.random() * 13);
      const end = Math.min(offset + size, data.length - hold);
      await write(this.res, data.subarray(offset, end));
      offset = end;
    }
    this.pending = Buffer.from(data.subarray(offset));
  }

  async flush(): Promise<void> {
    if (this.pending.length > 0) await write(this.res, this.pending);
    this.pending = Buffer.alloc(0);
  }

  async end(): Promise<void> {
    await this.flush();
    this.res.end();
  }
}

async function sendStream(reply: FakeReply, res: FakeResponse, options: BedrockFakeOptions): Promise<void> {
  const exception = reply.kind === "stream_error" ? (options.streamExceptions?.[reply.error] ?? STREAM_EXCEPTIONS[reply.error]) : undefined;
  if (reply.kind === "stream_error" && exception === undefined) return sendError(res, BEDROCK_ERRORS[reply.error]);
  res.writeHead(200, {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amzn-requestid": "00000000-fake-4000-8000-000000000002",
  });
  const out = new FrameWriter(res, options.fragmentFrames ?? false);
  await out.event("messageStart", { role: "assistant" });
  if (reply.kind === "cut" || reply.kind === "stall") {
    await out.event("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "partial" } });
    await out.flush();
    if (reply.kind === "stall") return; // the client's abort closes it
    await sleep(10);
    return cutConnection(res);
  }
  if (reply.kind === "stream_error" && exception !== undefined) {
    await out.event("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "partial" } });
    await out.exception(exception, BEDROCK_ERRORS[reply.error].message);
    return out.end();
  }
  if (reply.kind !== "reply") throw new Error(`unexpected stream reply ${reply.kind}`);
  let index = 0;
  const chunks = textChunks(reply);
  for (const piece of chunks) {
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    await out.event("contentBlockDelta", { contentBlockIndex: index, delta: { text: piece } });
  }
  if (chunks.length > 0) await out.event("contentBlockStop", { contentBlockIndex: index++ });
  for (const call of reply.toolCalls ?? []) {
    const input = JSON.stringify(call.arguments);
    const half = Math.ceil(input.length / 2);
    await out.event("contentBlockStart", { contentBlockIndex: index, start: { toolUse: { toolUseId: call.id, name: call.name } } });
    await out.event("contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: input.slice(0, half) } } });
    await out.event("contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: input.slice(half) } } });
    await out.event("contentBlockStop", { contentBlockIndex: index++ });
  }
  await out.event("messageStop", { stopReason: STOP_REASONS[finishOf(reply)] });
  await out.event("metadata", { usage: usageBody(reply), metrics: { latencyMs: 42 } });
  await out.end();
}

/** A deterministic vector of `size` numbers from the text, so tests can tell inputs apart. */
function vectorOf(text: string, size: number): number[] {
  return Array.from({ length: size }, (_, i) => (i === 0 ? text.length / 10 : ((text.charCodeAt(i % Math.max(1, text.length)) || 0) % 7) / 7));
}

function sendInvoke(modelId: string, body: Record<string, unknown>, res: FakeResponse): void {
  const ok = (payload: unknown) => {
    res.writeHead(200, { "content-type": "application/json", "x-amzn-bedrock-input-token-count": "3" });
    res.end(JSON.stringify(payload));
  };
  if (modelId.includes("amazon.titan-embed")) {
    const text = String(body.inputText ?? "");
    const size = typeof body.dimensions === "number" ? body.dimensions : 4;
    return ok({ embedding: vectorOf(text, size), inputTextTokenCount: Math.ceil(text.length / 4) + 1 });
  }
  if (modelId.includes("cohere.embed")) {
    const texts = Array.isArray(body.texts) ? body.texts.map(String) : [];
    return ok({ id: "emb-fake-1", response_type: "embeddings_floats", texts, embeddings: texts.map((t) => vectorOf(t, 5)) });
  }
  sendError(res, { status: 400, type: "ValidationException", message: "The provided model identifier is invalid." });
}

export type BedrockFakeOptions = {
  /** Split event-stream frames across many small writes at arbitrary byte boundaries. */
  fragmentFrames?: boolean;
  /** Overrides which in-band exception a `stream_error` becomes (e.g. modelStreamErrorException). */
  streamExceptions?: Partial<Record<FakeErrorKind, string>>;
};

export async function startBedrockFake(options: BedrockFakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream({
    http2: true,
    defaultReply: (request) => echoReply(lastUserText((request.body ?? {}) as ConverseBody)),
    async render(request: RecordedRequest, reply: FakeReply, res: FakeResponse) {
      const operation = operationOf(request);
      if (reply.kind === "reply" && reply.delayMs) await sleep(reply.delayMs);
      if (reply.kind === "error") return sendError(res, BEDROCK_ERRORS[reply.error], reply.message);
      if (!["converse", "converse-stream", "invoke"].includes(operation)) {
        return sendError(res, { status: 404, type: "UnknownOperationException", message: "" });
      }
      if (reply.kind === "malformed") {
        if (operation !== "converse-stream") {
          res.writeHead(200, { "content-type": "application/json" });
          return void res.end('{"output": {"message": {"role": "assistant", "content": [');
        }
        res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream" });
        return void res.end(Buffer.from("00000010deadbeefnot an event-stream frame"));
      }
      if (operation === "converse-stream") return sendStream(reply, res, options);
      if (reply.kind === "cut" || reply.kind === "stream_error") return cutConnection(res);
      if (operation === "invoke") return sendInvoke(bedrockModelId(request), (request.body ?? {}) as Record<string, unknown>, res);
      if (reply.kind === "reply") return sendConverse(reply, res);
    },
  }).start();
}
