// OpenAI and OpenAI-compatible servers (vLLM, Ollama, TGI's OpenAI route, Azure-style
// deployments) through the lean HTTP client (openai-http.ts), not the `openai` SDK: the SDK cost
// ~4× the CPU per call (bench/RESULTS.md). The wire mapping lives in openai-wire.ts; this file holds
// only the calls and the checks on the answers' shape.
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { UpstreamError, upstreamErrorFromUnknown } from "../core/errors.js";
import { createOpenAIHttpClient, type JsonObject, type OpenAIHttpClient } from "./openai-http.js";
import { ChatStreamDecoder, buildChatBody, completionFromChat, streamingChatBody, type ChatBodyOptions } from "./openai-wire.js";
import type { OpenAICompatibleOptions, OpenAIOptions } from "./options.js";
import type { ProviderAdapter, ProviderFactory } from "./provider.js";
import { createAdapter } from "./runner.js";
import type { UpstreamEmbeddings } from "./runner.js";

const OPENAI_BASE_URL = "https://api.openai.com/v1";

function malformed(provider: string, what: string): UpstreamError {
  return new UpstreamError("malformed", provider, `provider "${provider}" answered ${what}`);
}

function embeddingsFrom(provider: string, response: JsonObject): UpstreamEmbeddings {
  const data = response.data;
  if (!Array.isArray(data)) throw malformed(provider, "embeddings without data");
  const items = data as Array<{ index?: unknown; embedding?: unknown }>;
  if (!items.every((d) => typeof d === "object" && d !== null && Array.isArray(d.embedding))) {
    throw malformed(provider, "an embedding that is not a list of numbers");
  }
  const vectors = [...items].sort((a, b) => Number(a.index) - Number(b.index)).map((d) => d.embedding as number[]);
  const usage = response.usage as { prompt_tokens?: unknown } | undefined;
  const inputTokens = typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : undefined;
  return {
    vectors,
    usage: inputTokens !== undefined ? { inputTokens } : undefined,
    modelVersion: typeof response.model === "string" && response.model ? response.model : undefined,
  };
}

function openAIAdapter(
  name: string,
  type: "openai" | "openai-compatible",
  timeoutMs: number | undefined,
  client: OpenAIHttpClient,
  wire: ChatBodyOptions,
): ProviderAdapter {
  return createAdapter<ChatCompletionChunk>({
    name,
    type,
    timeoutMs,
    classify: (error) => upstreamErrorFromUnknown(name, error),

    async sendUnary(request, target, signal, headers) {
      const response = await client.post("/chat/completions", buildChatBody(request, target.model, wire), signal, headers);
      if (!Array.isArray(response.choices)) throw malformed(name, "without choices");
      return completionFromChat(response as unknown as ChatCompletion);
    },

    async openStream(request, target, signal, headers) {
      const chunks = await client.stream("/chat/completions", streamingChatBody(request, target.model, wire), signal, headers);
      return { chunks: chunks as AsyncIterable<unknown> as AsyncIterable<ChatCompletionChunk>, decoder: new ChatStreamDecoder() };
    },

    async embed(request, target, signal, headers) {
      const body = {
        model: target.model,
        input: request.inputs,
        encoding_format: "float",
        ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
      };
      return embeddingsFrom(name, await client.post("/embeddings", body, signal, headers));
    },

    async close() {},
  });
}

export const createOpenAIProvider: ProviderFactory<"openai"> = (name, options: OpenAIOptions, { transport }) =>
  openAIAdapter(
    name,
    "openai",
    options.timeoutMs,
    createOpenAIHttpClient({
      provider: name,
      baseUrl: options.baseUrl ?? OPENAI_BASE_URL,
      apiKey: options.apiKey,
      organization: options.organization,
      request: transport.request,
      requestWhole: transport.requestWhole,
    }),
    { maxTokensField: "max_completion_tokens" },
  );

export const createOpenAICompatibleProvider: ProviderFactory<"openai-compatible"> = (name, options: OpenAICompatibleOptions, { transport }) =>
  openAIAdapter(
    name,
    "openai-compatible",
    options.timeoutMs,
    createOpenAIHttpClient({
      provider: name,
      baseUrl: options.baseUrl,
      // The placeholder bearer token the SDK-based adapter always sent; servers without auth ignore it.
      apiKey: options.apiKey ?? "not-needed",
      headers: options.headers,
      request: transport.request,
      requestWhole: transport.requestWhole,
    }),
    { maxTokensField: "max_tokens" },
  );
