// Picks the targets that may serve a call and in which order (rules, then the alias's strategy),
// runs the attempts (attempts.ts), and bills the answer. Knows aliases, targets and the shared
// upstream error table; knows nothing of any provider's wire format.
import { Code, ConnectError } from "@connectrpc/connect";
import type { AliasConfig, RuleConfig } from "../config/schema.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError, upstreamErrorFromUnknown } from "../core/errors.js";
import { costNanoUsd, type ModelPrice } from "../core/pricing.js";
import { countMessageTokens, roughMessageTokens, roughTokens } from "../core/tokens.js";
import {
  emptyUsage,
  type Completion,
  type CompletionRequest,
  type Embeddings,
  type EmbeddingRequest,
  type StreamEvent,
  type TokenUsage,
} from "../core/types.js";
import { AttemptRunner, RoutingError, type Attempt, type AttemptRecord, type PlannedTarget } from "./attempts.js";
import { openCallScope, type CallScope } from "./deadline.js";
import { RuleSet, type RequestFacts } from "./rules.js";
import { orderTargets } from "./strategies.js";
import { TargetStates } from "./target-state.js";

export { RoutingError, type AttemptRecord };

export type ResolvedTarget = PlannedTarget & { price: ModelPrice | undefined };
export type ResolvedAlias = { name: string; config: AliasConfig; targets: ResolvedTarget[]; roundRobin: number[] };

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

/** A stream that failed after output reached the caller: the partial usage, then the error. */
export class StreamBrokenError extends RoutingError {
  constructor(
    failure: UpstreamError,
    attempts: AttemptRecord[],
    readonly partial: Billed,
  ) {
    super(failure, attempts);
  }
}

/** Options that come from the caller's RPC context, not the request body. */
export type CallOptions = { signal: AbortSignal; deadline?: number; caller?: string };

export type RouterOptions = { states?: TargetStates; rules?: RuleConfig[]; random?: () => number };

export class Router {
  private readonly byName: Map<string, ResolvedAlias>;
  private readonly rules: RuleSet;
  private readonly random: () => number;
  readonly states: TargetStates;

  constructor(aliases: ResolvedAlias[], options: RouterOptions = {}) {
    this.byName = new Map(aliases.map((a) => [a.name, a]));
    this.rules = new RuleSet(options.rules ?? []);
    this.random = options.random ?? Math.random;
    this.states = options.states ?? new TargetStates();
  }

  private active = 0;
  private idle: (() => void)[] = [];

  /** Resolves once no call is running on this router (used to retire it after a reload). */
  whenIdle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  private enter(): void {
    this.active++;
  }

