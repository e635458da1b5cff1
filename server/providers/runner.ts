// The one runner every adapter goes through. A provider gives it its SDK calls (each with its
// request builder and response mapper or stream decoder) and its error classifier; the runner owns
// what used to be written once per adapter:
// - classify: the caller's abort wins over whatever the SDK threw; a refused connection or failed
//   DNS lookup is told as such; everything else goes to the provider's classifier;
// - abort-on-return: a stream's upstream request is aborted when the signal fires *and* when the
//   consumer stops iterating, whether the SDK is waiting for headers or reading the body;
// - finishing a stream: only a stream the provider itself finished yields `done`;
// - tool-call arguments from the upstream held to the API's contract (see wire-common.ts);
// - usage: what the upstream did not report is estimated, and marked so.
import type { UpstreamSignal } from "../core/cancel.js";
import { UpstreamError } from "../core/errors.js";
import { roughMessageTokens, roughTokens } from "../core/tokens.js";
import type {
  Completion,
  CompletionRequest,
  Embeddings,
  EmbeddingRequest,
  StreamEvent,
  TokenUsage,
} from "../core/types.js";
import { connectFailure } from "./network-errors.js";
import type { ProviderType } from "./options.js";
import type { DoneEvent, ProviderAdapter, UpstreamHeaders, UpstreamTarget } from "./provider.js";
import { isJsonObjectText, malformedArguments } from "./wire-common.js";

/** The counts an upstream reported; the runner estimates the ones it left out. */
export type ReportedUsage = Partial<Omit<TokenUsage, "estimated">>;

export type UpstreamCompletion = Omit<Completion, "usage"> & { usage: ReportedUsage | undefined };
export type UpstreamDone = Omit<DoneEvent, "usage"> & { usage: ReportedUsage | undefined };
export type UpstreamEmbeddings = Omit<Embeddings, "usage"> & { usage: ReportedUsage | undefined };

/** Turns an upstream's stream chunks into neutral events. */
export interface StreamDecoder<Chunk> {
  push(chunk: Chunk): StreamEvent[];
  /** Whether the upstream said the answer is over: a stream that ends without it was cut short. */
  readonly finished: boolean;
  /** The final event, once the upstream stream has ended and `finished` is true. */
  finish(): UpstreamDone;
}

export type OpenedStream<Chunk> = { chunks: AsyncIterable<Chunk>; decoder: StreamDecoder<Chunk> };

/** One provider's translator and SDK calls, as the runner takes them. */
export type AdapterParts<Chunk> = {
  name: string;
  type: ProviderType;
  timeoutMs: number | undefined;
  /** The provider's error classifier, for errors that are neither the caller's abort nor a failed connect. */
  classify(error: unknown): UpstreamError;
  /** `headers` (the attempt's trace context), when given, must reach every upstream request of the call. */
  /** `signal` may be a Cancel: `abortSignalOf` makes the AbortSignal an SDK needs. */
  sendUnary(request: CompletionRequest, target: UpstreamTarget, signal: UpstreamSignal, headers: UpstreamHeaders | undefined): Promise<UpstreamCompletion>;
  /** Starts the upstream stream; `signal` must reach the SDK call, so aborting it ends the request. */
  openStream(request: CompletionRequest, target: UpstreamTarget, signal: AbortSignal, headers: UpstreamHeaders | undefined): Promise<OpenedStream<Chunk>>;
  embed(request: EmbeddingRequest, target: UpstreamTarget, signal: UpstreamSignal, headers: UpstreamHeaders | undefined): Promise<UpstreamEmbeddings>;
  close(): Promise<void>;
};

// Aborts carry a reason: on Node 20 an abort() without one builds a DOMException (~16 µs).
const STREAM_OVER = new Error("the upstream stream is over or its consumer stopped reading");

export function streamEndedEarly(provider: string): UpstreamError {
  return new UpstreamError("unavailable", provider, `provider "${provider}" ended the stream before it finished`);
}

/** Reported counts, completed with estimates for the missing ones. */
export function completeUsage(reported: ReportedUsage | undefined, request: CompletionRequest, output: string): TokenUsage {
  const input = reported?.inputTokens;
  const outputTokens = reported?.outputTokens;
  return {
    inputTokens: input ?? roughMessageTokens(request.messages),
    outputTokens: outputTokens ?? roughTokens(output),
    cachedInputTokens: reported?.cachedInputTokens ?? 0,
    cacheWriteInputTokens: reported?.cacheWriteInputTokens ?? 0,
    reasoningTokens: reported?.reasoningTokens ?? 0,
    estimated: input === undefined || outputTokens === undefined,
  };
}

