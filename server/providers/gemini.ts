// Google Gemini through the official @google/genai SDK: the Gemini API (api_key) or Vertex AI
// (project + location, Google Application Default Credentials). The wire mapping lives in
// gemini-wire.ts; this file holds the SDK calls and the classification of Google's errors.
import { ApiError, GoogleGenAI, type EmbedContentResponse, type GenerateContentResponse } from "@google/genai";
import { UpstreamError, upstreamErrorFromHttp, upstreamErrorFromUnknown } from "../core/errors.js";
import { countTokens } from "../core/tokens.js";
import { emptyUsage, type Completion, type CompletionRequest, type Embeddings, type EmbeddingRequest, type StreamEvent } from "../core/types.js";
import {
  GeminiStreamDecoder,
  buildGeminiRequest,
  completionFromGemini,
  isGenerateContentResponse,
} from "./gemini-wire.js";
import { finishStream, throwIfAborted, type ProviderAdapter, type ProviderFactory } from "./provider.js";

/** google.rpc.Status as Google puts it in error bodies. */
type GoogleErrorStatus = {
  code?: number;
  message?: string;
  status?: string;
  details?: Record<string, unknown>[];
};

/** ApiError keeps the error body as JSON in its message (after "got status: …. " for stream errors). */
function errorStatusOf(error: ApiError): GoogleErrorStatus | undefined {
  const start = error.message.indexOf("{");
  if (start < 0) return undefined;
  try {
    const parsed = JSON.parse(error.message.slice(start)) as { error?: unknown };
    const status = parsed?.error;
    return status !== null && typeof status === "object" ? (status as GoogleErrorStatus) : undefined;
  } catch {
    return undefined;
  }
}

function detailsOfType(status: GoogleErrorStatus | undefined, type: string): Record<string, unknown>[] {
  return (status?.details ?? []).filter((d) => String(d["@type"] ?? "").endsWith(`google.rpc.${type}`));
}

/** RetryInfo.retryDelay is a protobuf Duration in JSON form: "30s", "1.5s". */
function retryDelayMs(status: GoogleErrorStatus | undefined): number | undefined {
  for (const detail of detailsOfType(status, "RetryInfo")) {
    const match = /^(\d+(?:\.\d+)?)s$/.exec(String(detail.retryDelay ?? ""));
    if (match) return Math.round(Number.parseFloat(match[1]) * 1000);
  }
  return undefined;
}

/**
 * Gemini answers every 429 with the same "You exceeded your current quota … billing details"
 * wording, per-minute limits included, so the wording cannot tell a rate limit from a spent quota.
 * The QuotaFailure detail can: a per-day or per-month window, or a limit of zero (a model the
 * project has no quota for), will not clear within a retry's backoff → quota_exhausted. Depleted
 * prepaid credits likewise. Everything else (per-minute windows, Vertex's bare "Resource
 * exhausted") is a rate limit worth retrying after RetryInfo's delay.
 */
function rateOrQuota(status: GoogleErrorStatus | undefined): "rate_limited" | "quota_exhausted" {
  const violations = detailsOfType(status, "QuotaFailure").flatMap((d) =>
    Array.isArray(d.violations) ? (d.violations as Record<string, unknown>[]) : [],
  );
  const longWindow = violations.some((v) => /Per(Day|Month)/i.test(String(v.quotaId ?? "")) || String(v.quotaValue) === "0");
  const message = status?.message ?? "";
  if (longWindow || /\blimit: 0\b|prepayment|credits are depleted/i.test(message)) return "quota_exhausted";
  return "rate_limited";
}

/** An invalid key is a 400 INVALID_ARGUMENT on the Gemini API, with ErrorInfo reason API_KEY_INVALID. */
function isCredentialsError(status: GoogleErrorStatus | undefined): boolean {
  const reasons = detailsOfType(status, "ErrorInfo").map((d) => String(d.reason ?? ""));
  return reasons.some((r) => /^API_KEY_/.test(r)) || /API key not valid|API key expired/i.test(status?.message ?? "");
}

function classify(provider: string, error: unknown, signal: AbortSignal): never {
  throwIfAborted(signal);
  if (error instanceof ApiError) {
    const status = errorStatusOf(error);
    if (error.status === 400 && isCredentialsError(status)) {
      throw new UpstreamError(
        "auth",
        provider,
        `provider "${provider}" rejected the gateway's credentials (HTTP 400 ${status?.status ?? ""}); check its configuration`,
        { status: 400 },
      );
    }
    const retryAfterMs = retryDelayMs(status);
    const mapped = upstreamErrorFromHttp(provider, error.status, status?.message ?? error.message, {
      code: status?.status,
      retryAfterMs,
    });
    if (error.status === 429) throw new UpstreamError(rateOrQuota(status), provider, mapped.message, mapped.options);
    throw mapped;
  }
  // Vertex AI: google-auth-library found no usable Application Default Credentials.
  if (error instanceof Error && /default credentials|credential file|invalid_grant|refresh access token/i.test(error.message)) {
    throw new UpstreamError("auth", provider, `provider "${provider}" has no usable Google credentials (Application Default Credentials); check its configuration`);
  }
  // The SDK's own per-attempt timer (timeout_ms) fired, not the caller's deadline.
  if (error instanceof Error && error.name === "AbortError") {
    throw new UpstreamError("timeout", provider, `provider "${provider}" timed out`);
  }
  throw upstreamErrorFromUnknown(provider, error);
}