  private leave(): void {
    if (--this.active === 0) for (const wake of this.idle.splice(0)) wake();
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

  /** Rules, then the strategy: the targets this call may use, in the order they are tried. */
  private plan(request: { alias: string; metadata: Record<string, string> }, facts: RequestFacts): { alias: ResolvedAlias; plan: ResolvedTarget[] } {
    let alias = this.resolve(request.alias);
    if (this.rules.empty) return { alias, plan: this.order(alias, alias.config.strategy, alias.targets, facts) };
    const outcome = this.rules.evaluate(facts);
    alias = this.resolve(outcome.alias);
    const allowed = alias.targets.filter((t) => outcome.filters.every((f) => f.test(t.config)));
    if (allowed.length === 0) {
      const why = outcome.filters.map((f) => `rule "${f.rule}" allows ${f.describe}`).join("; ");
      throw new ConnectError(`no target of alias "${alias.name}" satisfies the routing rules (${why})`, Code.FailedPrecondition);
    }
    return { alias, plan: this.order(alias, outcome.strategy ?? alias.config.strategy, allowed, facts) };
  }

  private order(alias: ResolvedAlias, strategy: AliasConfig["strategy"], candidates: ResolvedTarget[], facts: RequestFacts): ResolvedTarget[] {
    if (candidates.length === 1) return candidates;
    return orderTargets(strategy, alias.targets, candidates, {
      random: this.random,
      exploration: alias.config.exploration,
      roundRobin: alias.roundRobin,
      estimateCost: (target) =>
        target.price &&
        costNanoUsd({ ...emptyUsage(), inputTokens: facts.inputTokens(), outputTokens: facts.maxOutputTokens }, target.price),
    });
  }

  private facts(request: CompletionRequest | EmbeddingRequest, options: CallOptions, alias: AliasConfig | undefined): RequestFacts {
    let tokens: number | undefined;
    const messages = "messages" in request ? request.messages : [];
    return {
      alias: request.alias,
      metadata: request.metadata,
      caller: options.caller ?? "",
      inputTokens: () =>
        (tokens ??= "messages" in request ? countMessageTokens(request.messages) : request.inputs.reduce((n, t) => n + roughTokens(t), 0)),
      maxOutputTokens: ("generation" in request ? request.generation.maxOutputTokens : undefined) ?? alias?.assumed_output_tokens ?? 256,
      hasTools: "tools" in request && request.tools.length > 0,
      hasImages: messages.some((m) => m.content.some((p) => p.type === "image")),
    };
  }

  private bill(alias: ResolvedAlias, target: ResolvedTarget, attempts: AttemptRecord[], usage: TokenUsage, version?: string): Billed {
    const cost = costNanoUsd(usage, target.price);
    const served = attempts.findLast((a) => a.outcome === "OK" && a.provider === target.adapter.name && a.targetModel === target.config.model);
    if (served) Object.assign(served, { usage, costNanoUsd: cost });
    return {
      usage,
      costNanoUsd: cost,
      route: {
        alias: alias.name,
        provider: target.adapter.name,
        providerType: target.adapter.type,
        targetModel: target.config.model,
        modelVersion: version,
        attempts,
      },
    };
  }

  private async execute<T>(
    request: CompletionRequest | EmbeddingRequest,
    options: CallOptions,
    attempt: Attempt<T>,
  ): Promise<{ value: T; alias: ResolvedAlias; target: ResolvedTarget; log: AttemptRecord[]; scope: CallScope }> {
    const requested = this.byName.get(request.alias);
    const { alias, plan } = this.plan(request, this.facts(request, options, requested?.config));
    const scope = openCallScope(options.signal, options.deadline, alias.config.timeout_ms);
    const abandoned = (target: PlannedTarget) => {
      const usage = { ...emptyUsage(), inputTokens: abandonedInputTokens(request), estimated: true };
      return { usage, costNanoUsd: costNanoUsd(usage, (target as ResolvedTarget).price) };
    };
    const runner = new AttemptRunner(alias.config, scope, attempt, this.random, abandoned);
    try {
      const { value, target } = await runner.run(plan);
      return { value, alias, target: target as ResolvedTarget, log: runner.log, scope };
    } catch (error) {
      scope.dispose();
      throw error;
    }
  }

  async complete(request: CompletionRequest, options: CallOptions): Promise<RoutedCompletion> {
    this.enter();
    try {
      return await this.completeOnce(request, options);
    } finally {
      this.leave();
    }
  }

  private async completeOnce(request: CompletionRequest, options: CallOptions): Promise<RoutedCompletion> {
    const run = await this.execute(request, options, async (target, signal): Promise<Completion> => {
      try {
        return await target.adapter.complete(request, target.upstream, signal);
      } catch (error) {
        if (isRefusal(error)) return { id: "", text: "", toolCalls: [], finishReason: "content_filter", usage: emptyUsage() };
        throw error;
      }
    });
    run.scope.dispose();
    const c = run.value;
    return { ...c, ...this.bill(run.alias, run.target, run.log, c.usage, c.modelVersion) };
  }

  async *stream(request: CompletionRequest, options: CallOptions): AsyncGenerator<RoutedStreamEvent> {
    this.enter();
    try {
      yield* this.streamOnce(request, options);
    } finally {
      this.leave();
    }
  }

  private async *streamOnce(request: CompletionRequest, options: CallOptions): AsyncGenerator<RoutedStreamEvent> {
    // Fail over only until the first event: once the caller has seen output, a failure ends the call.
    const run = await this.execute(request, options, async (target, signal) => {
      const iterator = target.adapter.stream(request, target.upstream, signal)[Symbol.asyncIterator]();
      try {
        return { iterator, first: await iterator.next() };
      } catch (error) {
        await iterator.return?.().catch(() => undefined);
        if (!isRefusal(error)) throw error;
        const refused: IteratorResult<StreamEvent> = {
          done: false,
          value: { type: "done", id: "", finishReason: "content_filter", usage: emptyUsage() },
        };
        return { iterator, first: refused };
      }
    });
    const { alias, target, log, scope } = run;
    const { iterator } = run.value;
    let next = run.value.first;
    let text = "";
    target.state.inFlight++;
    try {
      while (!next.done) {
        const event = next.value;
        if (event.type === "done") {
          yield { ...event, ...this.bill(alias, target, log, event.usage, event.modelVersion) };
          return;
        }
        if (event.type === "text") text += event.text;
        yield event;
        try {
          next = await iterator.next();
        } catch (error) {
          if (scope.signal.aborted) throw scope.signal.reason;
          const failure = upstreamErrorFromUnknown(target.adapter.name, error);
          log[log.length - 1].outcome = UPSTREAM_ERROR_TABLE[failure.kind].code;
          throw new StreamBrokenError(failure, log, this.bill(alias, target, log, partialUsage(request, text)));
        }
      }
      const failure = new UpstreamError("malformed", target.adapter.name, `provider "${target.adapter.name}" ended the stream without a final event`);
      throw new StreamBrokenError(failure, log, this.bill(alias, target, log, partialUsage(request, text)));
    } finally {
      target.state.inFlight--;
      await iterator.return?.().catch(() => undefined);
      scope.dispose();
    }
  }

  async embed(request: EmbeddingRequest, options: CallOptions): Promise<RoutedEmbeddings> {
    this.enter();
    try {
      const run = await this.execute(request, options, (target, signal) => target.adapter.embed(request, target.upstream, signal));
      run.scope.dispose();
      const e = run.value;
      return { ...e, ...this.bill(run.alias, run.target, run.log, e.usage, e.modelVersion) };
    } finally {
      this.leave();
    }
  }
}

/** A refusal is an answer, not a failure: the caller gets FINISH_REASON_CONTENT_FILTER, unary or streamed. */
function isRefusal(error: unknown): boolean {
  return error instanceof UpstreamError && error.kind === "content_filter";
}

function abandonedInputTokens(request: CompletionRequest | EmbeddingRequest): number {
  return "messages" in request ? roughMessageTokens(request.messages) : request.inputs.reduce((n, t) => n + roughTokens(t), 0);
}

/** What a broken stream consumed, estimated: the whole prompt and the text that got through. */
function partialUsage(request: CompletionRequest, text: string): TokenUsage {
  return { ...emptyUsage(), inputTokens: roughMessageTokens(request.messages), outputTokens: roughTokens(text), estimated: true };
}
