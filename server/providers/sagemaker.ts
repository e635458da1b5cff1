// Amazon SageMaker real-time endpoints through @aws-sdk/client-sagemaker-runtime. SageMaker
// itself only carries bytes: the body is whatever the container behind the endpoint speaks, so
// the wire mapping is a payload format chosen in the config:
// - "openai": the OpenAI chat schema, understood by LMI (DJL) containers, vLLM containers and
//   TGI ≥ 2 (its /invocations route takes `messages` too). Built with openai-wire.ts.
// - "tgi": Hugging Face TGI's native `inputs` + `parameters` schema (sagemaker-tgi.ts).
// Streams arrive as PayloadPart events cut at arbitrary byte offsets; LineSplitter re-joins them.
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
  type ResponseStream,
} from "@aws-sdk/client-sagemaker-runtime";
import { UpstreamError, upstreamErrorFromHttp, upstreamErrorFromUnknown } from "../core/errors.js";
import { redact } from "../core/redact.js";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { UpstreamTarget } from "./provider.js";
import type { Completion, CompletionRequest, StreamEvent } from "../core/types.js";
import { LineSplitter } from "./line-splitter.js";
import { ChatStreamDecoder, buildChatBody, completionFromChat, streamingChatBody } from "./openai-wire.js";
import { SDK_TIMEOUT_MS, streamEndedEarly, throwIfAborted, type ProviderAdapter, type ProviderFactory } from "./provider.js";
import { tgiPayload } from "./sagemaker-tgi.js";

// The AWS SDK v3 has no default region (its first call would fail with "Region is missing"), so
// after the config and AWS_REGION the adapter falls back to us-east-1, AWS's conventional default.
// Endpoints are regional: real configs set `region`.
const DEFAULT_REGION = "us-east-1";

export type DoneEvent = Extract<StreamEvent, { type: "done" }>;

/** One line-oriented stream from the container, decoded into neutral events. */
export interface PayloadStreamDecoder {
  /** One complete line of the container's streamed body. */
  line(line: string): StreamEvent[];
  /** The final event, or undefined when the container never said it had finished. */
  finish(): DoneEvent | undefined;
}

/** How requests and answers look inside SageMaker's opaque body, for one container family. */
export interface PayloadCodec {
  /** The JSON request body; throws UpstreamError("invalid_request") for what the format cannot carry. */
  body(request: CompletionRequest, stream: boolean): unknown;
  completion(response: unknown, request: CompletionRequest): Completion;
  streamDecoder(request: CompletionRequest): PayloadStreamDecoder;
}

