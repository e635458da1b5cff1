// Amazon Bedrock through @aws-sdk/client-bedrock-runtime. Chat goes through Converse and
// ConverseStream, so every model family on Bedrock shares one request shape (bedrock-converse.ts);
// embeddings go through InvokeModel with the model family's own body (Titan, Cohere). Model ids and
// inference-profile ARNs are passed as `modelId` untouched: the SDK URL-encodes them.
import { abortSignalOf } from "../core/cancel.js";
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  type BedrockRuntimeClientConfig,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttp2Handler } from "@smithy/node-http-handler";
import {
  UpstreamError,
  mentionsContextLength,
  upstreamErrorFromHttp,
  upstreamErrorFromUnknown,
  type UpstreamErrorKind,
} from "../core/errors.js";
import { redact } from "../core/redact.js";
import type { ConverseStreamOutput } from "@aws-sdk/client-bedrock-runtime";
import { ConverseStreamDecoder, buildConverseBody, completionFromConverse } from "./bedrock-converse.js";
import type { BedrockOptions } from "./options.js";
import { addUpstreamHeaders } from "./aws-headers.js";
import type { ProviderFactory, UpstreamHeaders } from "./provider.js";
import { createAdapter, type UpstreamEmbeddings } from "./runner.js";
import type { Transport } from "./transport.js";

// The AWS SDK insists on a region. With none in the config, AWS_REGION or AWS_DEFAULT_REGION, this
// one (Bedrock's broadest). A region set only in ~/.aws/config is not read: the gateway's config is the place.
const DEFAULT_REGION = "us-east-1";

/** Calls in flight per pooled HTTP/2 session: the usual server limit (RFC 9113 advises ≥ 100). */
const SESSION_STREAMS = 100;
/** Concurrent InvokeModel calls for one embeddings request (Titan embeds one text per call). */
const EMBED_CONCURRENCY = 8;
/** Cohere on Bedrock takes at most 96 texts per call. */
const COHERE_BATCH = 96;

// AWS names its errors; the name says more than the status (ModelNotReadyException is a 429 that
// means overloaded, ServiceQuotaExceededException a 400 that means out of quota).
const KIND_BY_EXCEPTION: Record<string, UpstreamErrorKind> = {
  ThrottlingException: "rate_limited",
  ServiceQuotaExceededException: "quota_exhausted",
  ModelNotReadyException: "overloaded",
  ServiceUnavailableException: "overloaded",
  InternalServerException: "unavailable",
  ModelErrorException: "unavailable",
  ModelStreamErrorException: "unavailable",
  ModelTimeoutException: "timeout",
  AccessDeniedException: "auth",
  UnrecognizedClientException: "auth",
  InvalidSignatureException: "auth",
  ExpiredTokenException: "auth",
  ResourceNotFoundException: "not_found",
};

function exceptionKind(name: string, message: string): UpstreamErrorKind | undefined {
  if (name === "ValidationException") {
    if (mentionsContextLength(message)) return "context_length";
    return /content filter/i.test(message) ? "content_filter" : "invalid_request";
  }
  return KIND_BY_EXCEPTION[name];
}

function classify(provider: string, error: unknown): UpstreamError {
  if (error instanceof BedrockRuntimeServiceException) {
    const status = error.$metadata?.httpStatusCode;
    const kind = exceptionKind(error.name, error.message);
    if (status !== undefined && status >= 400) {
      return upstreamErrorFromHttp(provider, status, error.message, { code: error.name, kind });
    }
    if (kind !== undefined) {
      // An exception frame inside a stream: no HTTP status, only the exception's name.
      const message =
        kind === "auth"
          ? `provider "${provider}" rejected the gateway's credentials; check its configuration`
          : `provider "${provider}" failed mid-stream: ${error.name}: ${redact(error.message).slice(0, 300)}`;
      return new UpstreamError(kind, provider, message);
    }
  }
  if (error instanceof Error && /Deserialization error|Truncated event message/i.test(error.message)) {
    return new UpstreamError("malformed", provider, `provider "${provider}" sent a response that could not be parsed`);
  }
  return upstreamErrorFromUnknown(provider, error);
}

