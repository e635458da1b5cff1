// Google Gemini through the official @google/genai SDK: the Gemini API (api_key) or Vertex AI
// (project + location, Google Application Default Credentials). The wire mapping lives in
// gemini-wire.ts; this file holds the SDK calls and the classification of Google's errors.
import { abortSignalOf } from "../core/cancel.js";
import { ApiError, GoogleGenAI, type EmbedContentResponse, type GenerateContentResponse } from "@google/genai";
import { UpstreamError, upstreamErrorFromHttp, upstreamErrorFromUnknown } from "../core/errors.js";
import { GeminiStreamDecoder, buildGeminiRequest, completionFromGemini, isGenerateContentResponse } from "./gemini-wire.js";
import type { GeminiOptions } from "./options.js";
import type { ProviderAdapter, ProviderFactory, UpstreamHeaders } from "./provider.js";
import { createAdapter, type ReportedUsage } from "./runner.js";

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

function classify(provider: string, error: unknown): UpstreamError {
  if (error instanceof ApiError) {
    const status = errorStatusOf(error);
    if (error.status === 400 && isCredentialsError(status)) {
      return new UpstreamError(
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
    if (error.status === 429) return new UpstreamError(rateOrQuota(status), provider, mapped.message, mapped.options);
    return mapped;
  }
  // Vertex AI: google-auth-library found no usable Application Default Credentials.
  if (error instanceof Error && /default credentials|credential file|invalid_grant|refresh access token/i.test(error.message)) {
    return new UpstreamError("auth", provider, `provider "${provider}" has no usable Google credentials (Application Default Credentials); check its configuration`);
  }
  return upstreamErrorFromUnknown(provider, error);
}

function malformed(provider: string, what: string): UpstreamError {
  return new UpstreamError("malformed", provider, `provider "${provider}" answered ${what}`);
}

/** Only Vertex AI reports per-embedding token counts; the Gemini API reports none. */
function embeddingUsage(responses: EmbedContentResponse[]): ReportedUsage | undefined {
  const counted = responses
    .flatMap((r) => r.embeddings ?? [])
    .reduce((n, e) => n + (e.statistics?.tokenCount ?? 0), 0);
  return counted > 0 ? { inputTokens: counted } : undefined;
}

/** The SDK's per-request HTTP options carrying an attempt's upstream headers (merged over the client's). */
function httpOptions(headers: UpstreamHeaders | undefined): { httpOptions?: { headers: Record<string, string> } } {
  return headers === undefined ? {} : { httpOptions: { headers: { ...headers } } };
}

function geminiAdapter(name: string, timeoutMs: number | undefined, client: GoogleGenAI, vertex: boolean): ProviderAdapter {
  async function embedBatch(model: string, inputs: string[], dimensions: number | undefined, signal: AbortSignal, headers: UpstreamHeaders | undefined) {
    return client.models.embedContent({
      model,
      contents: inputs,
      config: { abortSignal: signal, ...httpOptions(headers), ...(dimensions !== undefined ? { outputDimensionality: dimensions } : {}) },
    });
  }

  return createAdapter<GenerateContentResponse>({
    name,
    type: "gemini",
    timeoutMs,
    classify: (error) => classify(name, error),

    async sendUnary(request, target, signal, headers) {
      const { contents, config } = buildGeminiRequest(name, request, abortSignalOf(signal));
      const response: unknown = await client.models.generateContent({ model: target.model, contents, config: { ...config, ...httpOptions(headers) } });
      if (!isGenerateContentResponse(response)) throw malformed(name, "without candidates");
      return completionFromGemini(response);
    },

    async openStream(request, target, signal, headers) {
      // The signal also stops the SDK's body reader, so an abort or an early return frees the socket.
      const { contents, config } = buildGeminiRequest(name, request, signal);
      const chunks = await client.models.generateContentStream({ model: target.model, contents, config: { ...config, ...httpOptions(headers) } });
      return { chunks, decoder: new GeminiStreamDecoder() };
    },

    async embed(request, target, signal, headers) {
      // On Vertex AI, Gemini embedding models take one input per request (the SDK would merge a
      // list into one content); the text-embedding-* models take a batch.
      const oneByOne = vertex && /gemini/i.test(target.model);
      const abort = abortSignalOf(signal);
      const responses = oneByOne
        ? await Promise.all(request.inputs.map((input) => embedBatch(target.model, [input], request.dimensions, abort, headers)))
        : [await embedBatch(target.model, request.inputs, request.dimensions, abort, headers)];
      const vectors = responses.flatMap((r) => r.embeddings ?? []).map((e) => e.values ?? []);
      if (vectors.length !== request.inputs.length || vectors.some((v) => v.length === 0)) {
        throw malformed(name, `${vectors.length} embeddings for ${request.inputs.length} inputs`);
      }
      return { vectors, usage: embeddingUsage(responses) };
    },

    async close() {},
  });
}

export const createGeminiProvider: ProviderFactory<"gemini"> = (name, options: GeminiOptions, { transport }) => {
  const vertex = options.project !== undefined || options.location !== undefined;
  if (vertex && (options.project === undefined || options.location === undefined)) {
    throw new Error(`providers.${name}: Vertex AI needs both project and location`);
  }
  if (vertex === (options.apiKey !== undefined)) {
    throw new Error(`providers.${name}: set either api_key (Gemini API) or project and location (Vertex AI)`);
  }
  // No SDK timeout at all: the SDK keeps each request's timer armed until it fires, and the
  // signal (the caller's deadline, the provider's timeout_ms through routing) bounds every call.
  const httpOptions = { ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), fetch: transport.fetch };
  // retryOptions stays unset: the SDK then makes exactly one attempt.
  const client = vertex
    ? new GoogleGenAI({ vertexai: true, project: options.project, location: options.location, httpOptions })
    : new GoogleGenAI({ vertexai: false, apiKey: options.apiKey, httpOptions: { ...httpOptions, apiVersion: "v1beta" } });
  return geminiAdapter(name, options.timeoutMs, client, vertex);
};
