// A fake SageMaker Runtime (../shared/reference/provider-wire-protocols.md §6, §7) over HTTP/1.1:
// `POST /endpoints/{name}/invocations` and `/invocations-response-stream`, with a container behind
// it that speaks either the OpenAI chat schema (LMI / vLLM) or TGI's `inputs` schema, chosen by
// the request body's shape. Streams are AWS event-stream PayloadPart frames whose raw bytes cut
// the container's lines at arbitrary offsets; errors carry `x-amzn-errortype` and SageMaker's
// bodies, a container's own failure arriving as ModelError 424 with OriginalStatusCode.
import { EventStreamCodec, type MessageHeaders } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { FakeUpstream, cutConnection, write, type FakeResponse, type RecordedRequest } from "./server.js";
import { echoReply, finishOf, sleep, textChunks, usageOf, type FakeErrorKind, type FakeReply, type Reply } from "./script.js";

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const ACCOUNT = "123456789012";

type ChatBody = { messages?: { role: string; content: unknown }[]; stream?: boolean };
type TgiBody = { inputs?: string; parameters?: { stop?: string[] }; stream?: boolean };
type Container = "openai" | "tgi";

export type SageMakerFakeOptions = {
  /** The container reports no usage (openai format). */
  omitUsage?: boolean;
  /** Sizes of the PayloadPart byte slices, used in turn; default a mix of small odd sizes. */
  partSizes?: number[];
  /** TGI streams: the final event carries generated_text but no `details` (containers differ). */
  omitDetails?: boolean;
};

function containerOf(body: unknown): Container {
  return typeof (body as TgiBody | undefined)?.inputs === "string" ? "tgi" : "openai";
}

function lastUserText(body: unknown): string {
  if (containerOf(body) === "tgi") {
    // The adapter's template: `<|user|>\n<text>\n` turns; the last one is the question.
    const turns = ((body as TgiBody).inputs ?? "").split(/^<\|user\|>\n/m);
    return turns.length > 1 ? turns.at(-1)!.split(/\n<\|[a-z]+\|>\n/)[0] : "";
  }
  const user = [...((body as ChatBody | undefined)?.messages ?? [])].reverse().find((m) => m.role === "user");
  if (typeof user?.content === "string") return user.content;
  if (Array.isArray(user?.content)) return user.content.map((p: { text?: string }) => p.text ?? "").join("");
  return "";
}

// ---- errors -------------------------------------------------------------------------------------

type ErrorShape = { status: number; type: string; body: Record<string, unknown> };

function modelError(endpoint: string, originalStatus: number, originalMessage: string): ErrorShape {
  const side = originalStatus >= 500 ? "server" : "client";
  return {
    status: 424,
    type: "ModelError",
    body: {
      ErrorCode: `${side.toUpperCase()}_ERROR_FROM_MODEL`,
      LogStreamArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${endpoint}`,
      Message: `Received ${side} error (${originalStatus}) from primary with message "${originalMessage}". See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/${endpoint} in account ${ACCOUNT} for more information.`,
      OriginalMessage: originalMessage,
      OriginalStatusCode: originalStatus,
    },
  };
}

function containerError(container: Container, status: number, message: string, type: string): string {
  return container === "tgi"
    ? JSON.stringify({ error: message, error_type: type })
    : JSON.stringify({ object: "error", message, type, param: null, code: status });
}

function errorShape(kind: FakeErrorKind, container: Container, endpoint: string, message?: string): ErrorShape {
  const plain = (status: number, type: string, text: string): ErrorShape => ({ status, type, body: { message: message ?? text } });
  switch (kind) {
    // AWS JSON services answer throttling as 400 + the error type; SageMaker sends no Retry-After.
    case "rate_limited":
      return plain(400, "ThrottlingException", "Rate exceeded");
    // SageMaker has no per-call quota; the nearest real shape is the container's own 429.
    case "quota":
      return modelError(endpoint, 429, containerError(container, 429, message ?? "Request limit exceeded for this model server", "too_many_requests"));
    case "overloaded":
      return plain(429, "ModelNotReadyException", "Model for endpoint is not ready yet. Please retry after some time.");
    case "server_error":
      return plain(500, "InternalFailure", "An internal error occurred.");
    case "context_length": {
      const text =
        container === "tgi"
          ? "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`"
          : "This model's maximum context length is 4096 tokens. However, you requested 4200 tokens in the messages.";
      return modelError(endpoint, 400, containerError(container, 400, message ?? text, container === "tgi" ? "validation" : "BadRequestError"));
    }
    case "bad_request":
      return plain(400, "ValidationError", "1 validation error detected: Value at 'contentType' failed to satisfy constraint");
    case "auth":
      return plain(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
    case "content_filter":
      return modelError(endpoint, 400, containerError(container, 400, message ?? "The prompt was rejected by the model server's guardrail", "content_filter"));
  }
}

function sendError(res: FakeResponse, shape: ErrorShape): void {
  res.writeHead(shape.status, {
    "content-type": "application/json",
    "x-amzn-requestid": "5c1e5e0b-fake-4d7e-9f0a-000000000001",
    "x-amzn-errortype": `${shape.type}:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/`,
  });
  res.end(JSON.stringify(shape.body));
}

// ---- unary --------------------------------------------------------------------------------------

function toolCallsOf(reply: Reply) {
  return (reply.toolCalls ?? []).map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
}

function openAIUsage(reply: Reply) {
  const u = usageOf(reply);
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0 },
    ...(u.reasoning !== undefined ? { completion_tokens_details: { reasoning_tokens: u.reasoning } } : {}),
  };
}

