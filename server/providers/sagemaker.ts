// Amazon SageMaker real-time endpoints through @aws-sdk/client-sagemaker-runtime. SageMaker
// itself only carries bytes: the body is whatever the container behind the endpoint speaks, so
// the wire mapping is a payload format chosen in the config:
// - "openai": the OpenAI chat schema, understood by LMI (DJL) containers, vLLM containers and
//   TGI ≥ 2 (its /invocations route takes `messages` too). Built with openai-wire.ts.
// - "tgi": Hugging Face TGI's native `inputs` + `parameters` schema (sagemaker-tgi.ts).
// Streams arrive as PayloadPart events cut at arbitrary byte offsets; LineSplitter re-joins them.
import { abortSignalOf } from "../core/cancel.js";
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
  type ResponseStream,
} from "@aws-sdk/client-sagemaker-runtime";
import { UpstreamError, upstreamErrorFromHttp, upstreamErrorFromUnknown } from "../core/errors.js";
import { redact } from "../core/redact.js";
import type { CompletionRequest } from "../core/types.js";
import { LineSplitter } from "./line-splitter.js";
import type { SageMakerOptions } from "./options.js";
import { addUpstreamHeaders } from "./aws-headers.js";
import type { ProviderFactory, UpstreamTarget } from "./provider.js";
import { createAdapter } from "./runner.js";
import { openAIPayload } from "./sagemaker-payload.js";
import { tgiPayload } from "./sagemaker-tgi.js";

// The AWS SDK v3 has no default region (its first call would fail with "Region is missing"), so
// after the config and AWS_REGION the adapter falls back to us-east-1, AWS's conventional default.
// Endpoints are regional: real configs set `region`.
const DEFAULT_REGION = "us-east-1";

// Containers' own wording for "the prompt does not fit" (TGI's validation errors, for one), which
// the shared table's hints do not cover.
const CONTAINER_CONTEXT_HINTS = /`inputs` tokens|`inputs` must have less than|max_total_tokens|max_input_(tokens|length)/i;
const AUTH_ERRORS =
  /^(UnrecognizedClientException|InvalidSignatureException|IncompleteSignature|MissingAuthenticationToken|InvalidClientTokenId|ExpiredToken(Exception)?|AccessDenied(Exception)?|NotAuthorized|CredentialsProviderError)$/;

/** The error type or code inside a container's JSON error body (OpenAI, vLLM and TGI shapes). */
function containerErrorCode(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { type?: unknown; code?: unknown } | string; type?: unknown; error_type?: unknown };
    const nested = typeof parsed.error === "object" && parsed.error !== null ? parsed.error : {};
    return [nested.type, nested.code, parsed.type, parsed.error_type].filter((v) => typeof v === "string").join(" ");
  } catch {
    return "";
  }
}

function classify(provider: string, error: unknown): UpstreamError {
  const name = error instanceof Error ? error.name : "";
  if (AUTH_ERRORS.test(name)) return upstreamErrorFromHttp(provider, 403, "", { code: name });
  if (name === "ModelStreamError" || name === "InternalStreamFailure") {
    const code = (error as { ErrorCode?: string }).ErrorCode;
    return new UpstreamError("unavailable", provider, `provider "${provider}" failed mid-stream: ${name}${code ? ` (${code})` : ""}`);
  }
  if (!(error instanceof SageMakerRuntimeServiceException)) return upstreamErrorFromUnknown(provider, error);
  const status = error.$metadata.httpStatusCode ?? 500;
  const message = error.message;
  if (error instanceof ModelError) {
    // The container answered an error; SageMaker relays it as 424 with the container's own status.
    const original = error.OriginalStatusCode;
    if (original === undefined || original < 400) {
      return new UpstreamError("unavailable", provider, `provider "${provider}" endpoint's model failed: ${redact(message).slice(0, 300)}`);
    }
    const originalMessage = error.OriginalMessage ?? message;
    const hint = original === 400 && CONTAINER_CONTEXT_HINTS.test(originalMessage) ? "context_length" : "";
    const code = [name, containerErrorCode(originalMessage), hint].filter(Boolean).join(" ");
    return upstreamErrorFromHttp(provider, original, originalMessage, { code });
  }
  switch (name) {
    case "ValidationError":
      // A missing endpoint is reported as a validation error ("Endpoint x of account y not found.").
      if (/endpoint .* not found/i.test(message)) return upstreamErrorFromHttp(provider, 404, message, { code: name });
      return upstreamErrorFromHttp(provider, 400, message, { code: name });
    case "ModelNotReadyException":
      return new UpstreamError("overloaded", provider, `provider "${provider}" endpoint's model is not ready: ${redact(message).slice(0, 200)}`, { status });
    case "ThrottlingException":
      return upstreamErrorFromHttp(provider, 429, message, { code: name });
    case "InternalFailure":
    case "ServiceUnavailable":
    case "InternalDependencyException":
      return new UpstreamError("unavailable", provider, `provider "${provider}" answered HTTP ${status} ${name}`, { status });
    default:
      return upstreamErrorFromHttp(provider, status, message, { code: name });
  }
}

