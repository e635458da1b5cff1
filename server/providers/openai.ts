// OpenAI and OpenAI-compatible servers (vLLM, Ollama, TGI's OpenAI route, Azure-style
// deployments) through the official `openai` SDK. The wire mapping lives in openai-wire.ts; this
// file holds only the SDK calls and the SDK's error shapes.
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { UpstreamError, retryAfterFromHeaders, upstreamErrorFromHttp, upstreamErrorFromUnknown } from "../core/errors.js";
import { ChatStreamDecoder, buildChatBody, completionFromChat, streamingChatBody, type ChatBodyOptions } from "./openai-wire.js";
import type { OpenAICompatibleOptions, OpenAIOptions } from "./options.js";
import { SDK_TIMEOUT_MS, type ProviderAdapter, type ProviderFactory } from "./provider.js";
import { createAdapter } from "./runner.js";

const OPENAI_BASE_URL = "https://api.openai.com/v1";

function classify(provider: string, error: unknown): UpstreamError {
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    const body = error.error as { message?: string; code?: string; type?: string } | undefined;
    return upstreamErrorFromHttp(provider, error.status, body?.message ?? error.message, {
      code: [error.code, error.type].filter(Boolean).join(" "),
      retryAfterMs: error.headers ? retryAfterFromHeaders((n) => error.headers?.get(n)) : undefined,
    });
  }
  // APIConnectionError is an APIError without a status too; it is a network failure, not an error event.
  if (error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError)) {
    // An error event inside a stream: no HTTP status, only the upstream's error type.
    const kind = /rate_limit/i.test(String(error.code ?? error.type)) ? "rate_limited" : "unavailable";
    return new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream: ${error.type ?? "error"}`);
  }
  return upstreamErrorFromUnknown(provider, error);
}

function openAIAdapter(
  name: string,
  type: "openai" | "openai-compatible",
  timeoutMs: number | undefined,
  client: OpenAI,
  wire: ChatBodyOptions,
): ProviderAdapter {
  return createAdapter<ChatCompletionChunk>({
    name,
    type,
    timeoutMs,
    classify: (error) => classify(name, error),

    async sendUnary(request, target, signal) {
      const response = await client.chat.completions.create(buildChatBody(request, target.model, wire), { signal });
      if (!response || typeof response !== "object" || !Array.isArray(response.choices)) {
        throw new UpstreamError("malformed", name, `provider "${name}" answered without choices`);
      }
      return completionFromChat(response);
    },

    async openStream(request, target, signal) {
      const chunks = await client.chat.completions.create(streamingChatBody(request, target.model, wire), { signal });
      return { chunks, decoder: new ChatStreamDecoder() };
    },

    async embed(request, target, signal) {
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
      const usage = response.usage ? { inputTokens: response.usage.prompt_tokens } : undefined;
      return { vectors, usage, modelVersion: response.model || undefined };
    },

    async close() {},
  });
}

export const createOpenAIProvider: ProviderFactory<"openai"> = (name, options: OpenAIOptions, { transport }) =>
  openAIAdapter(
    name,
    "openai",
    options.timeoutMs,
    new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? OPENAI_BASE_URL,
      organization: options.organization ?? null,
      maxRetries: 0,
      timeout: SDK_TIMEOUT_MS,
      fetch: transport.fetch,
    }),
    { maxTokensField: "max_completion_tokens" },
  );

export const createOpenAICompatibleProvider: ProviderFactory<"openai-compatible"> = (name, options: OpenAICompatibleOptions, { transport }) =>
  openAIAdapter(
    name,
    "openai-compatible",
    options.timeoutMs,
    new OpenAI({
      // Local servers often need no key; the SDK insists on one, and sends it as a bearer token.
      apiKey: options.apiKey ?? "not-needed",
      baseURL: options.baseUrl,
      defaultHeaders: options.headers,
      maxRetries: 0,
      timeout: SDK_TIMEOUT_MS,
      fetch: transport.fetch,
    }),
    { maxTokensField: "max_tokens" },
  );