function malformed(provider: string, what: string): UpstreamError {
  return new UpstreamError("malformed", provider, `provider "${provider}" answered ${what}`);
}

function embeddingUsage(request: EmbeddingRequest, responses: EmbedContentResponse[]) {
  // Only Vertex AI reports per-embedding token counts; the Gemini API reports none.
  const counted = responses
    .flatMap((r) => r.embeddings ?? [])
    .reduce((n, e) => n + (e.statistics?.tokenCount ?? 0), 0);
  if (counted > 0) return { ...emptyUsage(), inputTokens: counted };
  return { ...emptyUsage(), inputTokens: request.inputs.reduce((n, t) => n + countTokens(t), 0), estimated: true };
}

function createAdapter(name: string, client: GoogleGenAI, vertex: boolean): ProviderAdapter {
  async function embedBatch(model: string, inputs: string[], dimensions: number | undefined, signal: AbortSignal) {
    return client.models.embedContent({
      model,
      contents: inputs,
      config: { abortSignal: signal, ...(dimensions !== undefined ? { outputDimensionality: dimensions } : {}) },
    });
  }

  return {
    name,
    type: "gemini",

    async complete(request, target, signal): Promise<Completion> {
      try {
        const { contents, config } = buildGeminiRequest(request, signal);
        const response: unknown = await client.models.generateContent({ model: target.model, contents, config });
        if (!isGenerateContentResponse(response)) throw malformed(name, "without candidates");
        return completionFromGemini(response, request);
      } catch (error) {
        classify(name, error, signal);
      }
    },

    async *stream(request: CompletionRequest, target, signal): AsyncGenerator<StreamEvent> {
      // Aborted when the consumer stops early, so the SDK's body reader does not keep the socket.
      const local = new AbortController();
      const decoder = new GeminiStreamDecoder(request);
      try {
        const { contents, config } = buildGeminiRequest(request, AbortSignal.any([signal, local.signal]));
        const stream = await client.models.generateContentStream({ model: target.model, contents, config });
        for await (const chunk of stream as AsyncIterable<GenerateContentResponse>) {
          yield* decoder.push(chunk);
        }
      } catch (error) {
        classify(name, error, signal);
      } finally {
        local.abort();
      }
      yield finishStream(name, decoder, signal);
    },

    async embed(request: EmbeddingRequest, target, signal): Promise<Embeddings> {
      try {
        // On Vertex AI, Gemini embedding models take one input per request (the SDK would merge a
        // list into one content); the text-embedding-* models take a batch.
        const oneByOne = vertex && /gemini/i.test(target.model);
        const responses = oneByOne
          ? await Promise.all(request.inputs.map((input) => embedBatch(target.model, [input], request.dimensions, signal)))
          : [await embedBatch(target.model, request.inputs, request.dimensions, signal)];
        const vectors = responses.flatMap((r) => r.embeddings ?? []).map((e) => e.values ?? []);
        if (vectors.length !== request.inputs.length || vectors.some((v) => v.length === 0)) {
          throw malformed(name, `${vectors.length} embeddings for ${request.inputs.length} inputs`);
        }
        return { vectors, usage: embeddingUsage(request, responses) };
      } catch (error) {
        classify(name, error, signal);
      }
    },

    async close() {},
  };
}

export const createGeminiProvider: ProviderFactory<"gemini"> = (name, config, { transport }) => {
  const vertex = config.project !== undefined || config.location !== undefined;
  if (vertex && (config.project === undefined || config.location === undefined)) {
    throw new Error(`providers.${name}: Vertex AI needs both project and location`);
  }
  if (vertex === (config.api_key !== undefined)) {
    throw new Error(`providers.${name}: set either api_key (Gemini API) or project and location (Vertex AI)`);
  }
  // No default timeout: the SDK keeps each request's timer armed until it fires, and the caller's
  // deadline (the signal) already bounds every call.
  const httpOptions = {
    ...(config.base_url ? { baseUrl: config.base_url } : {}),
    ...(config.timeout_ms ? { timeout: config.timeout_ms } : {}),
    fetch: transport.fetch,
  };
  // retryOptions stays unset: the SDK then makes exactly one attempt.
  const client = vertex
    ? new GoogleGenAI({ vertexai: true, project: config.project, location: config.location, httpOptions })
    : new GoogleGenAI({ vertexai: false, apiKey: config.api_key, httpOptions: { ...httpOptions, apiVersion: "v1beta" } });
  return createAdapter(name, client, vertex);
};