function clientConfig(name: string, options: BedrockOptions, transport: Transport): BedrockRuntimeClientConfig {
  const { accessKeyId, secretAccessKey, sessionToken } = options;
  let credentials: Pick<BedrockRuntimeClientConfig, "credentials" | "authSchemePreference"> = {};
  if (accessKeyId || secretAccessKey || sessionToken) {
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(`providers.${name}: access_key_id and secret_access_key must be given together`);
    }
    credentials = {
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
      // With AWS_BEARER_TOKEN_BEDROCK set, the SDK would send that token instead of signing with these keys.
      authSchemePreference: ["sigv4"],
    };
  }
  // Without keys in the config the SDK's default chain applies (env, profile, SSO, container/instance role).
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? DEFAULT_REGION;
  const endpoint = options.baseUrl ?? `https://bedrock-runtime.${region}.amazonaws.com`;
  return {
    region,
    ...(options.baseUrl ? { endpoint: options.baseUrl } : {}),
    ...credentials,
    maxAttempts: 1,
    // HTTP/2, as the SDK's default, but measured against the fake: the default handler opens a new
    // connection per call (`disableConcurrentStreams: true`), so 3 Converse calls cost 3 connections.
    // With concurrent streams on, unary calls (Converse, InvokeModel) share one pooled session: that
    // is the keep-alive. The SDK still gives each ConverseStream its own session, so one slow
    // reader cannot stall the others through HTTP/2 connection-level flow control. Past
    // SESSION_STREAMS calls in flight on a session, the pool opens another rather than queueing.
    // No requestTimeout: the signal (deadline, timeout_ms through routing) bounds every request.
    // The SDK's HTTP/2 handler cannot tunnel through a proxy, so behind one Bedrock takes the
    // shared HTTP/1.1 keep-alive handler, which can (Bedrock serves both).
    requestHandler: transport.proxyFor(endpoint)
      ? transport.awsHttp1Handler(endpoint)
      : transport.awsHttp2Handler({ disableConcurrentStreams: false, maxConcurrentStreams: SESSION_STREAMS }),
  };
}

type EmbeddingFamily = "titan" | "cohere";

/** By model id; also inside inference-profile ids and ARNs (`us.cohere.embed-v4:0`, `…/cohere.embed-…`). */
function embeddingFamily(model: string): EmbeddingFamily | undefined {
  if (model.includes("amazon.titan-embed")) return "titan";
  if (model.includes("cohere.embed")) return "cohere";
  return undefined;
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((n) => typeof n === "number");
}

/** Runs `run` over `items`, at most `limit` at a time; the first failure aborts the others. */
async function mapLimited<T, R>(
  items: T[],
  limit: number,
  signal: AbortSignal,
  run: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const failed = new AbortController();
  const combined = AbortSignal.any([signal, failed.signal]);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !combined.aborted) {
      const index = next++;
      results[index] = await run(items[index], combined);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } catch (error) {
    failed.abort(error);
    throw error;
  }
  if (signal.aborted) throw signal.reason;
  return results;
}