function tgiFinish(reply: Reply): string {
  return finishOf(reply) === "length" ? "length" : "eos_token";
}

function unaryBody(container: Container, reply: Reply, omitUsage: boolean): unknown {
  const text = reply.chunks ? reply.chunks.join("") : (reply.text ?? "");
  if (container === "tgi") {
    const details = { finish_reason: tgiFinish(reply), generated_tokens: usageOf(reply).output, seed: null, prefill: [], tokens: [] };
    return [{ generated_text: text, details }];
  }
  const toolCalls = toolCallsOf(reply);
  return {
    id: "chatcmpl-sm-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: reply.model ?? "/opt/ml/model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: text === "" && toolCalls.length ? null : text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: finishOf(reply),
      },
    ],
    ...(omitUsage ? {} : { usage: openAIUsage(reply) }),
  };
}

// ---- streams ------------------------------------------------------------------------------------

function frame(headers: Record<string, string>, body: Uint8Array): Uint8Array {
  const wire: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) wire[name] = { type: "string", value };
  return codec.encode({ headers: wire, body });
}

/** Cuts the container's byte stream into PayloadPart frames of the configured sizes. */
class PayloadParts {
  private pending = Buffer.alloc(0);
  private turn = 0;
  constructor(
    private readonly res: FakeResponse,
    private readonly sizes: number[],
  ) {}

  async push(text: string): Promise<void> {
    this.pending = Buffer.concat([this.pending, Buffer.from(text, "utf8")]);
    for (let size = this.nextSize(); this.pending.length >= size; size = this.nextSize()) {
      await this.send(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
      this.turn++;
    }
  }

  /** Sends what is buffered (before a pause, so the client sees the event now, and at the end). */
  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.send(this.pending);
    this.pending = Buffer.alloc(0);
  }

  private nextSize(): number {
    return Math.max(1, this.sizes[this.turn % this.sizes.length]);
  }

  private send(bytes: Uint8Array): Promise<void> {
    const headers = { ":event-type": "PayloadPart", ":message-type": "event", ":content-type": "application/octet-stream" };
    return write(this.res, frame(headers, Uint8Array.from(bytes)));
  }
}

/** The container's stream as lines of text, with the pauses the reply asks for. */
type StreamStep = { text: string } | { pause: number };

function openAIStream(reply: Reply, omitUsage: boolean): StreamStep[] {
  const base = { id: "chatcmpl-sm-1", object: "chat.completion.chunk", created: 1_700_000_000, model: reply.model ?? "/opt/ml/model" };
  const event = (choices: unknown[], usage: unknown = null): StreamStep => ({ text: `data: ${JSON.stringify({ ...base, choices, usage })}\n\n` });
  const steps: StreamStep[] = [event([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])];
  for (const piece of textChunks(reply)) {
    if (reply.chunkDelayMs) steps.push({ pause: reply.chunkDelayMs });
    steps.push(event([{ index: 0, delta: { content: piece }, finish_reason: null }]));
  }
  for (const [index, call] of toolCallsOf(reply).entries()) {
    const args = call.function.arguments;
    const half = Math.ceil(args.length / 2);
    steps.push(event([{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, finish_reason: null }]));
    steps.push(event([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] }, finish_reason: null }]));
    steps.push(event([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, finish_reason: null }]));
  }
  steps.push(event([{ index: 0, delta: {}, finish_reason: finishOf(reply) }]));
  if (!omitUsage) steps.push(event([], openAIUsage(reply)));
  steps.push({ text: "data: [DONE]\n\n" });
  return steps;
}

function tgiLine(index: number, text: string, special: boolean, generated: string | null, details: unknown): { text: string } {
  const token = { id: 1000 + index, text, logprob: -0.25, special };
  return { text: `data:${JSON.stringify({ index, token, generated_text: generated, details })}\n\n` };
}

