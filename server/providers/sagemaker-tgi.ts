// The Hugging Face TGI payload format for SageMaker endpoints: `{inputs, parameters, stream}` in,
// `[{generated_text, details}]` or SSE `data:{"token":…}` lines out. The format takes one prompt
// string, so the conversation is rendered with the generic template below; a model that needs its
// own chat template (and tools or images) is better served through TGI's Messages API, which is
// the "openai" payload format.
import { UpstreamError } from "../core/errors.js";
import type { CompletionRequest, FinishReason, StreamEvent } from "../core/types.js";
import type { ReportedUsage, UpstreamCompletion, UpstreamDone } from "./runner.js";
import { lineData, type PayloadCodec, type PayloadStreamDecoder } from "./sagemaker-payload.js";
import { rejectResponseFormat } from "./wire-common.js";

/**
 * The chat template: each turn is a `<|role|>` line followed by its text, and the prompt ends with
 * an open assistant turn for the model to complete:
 *
 *     <|system|>
 *     You are terse.
 *     <|user|>
 *     Hi
 *     <|assistant|>
 */
export function renderTgiPrompt(request: CompletionRequest): string {
  let prompt = "";
  for (const message of request.messages) {
    const text = message.content.map((p) => (p.type === "text" ? p.text : "")).join("");
    prompt += `<|${message.role}|>\n${text}\n`;
  }
  return `${prompt}<|assistant|>\n`;
}

function rejectUnsupported(provider: string, request: CompletionRequest): void {
  const parts = request.messages.flatMap((m) => m.content);
  const what =
    request.tools.length > 0 || parts.some((p) => p.type === "tool_call" || p.type === "tool_result")
      ? "tools"
      : parts.some((p) => p.type === "image")
        ? "images"
        : undefined;
  if (what) {
    throw new UpstreamError(
      "invalid_request",
      provider,
      `provider "${provider}" uses the TGI payload format, which cannot carry ${what}; use payload_format "openai" (TGI's Messages API) for them`,
    );
  }
}

type TgiParameters = {
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  seed?: number;
  details: true;
  return_full_text: false;
};

export type TgiRequestBody = { inputs: string; parameters: TgiParameters; stream?: true };

type TgiDetails = { finish_reason?: string; generated_tokens?: number; prefill?: unknown[] };
type TgiGenerated = { generated_text?: string; details?: TgiDetails | null };
type TgiStreamLine = {
  token?: { text?: string; special?: boolean };
  generated_text?: string | null;
  details?: TgiDetails | null;
  error?: string;
  error_type?: string;
};

export function buildTgiBody(request: CompletionRequest, stream: boolean): TgiRequestBody {
  const g = request.generation;
  const parameters: TgiParameters = { details: true, return_full_text: false };
  if (g.maxOutputTokens !== undefined) parameters.max_new_tokens = g.maxOutputTokens;
  // TGI rejects temperature 0 and top_p outside (0, 1); greedy decoding and "no nucleus cut" are
  // what leaving them out means.
  if (g.temperature !== undefined && g.temperature > 0) parameters.temperature = g.temperature;
  if (g.topP !== undefined && g.topP > 0 && g.topP < 1) parameters.top_p = g.topP;
  if (g.stopSequences.length > 0) parameters.stop = g.stopSequences;
  if (g.seed !== undefined) parameters.seed = g.seed;
  return { inputs: renderTgiPrompt(request), parameters, ...(stream ? { stream: true as const } : {}) };
}

function finishFromTgi(reason: string | undefined): FinishReason {
  if (reason === "length") return "length";
  if (reason === "eos_token" || reason === "stop_sequence") return "stop";
  return "unspecified";
}

/**
 * TGI reports generated tokens (in `details`, which some containers leave out); the prompt's count
 * only with decoder_input_details. What is missing the runner estimates.
 */
function usageFromTgi(details: TgiDetails | null | undefined): ReportedUsage {
  const prefill = details?.prefill?.length ?? 0;
  return {
    ...(prefill > 0 ? { inputTokens: prefill } : {}),
    ...(details?.generated_tokens !== undefined ? { outputTokens: details.generated_tokens } : {}),
  };
}

export function tgiPayload(provider: string): PayloadCodec {
  return {
    body(request, stream) {
      rejectUnsupported(provider, request);
      rejectResponseFormat(provider, "SageMaker TGI payload", request);
      return buildTgiBody(request, stream);
    },

    completion(response): UpstreamCompletion {
      // /invocations answers a one-element array; TGI's own /generate route a bare object.
      const generated = (Array.isArray(response) ? response[0] : response) as TgiGenerated | undefined;
      if (!generated || typeof generated !== "object" || typeof generated.generated_text !== "string") {
        throw new UpstreamError("malformed", provider, `provider "${provider}" answered without generated_text`);
      }
      const text = generated.generated_text;
      return {
        id: "",
        text,
        toolCalls: [],
        finishReason: finishFromTgi(generated.details?.finish_reason),
        usage: usageFromTgi(generated.details),
      };
    },

    streamDecoder(): PayloadStreamDecoder {
      let done: UpstreamDone | undefined;
      return {
        push(line): StreamEvent[] {
          const data = lineData(line);
          if (data === "") return [];
          const event = JSON.parse(data) as TgiStreamLine;
          if (event.error !== undefined) {
            const kind = event.error_type === "overloaded" ? "overloaded" : "unavailable";
            throw new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream: ${event.error_type ?? "error"}`);
          }
          const events: StreamEvent[] = [];
          // Special tokens (end-of-sequence and the like) are not part of the answer.
          const piece = event.token && !event.token.special ? (event.token.text ?? "") : "";
          if (piece) events.push({ type: "text", text: piece });
          // The last event of a token stream is the one that carries generated_text; `details`
          // comes with it only when the container sends them (containers differ).
          if (typeof event.generated_text === "string") {
            const reason = event.details?.finish_reason;
            // Without details an end-of-sequence token says it stopped by itself.
            const finishReason = reason !== undefined ? finishFromTgi(reason) : event.token?.special ? "stop" : "unspecified";
            done = { type: "done", id: "", finishReason, usage: usageFromTgi(event.details) };
          }
          return events;
        },
        get finished() {
          return done !== undefined;
        },
        finish() {
          if (!done) throw new Error("TGI stream decoder finished before the final event");
          return done;
        },
      };
    },
  };
}
