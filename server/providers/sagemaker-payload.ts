// How requests and answers look inside SageMaker's opaque body, one codec per container family,
// and the "openai" codec (LMI / DJL, vLLM and TGI ≥ 2 containers, built with openai-wire.ts). The
// "tgi" codec is in sagemaker-tgi.ts; both depend on this file only, sagemaker.ts on all three.
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { UpstreamError } from "../core/errors.js";
import type { CompletionRequest } from "../core/types.js";
import { ChatStreamDecoder, buildChatBody, completionFromChat, streamingChatBody } from "./openai-wire.js";
import type { StreamDecoder, UpstreamCompletion } from "./runner.js";

/** One line-oriented stream from the container (one complete line per push), decoded into neutral events. */
export type PayloadStreamDecoder = StreamDecoder<string>;

export interface PayloadCodec {
  /** The JSON request body; throws UpstreamError("invalid_request") for what the format cannot carry. */
  body(request: CompletionRequest, stream: boolean): unknown;
  completion(response: unknown): UpstreamCompletion;
  streamDecoder(): PayloadStreamDecoder;
}

/** The payload of an SSE line (`data: {...}`), or the line itself (jsonlines); "" for anything else. */
export function lineData(line: string): string {
  const data = line.startsWith("data:") ? line.slice(5).trim() : line.trim();
  return data.startsWith("{") ? data : "";
}

export function openAIPayload(provider: string): PayloadCodec {
  // The body carries no `model`: the endpoint (EndpointName) already names it. LMI documents the
  // field as optional and ignores it; vLLM accepts a missing model but rejects one that differs
  // from its served model name, which an endpoint name usually does.
  const withoutModel = <T extends { model: string }>({ model: _endpoint, ...body }: T) => body;
  return {
    body(request, stream) {
      const wire = { maxTokensField: "max_tokens" } as const;
      return withoutModel(stream ? streamingChatBody(request, "", wire) : buildChatBody(request, "", wire));
    },

    completion(response) {
      const chat = response as ChatCompletion | null;
      if (!chat || typeof chat !== "object" || !Array.isArray(chat.choices)) {
        throw new UpstreamError("malformed", provider, `provider "${provider}" answered without choices`);
      }
      return completionFromChat(chat);
    },

    streamDecoder() {
      const decoder = new ChatStreamDecoder();
      return {
        // SSE (`data: {...}`, `data: [DONE]`) from vLLM and TGI; LMI's jsonlines formatter sends the
        // same chunks without the `data:` prefix. Other SSE fields and comments carry nothing here.
        push(line) {
          const data = lineData(line);
          if (data === "") return [];
          const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
          if (chunk.error !== undefined || (chunk.object as string) === "error") {
            // An in-band error in a 200 stream: no HTTP status is left to tell what it was.
            const detail = JSON.stringify(chunk.error ?? chunk);
            const kind = /rate.?limit|too many requests/i.test(detail) ? "rate_limited" : "unavailable";
            throw new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream`);
          }
          return decoder.push(chunk);
        },
        get finished() {
          return decoder.finished;
        },
        finish: () => decoder.finish(),
      };
    },
  };
}
