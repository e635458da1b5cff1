// OpenAI and OpenAI-compatible servers (vLLM, Ollama, TGI's OpenAI route, Azure-style
// deployments) through the official `openai` SDK. The wire mapping lives in openai-wire.ts; this
// file holds only the SDK calls and the SDK's error shapes.
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import {
  UpstreamError,
  retryAfterFromHeaders,
  upstreamErrorFromHttp,
  upstreamErrorFromUnknown,
} from "../core/errors.js";
import type { Completion, CompletionRequest, Embeddings, EmbeddingRequest, StreamEvent } from "../core/types.js";
import { countTokens } from "../core/tokens.js";
import { emptyUsage } from "../core/types.js";
import {
  ChatStreamDecoder,
  buildChatBody,
  completionFromChat,
  streamingChatBody,
  type ChatBodyOptions,
} from "./openai-wire.js";
import { SDK_TIMEOUT_MS, finishStream, throwIfAborted, type ProviderAdapter, type ProviderFactory } from "./provider.js";

const OPENAI_BASE_URL = "https://api.openai.com/v1";

function classify(provider: string, error: unknown, signal: AbortSignal): never {
  throwIfAborted(signal);
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    const body = error.error as { message?: string; code?: string; type?: string } | undefined;
    throw upstreamErrorFromHttp(provider, error.status, body?.message ?? error.message, {
      code: [error.code, error.type].filter(Boolean).join(" "),
      retryAfterMs: error.headers ? retryAfterFromHeaders((n) => error.headers?.get(n)) : undefined,
    });
  }
  if (error instanceof OpenAI.APIError) {
    // An error event inside a stream: no HTTP status, only the upstream's error type.
    const kind = /rate_limit/i.test(String(error.code ?? error.type)) ? "rate_limited" : "unavailable";
    throw new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream: ${error.type ?? "error"}`);
  }
  throw upstreamErrorFromUnknown(provider, error);
}

function createAdapter(
  name: string,
  type: "openai" | "openai-compatible",
  client: OpenAI,
  wire: ChatBodyOptions,
  timeoutMs: number | undefined,
): ProviderAdapter {
  return {
    name,
    type,
    timeoutMs,

    async complete(request, target, signal): Promise<Completion> {
      try {
        const response = await client.chat.completions.create(buildChatBody(request, target.model, wire), { signal });
        if (!response || typeof response !== "object" || !Array.isArray(response.choices)) {
          throw new UpstreamError("malformed", name, `provider "${name}" answered without choices`);
        }
        return completionFromChat(response, request);
      } catch (error) {
        classify(name, error, signal);
      }
    },

    async *stream(request: CompletionRequest, target, signal): AsyncGenerator<StreamEvent> {
      const decoder = new ChatStreamDecoder(request);
      try {
        const stream = await client.chat.completions.create(streamingChatBody(request, target.model, wire), { signal });
        for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
          yield* decoder.push(chunk);
        }
      } catch (error) {
        classify(name, error, signal);
      }
      yield finishStream(name, decoder, signal);
    },

    async embed(request: EmbeddingRequest, target, signal): Promise<Embeddings> {
      try {
        const response = await client.embeddings.create(
          {
            model: target.model,
            input: request.inputs,
            encoding_format: "float",
            ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
          },
          { signal },
        );
        const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
        const usage = response.usage
          ? { ...emptyUsage(), inputTokens: response.usage.prompt_tokens }
          : { ...emptyUsage(), inputTokens: request.inputs.reduce((n, t) => n + countTokens(t), 0), estimated: true };
        return { vectors, usage, modelVersion: response.model || undefined };
      } catch (error) {
        classify(name, error, signal);
      }
    },

    async close() {},
  };
}

export const createOpenAIProvider: ProviderFactory<"openai"> = (name, config, { transport }) =>
  createAdapter(
    name,
    "openai",
    new OpenAI({
      apiKey: config.api_key,
      baseURL: config.base_url ?? OPENAI_BASE_URL,
      organization: config.organization ?? null,
      maxRetries: 0,
      timeout: SDK_TIMEOUT_MS,
      fetch: transport.fetch,
    }),
    { maxTokensField: "max_completion_tokens" },
    config.timeout_ms,
  );

export const createOpenAICompatibleProvider: ProviderFactory<"openai-compatible"> = (name, config, { transport }) =>
  createAdapter(
    name,
    "openai-compatible",
    new OpenAI({
      // Local servers often need no key; the SDK insists on one, and sends it as a bearer token.
      apiKey: config.api_key ?? "not-needed",
      baseURL: config.base_url,
      defaultHeaders: config.headers,
      maxRetries: 0,
      timeout: SDK_TIMEOUT_MS,
      fetch: transport.fetch,
    }),
    { maxTokensField: "max_tokens" },
    config.timeout_ms,
  );
