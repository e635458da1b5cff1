// Picks the target that serves a call and walks the fallback chain when it fails. Knows aliases,
// targets and the shared upstream error table; knows nothing of any provider's wire format.
import { Code, ConnectError } from "@connectrpc/connect";
import type { AliasConfig, TargetConfig } from "../config/schema.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError, upstreamErrorFromUnknown } from "../core/errors.js";
import { costNanoUsd, type ModelPrice } from "../core/pricing.js";
import {
  emptyUsage,
  type Completion,
  type CompletionRequest,
  type Embeddings,
  type EmbeddingRequest,
  type StreamEvent,
  type TokenUsage,
} from "../core/types.js";
import type { ProviderAdapter } from "../providers/provider.js";
import { openCallScope } from "./deadline.js";

export type ResolvedTarget = { config: TargetConfig; adapter: ProviderAdapter; price: ModelPrice | undefined };
export type ResolvedAlias = { name: string; config: AliasConfig; targets: ResolvedTarget[] };

export type AttemptRecord = { provider: string; targetModel: string; outcome: string; durationMs: number };
export type RouteInfo = {
  alias: string;
  provider: string;
  providerType: string;
  targetModel: string;
  modelVersion?: string;
  attempts: AttemptRecord[];
};
export type Billed = { usage: TokenUsage; costNanoUsd: bigint; route: RouteInfo };
export type RoutedCompletion = Completion & Billed;
export type RoutedDone = Extract<StreamEvent, { type: "done" }> & Billed;
export type RoutedStreamEvent = Exclude<StreamEvent, { type: "done" }> | RoutedDone;
export type RoutedEmbeddings = Embeddings & Billed;

/** The last upstream failure of a call, with every attempt that led to it. */
export class RoutingError extends Error {
  override readonly name = "RoutingError";
  constructor(
    readonly failure: UpstreamError,
    readonly attempts: AttemptRecord[],
  ) {
    super(failure.message);
  }
}

/** Options that come from the caller's RPC context, not the request body. */
export type CallOptions = { signal: AbortSignal; deadline?: number };

function outcomeOf(error: UpstreamError): string {
  return UPSTREAM_ERROR_TABLE[error.kind].code;
}

export class Router {
  private readonly byName: Map<string, ResolvedAlias>;

  constructor(aliases: ResolvedAlias[]) {
    this.byName = new Map(aliases.map((a) => [a.name, a]));
  }

  list(): ResolvedAlias[] {
    return [...this.byName.values()];
  }

  resolve(alias: string): ResolvedAlias {
    const found = this.byName.get(alias);
    if (found) return found;
    const known = [...this.byName.keys()].sort().join(", ");
    throw new ConnectError(`model: unknown model alias "${alias}" (known: ${known})`, Code.NotFound);
  }

  /** The order in which targets are tried: lowest priority number first, config order within. */
  private plan(alias: ResolvedAlias): ResolvedTarget[] {
    return [...alias.targets].sort((a, b) => a.config.priority - b.config.priority);
  }

  private route(alias: ResolvedAlias, target: ResolvedTarget, attempts: AttemptRecord[], modelVersion?: string): RouteInfo {
    return {
      alias: alias.name,
      provider: target.adapter.name,
      providerType: target.adapter.type,
      targetModel: target.config.model,
      modelVersion,
      attempts,
    };
  }

  private bill(alias: ResolvedAlias, target: ResolvedTarget, attempts: AttemptRecord[], usage: TokenUsage, version?: string): Billed {
    return { usage, costNanoUsd: costNanoUsd(usage, target.price), route: this.route(alias, target, attempts, version) };
  }

