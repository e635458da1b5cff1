// The one small interface every provider adapter implements. An adapter turns the neutral
// request into its SDK's call, the SDK's answer back into neutral values, and the SDK's errors into
// UpstreamError. It knows nothing of RPC, policy or routing.
import type { ProviderConfig, ProviderType } from "../config/schema.js";
import { UpstreamError } from "../core/errors.js";
import type { Completion, CompletionRequest, Embeddings, EmbeddingRequest, StreamEvent } from "../core/types.js";
import type { Transport } from "./transport.js";

/** What one call needs to know of its target, besides the request. */
export type UpstreamTarget = { model: string; targetVariant?: string; inferenceComponent?: string; customAttributes?: string };

export interface ProviderAdapter {
  /** The provider's name in the configuration. */
  readonly name: string;
  readonly type: ProviderType;
  /** The provider's timeout_ms: routing bounds each unary request and each stream wait by it. */
  readonly timeoutMs?: number;
  /**
   * One upstream call. `signal` carries the caller's deadline and cancellation: when it aborts,
   * the upstream request is aborted and the signal's reason is thrown.
   */
  complete(request: CompletionRequest, target: UpstreamTarget, signal: AbortSignal): Promise<Completion>;
  /** A streamed upstream call; the last event is always `done`. Breaking out aborts the upstream. */
  stream(request: CompletionRequest, target: UpstreamTarget, signal: AbortSignal): AsyncIterable<StreamEvent>;
  /** Embeddings; adapters without them throw UpstreamError("unsupported"). */
  embed(request: EmbeddingRequest, target: UpstreamTarget, signal: AbortSignal): Promise<Embeddings>;
  /** Releases the SDK client's resources (on shutdown or when a reload replaces the adapter). */
  close(): Promise<void>;
}

export type ProviderDeps = { transport: Transport };

export type ProviderFactory<T extends ProviderType> = (
  name: string,
  config: Extract<ProviderConfig, { type: T }>,
  deps: ProviderDeps,
) => ProviderAdapter;

/** When the caller's signal has fired, its reason (deadline or cancel) wins over whatever the SDK threw. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}

/** The client-level timeout handed to SDKs: the caller's deadline (the signal) is what really bounds a call. */
export const SDK_TIMEOUT_MS = 10 * 60 * 1000;

export type DoneEvent = Extract<StreamEvent, { type: "done" }>;

/** What an adapter's stream decoder tells at the end of the upstream stream. */
export type StreamDecoder = { readonly finished: boolean; finish(): DoneEvent };

export function streamEndedEarly(provider: string): UpstreamError {
  return new UpstreamError("unavailable", provider, `provider "${provider}" ended the stream before it finished`);
}

/**
 * The end of an upstream stream. SDKs may end an aborted stream quietly, so the caller's abort is
 * checked first; only a stream the provider itself finished yields `done`, never a made-up one.
 */
export function finishStream(provider: string, decoder: StreamDecoder, signal: AbortSignal): DoneEvent {
  throwIfAborted(signal);
  if (!decoder.finished) throw streamEndedEarly(provider);
  return decoder.finish();
}
