// Anthropic's Messages API through the official `@anthropic-ai/sdk` (1.x, API version 2026-10-21).
// The wire mapping lives in anthropic-wire.ts; this file holds the SDK calls and the SDK's error
// shapes. The shared meaning of a failure is in ../core/errors.ts.
import { abortSignalOf } from "../core/cancel.js";
import Anthropic from "@anthropic-ai/sdk";
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import {
  UpstreamError,
  retryAfterFromHeaders,
  upstreamErrorFromHttp,
  upstreamErrorFromUnknown,
  type UpstreamErrorKind,
} from "../core/errors.js";
import { MessagesStreamDecoder, buildMessagesBody, completionFromMessage } from "./anthropic-wire.js";
import type { AnthropicOptions } from "./options.js";
import { SDK_TIMEOUT_MS, type ProviderFactory } from "./provider.js";
import { createAdapter } from "./runner.js";

const ANTHROPIC_BASE_URL = "https://api.anthropic.com";

function withKind(error: UpstreamError, kind: UpstreamErrorKind): UpstreamError {
  return new UpstreamError(kind, error.provider, error.message, error.options);
}

/** Anthropic's own meaning of a status: out of credit or over a spend limit is not a rate limit. */
function anthropicKind(error: InstanceType<typeof Anthropic.APIError>): UpstreamErrorKind | undefined {
  if (error.status === 402 || error.type === "billing_error") return "quota_exhausted";
  if (/spend_limit_reached/.test(error.errorCode ?? "")) return "quota_exhausted";
  if (error.status === 400 && /content filtering policy/i.test(error.apiMessage ?? "")) return "content_filter";
  return undefined;
}

function classify(provider: string, error: unknown): UpstreamError {
  if (error instanceof Anthropic.APIConnectionTimeoutError) {
    return new UpstreamError("timeout", provider, `provider "${provider}" timed out`);
  }
  if (error instanceof Anthropic.APIConnectionError || error instanceof Anthropic.APIUserAbortError) {
    return upstreamErrorFromUnknown(provider, error);
  }
  if (error instanceof Anthropic.APIError && error.status !== undefined) {
    const mapped = upstreamErrorFromHttp(provider, error.status, error.apiMessage ?? error.message, {
      code: [error.errorCode, error.type].filter(Boolean).join(" "),
      retryAfterMs: error.headers ? retryAfterFromHeaders((n) => error.headers?.get(n)) : undefined,
    });
    const kind = anthropicKind(error);
    return kind ? withKind(mapped, kind) : mapped;
  }
  if (error instanceof Anthropic.APIError) {
    // An `event: error` inside a stream: no HTTP status, only the error type.
    const type = error.type ?? "error";
    const kind: UpstreamErrorKind =
      type === "overloaded_error" ? "overloaded" : type === "rate_limit_error" ? "rate_limited" : "unavailable";
    return new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream: ${type}`);
  }
  return upstreamErrorFromUnknown(provider, error);
}

export const createAnthropicProvider: ProviderFactory<"anthropic"> = (name, options: AnthropicOptions, { transport }) => {
  const client = new Anthropic({
    // Exactly one credential option: with none, SDK 1.x would search env vars and profiles on disk.
    apiKey: options.apiKey,
    // Explicit, so that ANTHROPIC_BASE_URL in the gateway's environment cannot redirect it.
    baseURL: options.baseUrl ?? ANTHROPIC_BASE_URL,
    maxRetries: 0,
    timeout: SDK_TIMEOUT_MS,
    fetch: transport.fetch,
    // The gateway reports failures itself; the SDK's logger would print raw upstream payloads.
    logLevel: "off",
  });

  return createAdapter<RawMessageStreamEvent>({
    name,
    type: "anthropic",
    timeoutMs: options.timeoutMs,
    classify: (error) => classify(name, error),

    async sendUnary(request, target, signal, headers) {
      const message = await client.messages.create(buildMessagesBody(request, target.model, name), { signal: abortSignalOf(signal), headers });
      if (!message || typeof message !== "object" || !Array.isArray(message.content)) {
        throw new UpstreamError("malformed", name, `provider "${name}" answered without message content`);
      }
      return completionFromMessage(message);
    },

    async openStream(request, target, signal, headers) {
      const body = { ...buildMessagesBody(request, target.model, name), stream: true as const };
      const chunks = await client.messages.create(body, { signal, headers });
      return { chunks, decoder: new MessagesStreamDecoder() };
    },

    async embed() {
      throw new UpstreamError("unsupported", name, `provider "${name}" (anthropic) has no embeddings API`);
    },

    async close() {},
  });
};