  /**
   * Runs `attempt` on each planned target until one succeeds or a failure says trying another
   * target is pointless. The caller's signal is checked first: its reason (deadline or cancel)
   * always wins over an upstream error.
   */
  private async fallback<T>(
    alias: ResolvedAlias,
    signal: AbortSignal,
    attempt: (target: ResolvedTarget, attempts: AttemptRecord[]) => Promise<T>,
  ): Promise<T> {
    const attempts: AttemptRecord[] = [];
    let last: UpstreamError | undefined;
    for (const target of this.plan(alias)) {
      if (signal.aborted) throw signal.reason;
      const started = performance.now();
      const record = (outcome: string) =>
        attempts.push({
          provider: target.adapter.name,
          targetModel: target.config.model,
          outcome,
          durationMs: Math.round(performance.now() - started),
        });
      try {
        const result = await attempt(target, attempts);
        record("OK");
        return result;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (error instanceof ConnectError) throw error;
        last = upstreamErrorFromUnknown(target.adapter.name, error);
        record(outcomeOf(last));
        if (!UPSTREAM_ERROR_TABLE[last.kind].tryOtherTarget) break;
      }
    }
    throw new RoutingError(last ?? new UpstreamError("unavailable", alias.name, "no target could serve the call"), attempts);
  }

  async complete(request: CompletionRequest, options: CallOptions): Promise<RoutedCompletion> {
    const alias = this.resolve(request.alias);
    const scope = openCallScope(options.signal, options.deadline, alias.config.timeout_ms);
    try {
      return await this.fallback(alias, scope.signal, async (target, attempts) => {
        try {
          const completion = await target.adapter.complete(request, target.config, scope.signal);
          return { ...completion, ...this.bill(alias, target, attempts, completion.usage, completion.modelVersion) };
        } catch (error) {
          if (error instanceof UpstreamError && error.kind === "content_filter") {
            // A refusal is an answer, not a failure: the caller gets FINISH_REASON_CONTENT_FILTER.
            const usage = emptyUsage();
            return { id: "", text: "", toolCalls: [], finishReason: "content_filter", ...this.bill(alias, target, attempts, usage) };
          }
          throw error;
        }
      });
    } finally {
      scope.dispose();
    }
  }

  async *stream(request: CompletionRequest, options: CallOptions): AsyncGenerator<RoutedStreamEvent> {
    const alias = this.resolve(request.alias);
    const scope = openCallScope(options.signal, options.deadline, alias.config.timeout_ms);
    let upstream: AsyncIterator<StreamEvent> | undefined;
    try {
      // Fail over only until the first event: once the caller has seen output, a failure ends the call.
      const opened = await this.fallback(alias, scope.signal, async (target, attempts) => {
        const iterator = target.adapter.stream(request, target.config, scope.signal)[Symbol.asyncIterator]();
        try {
          const first = await iterator.next();
          return { target, attempts, iterator, first };
        } catch (error) {
          await iterator.return?.();
          throw error;
        }
      });
      upstream = opened.iterator;
      const { target, attempts } = opened;
      let next = opened.first;
      while (!next.done) {
        const event = next.value;
        if (event.type === "done") {
          yield { ...event, ...this.bill(alias, target, attempts, event.usage, event.modelVersion) };
          return;
        }
        yield event;
        try {
          next = await upstream.next();
        } catch (error) {
          if (scope.signal.aborted) throw scope.signal.reason;
          const failure = upstreamErrorFromUnknown(target.adapter.name, error);
          attempts[attempts.length - 1].outcome = outcomeOf(failure);
          throw new RoutingError(failure, attempts);
        }
      }
      throw new RoutingError(
        new UpstreamError("malformed", target.adapter.name, `provider "${target.adapter.name}" ended the stream without a final event`),
        attempts,
      );
    } finally {
      await upstream?.return?.();
      scope.dispose();
    }
  }

  async embed(request: EmbeddingRequest, options: CallOptions): Promise<RoutedEmbeddings> {
    const alias = this.resolve(request.alias);
    const scope = openCallScope(options.signal, options.deadline, alias.config.timeout_ms);
    try {
      return await this.fallback(alias, scope.signal, async (target, attempts) => {
        const result = await target.adapter.embed(request, target.config, scope.signal);
        return { ...result, ...this.bill(alias, target, attempts, result.usage, result.modelVersion) };
      });
    } finally {
      scope.dispose();
    }
  }
}