export const createBedrockProvider: ProviderFactory<"bedrock"> = (name, options: BedrockOptions, { transport }) => {
  const config = clientConfig(name, options, transport);
  // A handler from the shared transport (behind a proxy) is not the client's to destroy.
  const ownsHandler = config.requestHandler instanceof NodeHttp2Handler;
  const client = new BedrockRuntimeClient(config);

  const malformed = (what: string) => new UpstreamError("malformed", name, `provider "${name}" answered ${what}`);

  async function invokeJson(modelId: string, body: unknown, signal: AbortSignal, headers: UpstreamHeaders | undefined): Promise<Record<string, unknown>> {
    const command = new InvokeModelCommand({ modelId, body: JSON.stringify(body), contentType: "application/json", accept: "application/json" });
    addUpstreamHeaders(command, headers);
    const response = await client.send(command, { abortSignal: signal });
    const parsed: unknown = JSON.parse(new TextDecoder().decode(response.body));
    if (typeof parsed !== "object" || parsed === null) throw malformed("a body that is not a JSON object");
    return parsed as Record<string, unknown>;
  }

  async function embedTitan(model: string, inputs: string[], dimensions: number | undefined, signal: AbortSignal, headers: UpstreamHeaders | undefined): Promise<UpstreamEmbeddings> {
    const answers = await mapLimited(inputs, EMBED_CONCURRENCY, signal, (inputText, s) =>
      invokeJson(model, { inputText, ...(dimensions !== undefined ? { dimensions } : {}) }, s, headers),
    );
    const vectors = answers.map((a) => {
      if (!isVector(a.embedding)) throw malformed("without an embedding");
      return a.embedding;
    });
    const counts = answers.map((a) => a.inputTextTokenCount);
    const counted = counts.every((n) => typeof n === "number");
    return { vectors, usage: counted ? { inputTokens: counts.reduce((sum: number, n) => sum + (n as number), 0) } : undefined };
  }

  async function embedCohere(model: string, inputs: string[], dimensions: number | undefined, signal: AbortSignal, headers: UpstreamHeaders | undefined): Promise<UpstreamEmbeddings> {
    const batches: string[][] = [];
    for (let i = 0; i < inputs.length; i += COHERE_BATCH) batches.push(inputs.slice(i, i + COHERE_BATCH));
    const answers = await mapLimited(batches, EMBED_CONCURRENCY, signal, (texts, s) =>
      invokeJson(model, { texts, input_type: "search_document", ...(dimensions !== undefined ? { output_dimension: dimensions } : {}) }, s, headers),
    );
    const vectors = answers.flatMap((a, i) => {
      // embed-v3 answers a list of vectors; embed-v4 may answer them by type ({float: [...]}).
      const raw = Array.isArray(a.embeddings) ? a.embeddings : (a.embeddings as { float?: unknown } | undefined)?.float;
      if (!Array.isArray(raw) || raw.length !== batches[i].length || !raw.every(isVector)) throw malformed("without embeddings");
      return raw as number[][];
    });
    // Cohere's body carries no token counts: the runner estimates them.
    return { vectors, usage: undefined };
  }

  return createAdapter<ConverseStreamOutput>({
    name,
    type: "bedrock",
    timeoutMs: options.timeoutMs,
    classify: (error) => classify(name, error),

    async sendUnary(request, target, signal, headers) {
      const command = new ConverseCommand({ modelId: target.model, ...buildConverseBody(name, request) });
      addUpstreamHeaders(command, headers);
      return completionFromConverse(name, await client.send(command, { abortSignal: abortSignalOf(signal) }));
    },

    async openStream(request, target, signal, headers) {
      const command = new ConverseStreamCommand({ modelId: target.model, ...buildConverseBody(name, request) });
      addUpstreamHeaders(command, headers);
      const response = await client.send(command, { abortSignal: signal });
      if (!response.stream) throw malformed("without an event stream");
      return { chunks: response.stream, decoder: new ConverseStreamDecoder(response.$metadata.requestId ?? "") };
    },

    async embed(request, target, signal, headers) {
      const family = embeddingFamily(target.model);
      if (family === "titan") return embedTitan(target.model, request.inputs, request.dimensions, abortSignalOf(signal), headers);
      if (family === "cohere") return embedCohere(target.model, request.inputs, request.dimensions, abortSignalOf(signal), headers);
      throw new UpstreamError(
        "unsupported",
        name,
        `provider "${name}" has no embeddings body for Bedrock model "${target.model}" (Titan and Cohere embedding models are supported)`,
      );
    },

    async close() {
      if (ownsHandler) client.destroy();
    },
  });
};