function openAIPayload(provider: string): PayloadCodec {
  // The body carries no `model`: the endpoint (EndpointName) already names it. LMI documents the
  // field as optional and ignores it; vLLM accepts a missing model but rejects one that differs
  // from its served model name, which an endpoint name usually does.
  const withoutModel = <T extends { model: string }>({ model: _endpoint, ...body }: T) => body;
  return {
    body(request, stream) {
      const wire = { maxTokensField: "max_tokens" } as const;
      return withoutModel(stream ? streamingChatBody(request, "", wire) : buildChatBody(request, "", wire));
    },

    completion(response, request) {
      const chat = response as ChatCompletion | null;
      if (!chat || typeof chat !== "object" || !Array.isArray(chat.choices)) {
        throw new UpstreamError("malformed", provider, `provider "${provider}" answered without choices`);
      }
      return completionFromChat(chat, request);
    },

    streamDecoder(request) {
      const decoder = new ChatStreamDecoder(request);
      let sawFinish = false;
      return {
        line(line) {
          // SSE (`data: {...}`, `data: [DONE]`) from vLLM and TGI; LMI's jsonlines formatter sends the
          // same chunks without the `data:` prefix. Other SSE fields and comments carry nothing here.
          const data = line.startsWith("data:") ? line.slice(5).trim() : line.trim();
          if (data === "" || data === "[DONE]" || !data.startsWith("{")) return [];
          const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
          if (chunk.error !== undefined || (chunk.object as string) === "error") {
            // An in-band error in a 200 stream: no HTTP status is left to tell what it was.
            const detail = JSON.stringify(chunk.error ?? chunk);
            const kind = /rate.?limit|too many requests/i.test(detail) ? "rate_limited" : "unavailable";
            throw new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream`);
          }
          if (chunk.choices?.some((c) => c.finish_reason)) sawFinish = true;
          return decoder.push(chunk);
        },
        finish: () => (sawFinish ? decoder.finish() : undefined),
      };
    },
  };
}

// Containers' own wording for "the prompt does not fit" (TGI's validation errors, for one), which
// the shared table's hints do not cover.
const CONTAINER_CONTEXT_HINTS = /`inputs` tokens|`inputs` must have less than|max_total_tokens|max_input_(tokens|length)/i;
const AUTH_ERRORS =
  /^(UnrecognizedClientException|InvalidSignatureException|IncompleteSignature|MissingAuthenticationToken|InvalidClientTokenId|ExpiredToken(Exception)?|AccessDenied(Exception)?|NotAuthorized|CredentialsProviderError)$/;

/** The error type or code inside a container's JSON error body (OpenAI, vLLM and TGI shapes). */
function containerErrorCode(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { type?: unknown; code?: unknown } | string; type?: unknown; error_type?: unknown };
    const nested = typeof parsed.error === "object" && parsed.error !== null ? parsed.error : {};
    return [nested.type, nested.code, parsed.type, parsed.error_type].filter((v) => typeof v === "string").join(" ");
  } catch {
    return "";
  }
}

function classify(provider: string, error: unknown, signal: AbortSignal): never {
  throwIfAborted(signal);
  const name = error instanceof Error ? error.name : "";
  if (AUTH_ERRORS.test(name)) throw upstreamErrorFromHttp(provider, 403, "", { code: name });
  if (name === "ModelStreamError" || name === "InternalStreamFailure") {
    const code = (error as { ErrorCode?: string }).ErrorCode;
    throw new UpstreamError("unavailable", provider, `provider "${provider}" failed mid-stream: ${name}${code ? ` (${code})` : ""}`);
  }
  if (!(error instanceof SageMakerRuntimeServiceException)) throw upstreamErrorFromUnknown(provider, error);
  const status = error.$metadata.httpStatusCode ?? 500;
  const message = error.message;
  if (error instanceof ModelError) {
    // The container answered an error; SageMaker relays it as 424 with the container's own status.
    const original = error.OriginalStatusCode;
    if (original === undefined || original < 400) {
      throw new UpstreamError("unavailable", provider, `provider "${provider}" endpoint's model failed: ${redact(message).slice(0, 300)}`);
    }
    const originalMessage = error.OriginalMessage ?? message;
    const hint = original === 400 && CONTAINER_CONTEXT_HINTS.test(originalMessage) ? "context_length" : "";
    const code = [name, containerErrorCode(originalMessage), hint].filter(Boolean).join(" ");
    throw upstreamErrorFromHttp(provider, original, originalMessage, { code });
  }
  switch (name) {
    case "ValidationError":
      // A missing endpoint is reported as a validation error ("Endpoint x of account y not found.").
      if (/endpoint .* not found/i.test(message)) throw upstreamErrorFromHttp(provider, 404, message, { code: name });
      throw upstreamErrorFromHttp(provider, 400, message, { code: name });
    case "ModelNotReadyException":
      throw new UpstreamError("overloaded", provider, `provider "${provider}" endpoint's model is not ready: ${redact(message).slice(0, 200)}`, { status });
    case "ThrottlingException":
      throw upstreamErrorFromHttp(provider, 429, message, { code: name });
    case "InternalFailure":
    case "ServiceUnavailable":
    case "InternalDependencyException":
      throw new UpstreamError("unavailable", provider, `provider "${provider}" answered HTTP ${status} ${name}`, { status });
    default:
      throw upstreamErrorFromHttp(provider, status, message, { code: name });
  }
}

function targetHeaders(target: UpstreamTarget) {
  return {
    ...(target.targetVariant ? { TargetVariant: target.targetVariant } : {}),
    ...(target.inferenceComponent ? { InferenceComponentName: target.inferenceComponent } : {}),
    ...(target.customAttributes ? { CustomAttributes: target.customAttributes } : {}),
  };
}

/**
 * The signal for one upstream call: the caller's, plus the provider's own timeout until the
 * response starts, plus an abort when a stream's consumer stops reading early.
 */
class CallSignal {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  timedOut = false;
  private readonly onCallerAbort = () => this.controller.abort(this.caller.reason);

  constructor(
    private readonly caller: AbortSignal,
    timeoutMs: number,
  ) {
    if (caller.aborted) this.controller.abort(caller.reason);
    else caller.addEventListener("abort", this.onCallerAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error("upstream timeout"));
    }, timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  responded(): void {
    clearTimeout(this.timer);
  }

  release(abortUpstream: boolean): void {
    clearTimeout(this.timer);
    this.caller.removeEventListener("abort", this.onCallerAbort);
    if (abortUpstream) this.controller.abort(new Error("stream consumer stopped"));
  }
}

function fail(provider: string, error: unknown, call: CallSignal, signal: AbortSignal): never {
  throwIfAborted(signal);
  if (call.timedOut) throw new UpstreamError("timeout", provider, `provider "${provider}" timed out`);
  classify(provider, error, signal);
}

function parseJson(provider: string, bytes: Uint8Array | undefined): unknown {
  if (!bytes || bytes.length === 0) {
    throw new UpstreamError("malformed", provider, `provider "${provider}" answered with an empty body`);
  }
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
}

export const createSageMakerProvider: ProviderFactory<"sagemaker"> = (name, config, { transport }) => {
  if (Boolean(config.access_key_id) !== Boolean(config.secret_access_key)) {
    throw new Error(`providers.${name}: access_key_id and secret_access_key must be given together`);
  }
  const client = new SageMakerRuntimeClient({
    region: config.region ?? process.env.AWS_REGION ?? DEFAULT_REGION,
    ...(config.base_url ? { endpoint: config.base_url } : {}),
    // Without explicit keys the SDK's default chain applies (env, profile, SSO, instance role).
    ...(config.access_key_id && config.secret_access_key
      ? {
          credentials: {
            accessKeyId: config.access_key_id,
            secretAccessKey: config.secret_access_key,
            ...(config.session_token ? { sessionToken: config.session_token } : {}),
          },
        }
      : {}),
    maxAttempts: 1,
    requestHandler: transport.awsHttp1Handler(),
  });
  const codec = config.payload_format === "tgi" ? tgiPayload(name) : openAIPayload(name);
  const timeoutMs = config.timeout_ms ?? SDK_TIMEOUT_MS;

  const request = (completion: CompletionRequest, target: UpstreamTarget, stream: boolean) => ({
    EndpointName: target.model,
    Body: Buffer.from(JSON.stringify(codec.body(completion, stream))),
    ContentType: "application/json",
    ...targetHeaders(target),
  });

  const adapter: ProviderAdapter = {
    name,
    type: "sagemaker",

    async complete(completion, target, signal): Promise<Completion> {
      const call = new CallSignal(signal, timeoutMs);
      try {
        const command = new InvokeEndpointCommand({ ...request(completion, target, false), Accept: "application/json" });
        const response = await client.send(command, { abortSignal: call.signal });
        return codec.completion(parseJson(name, response.Body), completion);
      } catch (error) {
        fail(name, error, call, signal);
      } finally {
        call.release(false);
      }
    },

    async *stream(completion, target, signal): AsyncGenerator<StreamEvent> {
      const call = new CallSignal(signal, timeoutMs);
      const decoder = codec.streamDecoder(completion);
      const lines = new LineSplitter();
      let finished = false;
      try {
        const command = new InvokeEndpointWithResponseStreamCommand(request(completion, target, true));
        const response = await client.send(command, { abortSignal: call.signal });
        call.responded();
        for await (const event of (response.Body ?? []) as AsyncIterable<ResponseStream>) {
          if (event.ModelStreamError) throw event.ModelStreamError;
          if (event.InternalStreamFailure) throw event.InternalStreamFailure;
          const bytes = event.PayloadPart?.Bytes;
          if (!bytes) continue;
          for (const line of lines.push(bytes)) yield* decoder.line(line);
        }
        for (const line of lines.flush()) yield* decoder.line(line);
        finished = true;
      } catch (error) {
        fail(name, error, call, signal);
      } finally {
        call.release(!finished);
      }
      const done = decoder.finish();
      if (!done) throw streamEndedEarly(name);
      yield done;
    },

    async embed() {
      // No container family shares an embeddings schema over /invocations (LMI, TEI and TGI differ),
      // so the gateway offers none rather than guessing one.
      throw new UpstreamError("unsupported", name, `provider "${name}" (SageMaker) does not offer embeddings through the gateway`);
    },

    // The sockets belong to the shared transport (client.destroy() would close them for every AWS client).
    async close() {},
  };
  return adapter;
};
