// The one small interface every provider adapter implements. An adapter turns the neutral
// request into its SDK's call, the SDK's answer back into neutral values, and the SDK's errors into
// UpstreamError. It knows nothing of RPC, policy, routing or the config file's schema: it is built
// from plain ProviderOptions (options.ts) and called with a plain UpstreamTarget.
import type { UpstreamSignal } from "../core/cancel.js";
import type { Completion, CompletionRequest, Embeddings, EmbeddingRequest, StreamEvent } from "../core/types.js";
import type { ProviderOptions, ProviderType } from "./options.js";
import type { Transport } from "./transport.js";

export type { ProviderType } from "./options.js";

/** Where one call goes on the provider: the upstream model and, for SageMaker, its invocation options. */
export type UpstreamTarget = {
  /** The upstream model (SageMaker: the endpoint name; Bedrock: model id or inference-profile ARN). */
  model: string;
  targetVariant?: string;
  inferenceComponent?: string;
  customAttributes?: string;
};

/**
 * Headers one attempt adds to its upstream requests (the caller's trace context): passed with the
 * call rather than found in an async-local scope, which on Node 20 would slow every promise of the
 * process once entered.
 */
export type UpstreamHeaders = Readonly<Record<string, string>>;

export interface ProviderAdapter {
  /** The provider's name in the configuration. */
  readonly name: string;
  readonly type: ProviderType;
  /**
   * The provider's configured `timeout_ms`. Adapters do not apply it: routing aborts the attempt's
   * signal when it passes (unary: start to last byte; stream: the wait for the first chunk and each
   * wait between chunks). An adapter only guarantees that an aborted signal ends the upstream request.
   */
  readonly timeoutMs: number | undefined;
  /**
   * One upstream call. `signal` carries the caller's deadline and cancellation: when it aborts,
   * the upstream request is aborted and the signal's reason is thrown. Routing passes a Cancel.
   */
  complete(request: CompletionRequest, target: UpstreamTarget, signal: UpstreamSignal, headers?: UpstreamHeaders): Promise<Completion>;
  /** A streamed upstream call; the last event is always `done`. Breaking out aborts the upstream. */
  stream(request: CompletionRequest, target: UpstreamTarget, signal: UpstreamSignal, headers?: UpstreamHeaders): AsyncIterable<StreamEvent>;
  /** Embeddings; adapters without them throw UpstreamError("unsupported"). */
  embed(request: EmbeddingRequest, target: UpstreamTarget, signal: UpstreamSignal, headers?: UpstreamHeaders): Promise<Embeddings>;
  /** Releases the SDK client's resources (on shutdown or when a reload replaces the adapter). */
  close(): Promise<void>;
}

export type ProviderDeps = { transport: Transport };

export type ProviderFactory<T extends ProviderType> = (
  name: string,
  options: Extract<ProviderOptions, { type: T }>,
  deps: ProviderDeps,
) => ProviderAdapter;

/**
 * The client-level timeout handed to SDKs that insist on one: only a safety net. The caller's
 * deadline and the provider's timeout_ms (both enforced by routing through the signal) are what
 * really bound a call.
 */
export const SDK_TIMEOUT_MS = 10 * 60 * 1000;

export type DoneEvent = Extract<StreamEvent, { type: "done" }>;