function embeddingUsage(reported: ReportedUsage | undefined, inputs: string[]): TokenUsage {
  const counted = reported?.inputTokens;
  return {
    inputTokens: counted ?? inputs.reduce((n, text) => n + roughTokens(text), 0),
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: 0,
    estimated: counted === undefined,
  };
}

/** An answer's tool calls held to the arguments contract (wire-common.ts). */
function checkedToolCalls(provider: string, answer: UpstreamCompletion): UpstreamCompletion["toolCalls"] {
  return answer.toolCalls.map((call) => {
    if (call.argumentsJson.trim() === "") return { ...call, argumentsJson: "{}" };
    if (answer.finishReason !== "length" && !isJsonObjectText(call.argumentsJson)) throw malformedArguments(provider, call.id);
    return call;
  });
}

/** A stream's tool-call arguments, gathered from its deltas to be held to the same contract at the end. */
class StreamedToolCalls {
  private readonly calls = new Map<number, { id: string; json: string }>();

  add(event: Extract<StreamEvent, { type: "tool_call" }>): void {
    const call = this.calls.get(event.index);
    if (call) call.json += event.argumentsDelta;
    else this.calls.set(event.index, { id: event.id ?? "", json: event.argumentsDelta });
  }

  /** The `{}` deltas for calls that streamed no arguments; throws for arguments that are not an object. */
  finish(provider: string, finishReason: DoneEvent["finishReason"]): StreamEvent[] {
    const extra: StreamEvent[] = [];
    for (const [index, call] of this.calls) {
      if (call.json.trim() === "") extra.push({ type: "tool_call", index, argumentsDelta: "{}" });
      else if (finishReason !== "length" && !isJsonObjectText(call.json)) throw malformedArguments(provider, call.id);
    }
    return extra;
  }
}

/** The text an answer's output tokens are estimated from: its text, tool names and arguments. */
function outputText(completion: UpstreamCompletion): string {
  return completion.text + completion.toolCalls.map((c) => c.name + c.argumentsJson).join("");
}

export function createAdapter<Chunk>(parts: AdapterParts<Chunk>): ProviderAdapter {
  const { name } = parts;

  /** What to throw for an error of an upstream call made under `signal`. */
  function failure(error: unknown, signal: UpstreamSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof UpstreamError) return error;
    return connectFailure(name, error) ?? parts.classify(error);
  }

  async function* stream(request: CompletionRequest, target: UpstreamTarget, signal: UpstreamSignal, headers?: UpstreamHeaders): AsyncGenerator<StreamEvent> {
    if (signal.aborted) throw signal.reason;
    const upstream = new AbortController();
    const forward = () => upstream.abort(signal.reason);
    signal.addEventListener("abort", forward, { once: true });
    let output = "";
    const toolCalls = new StreamedToolCalls();
    try {
      let decoder: StreamDecoder<Chunk>;
      try {
        const opened = await parts.openStream(request, target, upstream.signal, headers);
        decoder = opened.decoder;
        for await (const chunk of opened.chunks) {
          for (const event of decoder.push(chunk)) {
            if (event.type === "text") output += event.text;
            else if (event.type === "tool_call") {
              output += (event.name ?? "") + event.argumentsDelta;
              toolCalls.add(event);
            }
            yield event;
          }
        }
      } catch (error) {
        throw failure(error, signal);
      }
      // SDKs may end an aborted stream quietly, so the caller's abort is checked first; only a
      // stream the provider itself finished yields `done`, never a made-up one.
      if (signal.aborted) throw signal.reason;
      if (!decoder.finished) throw streamEndedEarly(name);
      const end = decoder.finish();
      yield* toolCalls.finish(name, end.finishReason);
      yield { ...end, usage: completeUsage(end.usage, request, output) };
    } finally {
      signal.removeEventListener("abort", forward);
      upstream.abort(STREAM_OVER);
    }
  }

  return {
    name,
    type: parts.type,
    timeoutMs: parts.timeoutMs,

    async complete(request, target, signal, headers): Promise<Completion> {
      let answer: UpstreamCompletion;
      try {
        if (signal.aborted) throw signal.reason;
        answer = await parts.sendUnary(request, target, signal, headers);
      } catch (error) {
        throw failure(error, signal);
      }
      const checked = { ...answer, toolCalls: checkedToolCalls(name, answer) };
      return { ...checked, usage: completeUsage(answer.usage, request, outputText(checked)) };
    },

    stream,

    async embed(request, target, signal, headers): Promise<Embeddings> {
      let answer: UpstreamEmbeddings;
      try {
        if (signal.aborted) throw signal.reason;
        answer = await parts.embed(request, target, signal, headers);
      } catch (error) {
        throw failure(error, signal);
      }
      return { ...answer, usage: embeddingUsage(answer.usage, request.inputs) };
    },

    close: () => parts.close(),
  };
}