function targetHeaders(target: UpstreamTarget) {
  return {
    ...(target.targetVariant ? { TargetVariant: target.targetVariant } : {}),
    ...(target.inferenceComponent ? { InferenceComponentName: target.inferenceComponent } : {}),
    ...(target.customAttributes ? { CustomAttributes: target.customAttributes } : {}),
  };
}

function parseJson(provider: string, bytes: Uint8Array | undefined): unknown {
  if (!bytes || bytes.length === 0) {
    throw new UpstreamError("malformed", provider, `provider "${provider}" answered with an empty body`);
  }
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
}

/** The container's streamed body as complete lines; PayloadPart events cut lines anywhere. */
async function* bodyLines(body: AsyncIterable<ResponseStream> | undefined): AsyncGenerator<string> {
  if (!body) return;
  const lines = new LineSplitter();
  for await (const event of body) {
    if (event.ModelStreamError) throw event.ModelStreamError;
    if (event.InternalStreamFailure) throw event.InternalStreamFailure;
    const bytes = event.PayloadPart?.Bytes;
    if (bytes) yield* lines.push(bytes);
  }
  yield* lines.flush();
}

export const createSageMakerProvider: ProviderFactory<"sagemaker"> = (name, options: SageMakerOptions, { transport }) => {
  if (Boolean(options.accessKeyId) !== Boolean(options.secretAccessKey)) {
    throw new Error(`providers.${name}: access_key_id and secret_access_key must be given together`);
  }
  const region = options.region ?? process.env.AWS_REGION ?? DEFAULT_REGION;
  const client = new SageMakerRuntimeClient({
    region,
    ...(options.baseUrl ? { endpoint: options.baseUrl } : {}),
    // Without explicit keys the SDK's default chain applies (env, profile, SSO, instance role).
    ...(options.accessKeyId && options.secretAccessKey
      ? {
          credentials: {
            accessKeyId: options.accessKeyId,
            secretAccessKey: options.secretAccessKey,
            ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
          },
        }
      : {}),
    maxAttempts: 1,
    requestHandler: transport.awsHttp1Handler(options.baseUrl ?? `https://runtime.sagemaker.${region}.amazonaws.com`),
  });
  const codec = options.payloadFormat === "tgi" ? tgiPayload(name) : openAIPayload(name);

  const input = (request: CompletionRequest, target: UpstreamTarget, stream: boolean) => ({
    EndpointName: target.model,
    Body: Buffer.from(JSON.stringify(codec.body(request, stream))),
    ContentType: "application/json",
    ...targetHeaders(target),
  });

  return createAdapter<string>({
    name,
    type: "sagemaker",
    timeoutMs: options.timeoutMs,
    classify: (error) => classify(name, error),

    async sendUnary(request, target, signal, headers) {
      const command = new InvokeEndpointCommand({ ...input(request, target, false), Accept: "application/json" });
      addUpstreamHeaders(command, headers);
      const response = await client.send(command, { abortSignal: abortSignalOf(signal) });
      return codec.completion(parseJson(name, response.Body));
    },

    async openStream(request, target, signal, headers) {
      const command = new InvokeEndpointWithResponseStreamCommand(input(request, target, true));
      addUpstreamHeaders(command, headers);
      const response = await client.send(command, { abortSignal: signal });
      return { chunks: bodyLines(response.Body), decoder: codec.streamDecoder() };
    },

    async embed() {
      // No container family shares an embeddings schema over /invocations (LMI, TEI and TGI differ),
      // so the gateway offers none rather than guessing one.
      throw new UpstreamError("unsupported", name, `provider "${name}" (SageMaker) does not offer embeddings through the gateway`);
    },

    // The sockets belong to the shared transport (client.destroy() would close them for every AWS client).
    async close() {},
  });
};