function tgiStream(reply: Reply, omitDetails: boolean): StreamStep[] {
  const pieces = textChunks(reply);
  const summary = { finish_reason: tgiFinish(reply), generated_tokens: usageOf(reply).output, seed: null };
  const details = omitDetails ? null : summary;
  const full = pieces.join("");
  const steps: StreamStep[] = [];
  pieces.forEach((piece, i) => {
    if (reply.chunkDelayMs) steps.push({ pause: reply.chunkDelayMs });
    const last = i === pieces.length - 1 && summary.finish_reason === "length";
    steps.push(tgiLine(i + 1, piece, false, last ? full : null, last ? details : null));
  });
  // An end-of-sequence stop ends on the special EOS token, which carries the summary.
  if (summary.finish_reason !== "length") steps.push(tgiLine(pieces.length + 1, "</s>", true, full, details));
  return steps;
}

function partialStep(container: Container): { text: string } {
  return container === "tgi"
    ? tgiLine(1, "partial", false, null, null)
    : { text: `data: ${JSON.stringify({ id: "chatcmpl-sm-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "/opt/ml/model", choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }] })}\n\n` };
}

async function sendStream(container: Container, reply: FakeReply, res: FakeResponse, options: SageMakerFakeOptions): Promise<void> {
  res.writeHead(200, {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amzn-sagemaker-content-type": "text/event-stream",
    "x-amzn-invoked-production-variant": "AllTraffic",
    "x-amzn-requestid": "5c1e5e0b-fake-4d7e-9f0a-000000000002",
  });
  const parts = new PayloadParts(res, options.partSizes ?? [7, 13, 3, 29, 1, 17]);
  if (reply.kind === "malformed") {
    await parts.push("data: {not json\n\n");
    await parts.flush();
    res.end();
    return;
  }
  if (reply.kind === "cut" || reply.kind === "stream_error" || reply.kind === "stall") {
    await parts.push(partialStep(container).text);
    await parts.flush();
    if (reply.kind === "stall") return; // the client's abort closes it
    await sleep(10);
    if (reply.kind === "cut") return cutConnection(res);
    const headers = { ":message-type": "exception", ":exception-type": "ModelStreamError", ":content-type": "application/json" };
    const body = { Message: "Your model server has encountered an error while streaming the response.", ErrorCode: "ModelStreamError" };
    await write(res, frame(headers, fromUtf8(JSON.stringify(body))));
    res.end();
    return;
  }
  if (reply.kind !== "reply") throw new Error(`unexpected stream reply ${reply.kind}`);
  const steps = container === "tgi" ? tgiStream(reply, options.omitDetails ?? false) : openAIStream(reply, options.omitUsage ?? false);
  for (const step of steps) {
    if ("pause" in step) {
      await parts.flush();
      await sleep(step.pause);
    } else {
      await parts.push(step.text);
    }
  }
  await parts.flush();
  res.end();
}

// ---- server -------------------------------------------------------------------------------------

const ROUTE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)$/;

export type SageMakerFake = FakeUpstream & {
  /** The next request fails as the container failing: ModelError 424 carrying its status and body. */
  failWithModelError(originalStatus: number, originalMessage: string): void;
};

/** `options` is read at every request, so a test may change partSizes between calls. */
export async function startSageMakerFake(options: SageMakerFakeOptions = {}): Promise<SageMakerFake> {
  const modelErrors: { status: number; message: string }[] = [];
  const fake = await new FakeUpstream({
    defaultReply: (request) => echoReply(lastUserText(request.body)),
    async render(request: RecordedRequest, reply: FakeReply, res: FakeResponse) {
      const route = ROUTE.exec(request.path);
      if (request.method !== "POST" || !route) {
        return sendError(res, { status: 404, type: "UnknownOperationException", body: { message: `Unknown operation ${request.method} ${request.path}` } });
      }
      const endpoint = decodeURIComponent(route[1]);
      const container = containerOf(request.body);
      const failure = modelErrors.shift();
      if (failure) return sendError(res, modelError(endpoint, failure.status, failure.message));
      if (reply.kind === "reply" && reply.delayMs) await sleep(reply.delayMs);
      if (reply.kind === "error") return sendError(res, errorShape(reply.error, container, endpoint, reply.message));
      if (route[2] === "invocations-response-stream") return sendStream(container, reply, res, options);
      if (reply.kind === "malformed") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(container === "tgi" ? '[{"generated_text": "Hel' : '{"id": "chatcmpl-broken", "choices": [');
        return;
      }
      if (reply.kind === "cut" || reply.kind === "stream_error") return cutConnection(res);
      if (reply.kind === "reply") {
        res.writeHead(200, {
          "content-type": "application/json",
          "x-amzn-invoked-production-variant": String(request.headers["x-amzn-sagemaker-target-variant"] ?? "AllTraffic"),
          "x-amzn-requestid": "5c1e5e0b-fake-4d7e-9f0a-000000000003",
        });
        res.end(JSON.stringify(unaryBody(container, reply, options.omitUsage ?? false)));
      }
    },
  }).start();
  return Object.assign(fake, {
    failWithModelError(status: number, message: string) {
      modelErrors.push({ status, message });
    },
  });
}
