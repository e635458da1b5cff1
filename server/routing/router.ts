// Picks the targets that may serve a call and in which order (rules, then the alias's strategy),
// runs the plan (hedging.ts, retry-loop.ts), fails streams over until their first event, bounds
// every upstream wait by the target's timeouts, and bills the answer (billing.ts). Knows aliases,
// targets and the shared upstream error table; knows nothing of any provider's wire format.
import { Code, ConnectError } from "@connectrpc/connect";
import type { AliasConfig, RuleConfig } from "../config/schema.js";
import type { RouteAccess } from "../policy/chain.js";
import type { AliasReach } from "../policy/limits-step.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError, upstreamErrorFromUnknown } from "../core/errors.js";
import type { Cancel } from "../core/cancel.js";
import { costNanoUsd } from "../core/pricing.js";
import { countMessageTokens, roughTokens } from "../core/tokens.js";
import {
  emptyUsage,
  type Completion,
  type CompletionRequest,
  type Embeddings,
  type EmbeddingRequest,
  type StreamEvent,
  type TokenUsage,
} from "../core/types.js";
import { abandonedUsage, billAttempt, partialUsage, type AttemptRecord, type Billed, type RouteInfo } from "./billing.js";
import type { Verdict } from "./circuit-breaker.js";
import { openCallScope, type CallScope } from "./deadline.js";
import { RoutingError, runPlan } from "./hedging.js";
import type { AttemptObserver } from "./observer.js";
import { attemptTimeout, settleWinner, verdictFor, type Attempt, type AttemptContext, type PlannedTarget, type Winner } from "./retry-loop.js";
import { RuleSet, regionMatches, type RequestFacts } from "./rules.js";
import { orderTargets } from "./strategies.js";
import { TargetStates } from "./target-state.js";

export { RoutingError, type AttemptRecord, type Billed, type RouteInfo };

export type ResolvedTarget = PlannedTarget;
export type ResolvedAlias = { name: string; config: AliasConfig; targets: ResolvedTarget[]; roundRobin: number[] };

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

/** A stream the caller's cancel or deadline ended after output reached it: the status, and what was consumed. */
export class StreamInterruptedError extends ConnectError {
  // ConnectError's own instanceof check matches any ConnectError by brand; this one needs the partial usage.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof ConnectError && (value as { partial?: unknown }).partial !== undefined;
  }

  constructor(
    reason: unknown,
    readonly partial: Billed,
  ) {
    const status = reason instanceof ConnectError ? reason : ConnectError.from(reason, Code.Canceled);
    super(status.rawMessage, status.code);
  }
}

/** Options that come from the caller's RPC context, not the request body. */
export type CallOptions = {
  /** The caller's cancel (the router adds the deadline). */
  cancel: Cancel;
  deadline?: number;
  caller?: string;
  team?: string;
  /** The caller's key restrictions: allowed aliases (checked after rules), providers, regions. */
  access?: RouteAccess;
  /** Watches each upstream attempt (telemetry: spans, trace context on the upstream request). */
  observer?: AttemptObserver;
  /** Streams: told the serving target once failover is over, before its first event is yielded. */
  onServing?(provider: string, model: string): void;
};

export type RouterOptions = { states?: TargetStates; rules?: RuleConfig[]; random?: () => number };

type Run<T> = { winner: Winner<T>; alias: ResolvedAlias; log: AttemptRecord[]; scope: CallScope };

/** A refusal is an answer, not a failure: the caller gets FINISH_REASON_CONTENT_FILTER, unary or streamed. */
function isRefusal(error: unknown): boolean {
  return error instanceof UpstreamError && error.kind === "content_filter";
}

const refusedEvent = (): StreamEvent => ({ type: "done", id: "", finishReason: "content_filter", usage: emptyUsage() });

type OpenedStream = { iterator: AsyncIterator<StreamEvent>; first: IteratorResult<StreamEvent> };

export class Router {
  private readonly byName: Map<string, ResolvedAlias>;
  private readonly rules: RuleSet;
  private readonly ruleConfigs: RuleConfig[];
  private readonly reaches = new Map<string, AliasReach>();
  private readonly random: () => number;
  readonly states: TargetStates;
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(aliases: ResolvedAlias[], options: RouterOptions = {}) {
    this.byName = new Map(aliases.map((a) => [a.name, a]));
    this.rules = new RuleSet(options.rules ?? []);
    this.ruleConfigs = options.rules ?? [];
    this.random = options.random ?? Math.random;
    this.states = options.states ?? new TargetStates();
  }

  /** Whether no call is running on this router now. */
  get idle(): boolean {
    return this.active === 0;
  }

  /** Resolves once no call is running on this router (used to retire it after a reload). */
  whenIdle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private leave(): void {
    if (--this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  list(): ResolvedAlias[] {
    return [...this.byName.values()];
  }

  /** The alias by name; NOT_FOUND lists the aliases the caller may use. */
  resolve(alias: string, access?: RouteAccess): ResolvedAlias {
    const found = this.byName.get(alias);
    if (found) return found;
    const known = [...this.byName.keys()].filter((name) => access?.allowAlias(name) ?? true).sort().join(", ");
    throw new ConnectError(`model: unknown model alias "${alias}" (known: ${known})`, Code.NotFound);
  }

  /**
   * The targets a call on `alias` could be billed at — its own and those of every alias a rule may
   * redirect it to — for the policy's cost bound. Cached: a router is one config generation.
   */
  reach(alias: string): AliasReach | undefined {
    const cached = this.reaches.get(alias);
    if (cached) return cached;
    const own = this.byName.get(alias);
    if (!own) return undefined;
    const aliases = new Set([own]);
    for (const rule of this.ruleConfigs) {
      const when = rule.when.alias === undefined ? undefined : [rule.when.alias].flat();
      const to = rule.then.alias === undefined ? undefined : this.byName.get(rule.then.alias);
      // A rule without an alias condition may fire on any alias (also after another redirect).
      if (to && (when === undefined || when.includes(alias))) aliases.add(to);
    }
    const reach: AliasReach = {
      targets: [...aliases].flatMap((a) =>
        a.targets.map((t) => ({ name: `${t.adapter.name}/${t.config.model}`, providerType: t.adapter.type, model: t.config.model, price: t.price })),
      ),
      hedging: [...aliases].some((a) => a.config.hedge_after_ms !== undefined),
      assumedOutputTokens: own.config.assumed_output_tokens,
    };
    this.reaches.set(alias, reach);
    return reach;
  }

  /** Rules, then the caller's restrictions, then the strategy: the targets this call may use, in order. */
  private plan(facts: RequestFacts, access: RouteAccess | undefined): { alias: ResolvedAlias; plan: ResolvedTarget[]; strategy: AliasConfig["strategy"] } {
    let alias = this.resolve(facts.alias, access);
    if (this.rules.empty && !access) return { alias, plan: this.order(alias, alias.config.strategy, alias.targets, facts), strategy: alias.config.strategy };
    const outcome = this.rules.empty ? { alias: alias.name, filters: [], strategy: undefined } : this.rules.evaluate(facts);
    alias = this.resolve(outcome.alias, access);
    if (access && !access.allowAlias(alias.name)) throw access.denied(alias.name);
    const byRules = alias.targets.filter((t) => outcome.filters.every((f) => f.test(t.config)));
    if (byRules.length === 0) {
      const why = outcome.filters.map((f) => `rule "${f.rule}" allows ${f.describe}`).join("; ");
      throw new ConnectError(`no target of alias "${alias.name}" satisfies the routing rules (${why})`, Code.FailedPrecondition);
    }
    const allowed = access ? byRules.filter((t) => permits(access, t)) : byRules;
    if (allowed.length === 0) {
      const why = [...access!.providers.map((p) => `providers ${p.join(", ")}`), ...access!.regions.map((r) => `regions ${r.join(", ")}`)].join("; ");
      throw new ConnectError(`no target of alias "${alias.name}" is allowed for ${access!.describe} (${why})`, Code.FailedPrecondition);
    }
    const strategy = outcome.strategy ?? alias.config.strategy;
    return { alias, plan: this.order(alias, strategy, allowed, facts), strategy };
  }

  private order(alias: ResolvedAlias, strategy: AliasConfig["strategy"], candidates: ResolvedTarget[], facts: RequestFacts): ResolvedTarget[] {
    if (candidates.length === 1) return candidates;
    return orderTargets(strategy, alias.targets, candidates, {
      random: this.random,
      exploration: alias.config.exploration,
      roundRobin: alias.roundRobin,
      estimateCost(target) {
        return target.price && costNanoUsd({ ...emptyUsage(), inputTokens: facts.inputTokens(), outputTokens: facts.maxOutputTokens }, target.price);
      },
    });
  }

  private facts(request: CompletionRequest | EmbeddingRequest, options: CallOptions): RequestFacts {
    let tokens: number | undefined;
    const messages = "messages" in request ? request.messages : [];
    return {
      alias: request.alias,
      metadata: request.metadata,
      caller: options.caller ?? "",
      team: options.team ?? "",
      inputTokens() {
        return (tokens ??= "messages" in request ? countMessageTokens(request.messages) : request.inputs.reduce((n, t) => n + roughTokens(t), 0));
      },
      maxOutputTokens:
        ("generation" in request ? request.generation.maxOutputTokens : undefined) ??
        this.byName.get(request.alias)?.config.assumed_output_tokens ??
        256,
      hasTools: "tools" in request && request.tools.length > 0,
      hasImages: messages.some((m) => m.content.some((p) => p.type === "image")),
    };
  }

  private bill(run: Run<unknown>, usage: TokenUsage, version?: string): Billed {
    const { target, record } = run.winner;
    const billed = { provider: target.adapter.name, providerType: target.adapter.type, model: target.config.model, price: target.price };
    return billAttempt(run.alias.name, billed, record, run.log, usage, version);
  }

  /** Plans the call and runs it to its first answer. The scope stays open for the caller to dispose. */
  private async execute<T>(
    request: CompletionRequest | EmbeddingRequest,
    options: CallOptions,
    attempt: Attempt<T>,
    stream?: { answerTimeoutMs(target: PlannedTarget): number | undefined; discard(value: T): void },
  ): Promise<Run<T>> {
    const { alias, plan, strategy } = this.plan(this.facts(request, options), options.access);
    const scope = openCallScope(options.cancel, options.deadline, alias.config.timeout_ms);
    const ctx: AttemptContext<T> = {
      policy: alias.config,
      scope,
      attempt,
      random: this.random,
      log: [],
      observer: options.observer,
      alias: alias.name,
      strategy,
      started: 0,
      answerTimeoutMs: stream?.answerTimeoutMs ?? ((target) => target.adapter.timeoutMs),
      deferVerdict: stream !== undefined,
      abandoned(target) {
        const usage = abandonedUsage(request);
        return { usage, costNanoUsd: costNanoUsd(usage, target.price), priced: target.price !== undefined };
      },
    };
    try {
      const winner = await runPlan(ctx, plan, stream?.discard ?? (() => undefined));
      return { winner, alias, log: ctx.log, scope };
    } catch (error) {
      scope.dispose();
      throw error;
    }
  }

  async complete(request: CompletionRequest, options: CallOptions): Promise<RoutedCompletion> {
    this.active++;
    try {
      const run = await this.execute(request, options, async (target, control, headers): Promise<Completion> => {
        try {
          return await target.adapter.complete(request, target.upstream, control.signal, headers);
        } catch (error) {
          if (isRefusal(error)) return { id: "", text: "", toolCalls: [], finishReason: "content_filter", usage: emptyUsage() };
          throw error;
        }
      });
      run.scope.dispose();
      const c = run.winner.value;
      return { ...c, ...this.bill(run, c.usage, c.modelVersion) };
    } finally {
      this.leave();
    }
  }

  async embed(request: EmbeddingRequest, options: CallOptions): Promise<RoutedEmbeddings> {
    this.active++;
    try {
      const run = await this.execute(request, options, (target, control, headers) => target.adapter.embed(request, target.upstream, control.signal, headers));
      run.scope.dispose();
      const e = run.winner.value;
      return { ...e, ...this.bill(run, e.usage, e.modelVersion) };
    } finally {
      this.leave();
    }
  }

  async *stream(request: CompletionRequest, options: CallOptions): AsyncGenerator<RoutedStreamEvent> {
    this.active++;
    try {
      yield* this.streamOnce(request, options);
    } finally {
      this.leave();
    }
  }

  private async *streamOnce(request: CompletionRequest, options: CallOptions): AsyncGenerator<RoutedStreamEvent> {
    const alias = this.byName.get(request.alias)?.config;
    // The wait for the first event and each wait between events are bounded by the smaller of the
    // alias's stream timeouts and the provider's timeout_ms, whatever the caller's deadline.
    const bound = (aliasMs: number | undefined, target: PlannedTarget) => minDefined(aliasMs, target.adapter.timeoutMs);
    const firstMs = (target: PlannedTarget) => bound(alias?.first_chunk_timeout_ms, target);
    // Fail over only until the first event: once the caller has seen output, a failure ends the call.
    const run = await this.execute(
      request,
      options,
      async (target, control, headers): Promise<OpenedStream> => {
        const iterator = target.adapter.stream(request, target.upstream, control.signal, headers)[Symbol.asyncIterator]();
        try {
          return { iterator, first: await iterator.next() };
        } catch (error) {
          await iterator.return?.().catch(() => undefined);
          if (!isRefusal(error)) throw error;
          return { iterator, first: { done: false, value: refusedEvent() } };
        }
      },
      { answerTimeoutMs: firstMs, discard: (opened) => void opened.iterator.return?.().catch(() => undefined) },
    );
    const { winner, scope, log } = run;
    const { target, control } = winner;
    const { iterator } = winner.value;
    options.onServing?.(target.adapter.name, target.config.model);
    const idleMs = bound(run.alias.config.idle_timeout_ms, target);
    let next = winner.value.first;
    let text = "";
    let verdict: Verdict = "neutral";
    let finished = false;
    try {
      while (!next.done) {
        const event = next.value;
        if (event.type === "done") {
          verdict = "success";
          finished = true;
          yield { ...event, ...this.bill(run, event.usage, event.modelVersion) };
          return;
        }
        if (event.type === "text") text += event.text;
        yield event;
        control.arm(idleMs, () => attemptTimeout(target, idleMs ?? 0, "idle between stream chunks"));
        try {
          next = await iterator.next();
        } catch (thrown) {
          const partial = () => this.bill(run, partialUsage(request, text));
          if (scope.cancel.aborted) {
            winner.record.outcome = "ABORTED";
            throw new StreamInterruptedError(scope.cancel.reason, partial());
          }
          const reason: unknown = control.signal.aborted ? control.signal.reason : thrown;
          const failure = upstreamErrorFromUnknown(target.adapter.name, reason);
          verdict = verdictFor(failure);
          winner.record.outcome = UPSTREAM_ERROR_TABLE[failure.kind].code;
          throw new StreamBrokenError(failure, log, partial());
        } finally {
          control.disarm();
        }
      }
      verdict = "failure";
      winner.record.outcome = "UNAVAILABLE";
      const failure = new UpstreamError("malformed", target.adapter.name, `provider "${target.adapter.name}" ended the stream without a final event`);
      throw new StreamBrokenError(failure, log, this.bill(run, partialUsage(request, text)));
    } finally {
      settleWinner(winner, verdict);
      if (!finished) control.abort(new ConnectError("the stream ended before its final event", Code.Canceled));
      await iterator.return?.().catch(() => undefined);
      scope.dispose();
    }
  }
}

function permits(access: RouteAccess, target: ResolvedTarget): boolean {
  return (
    access.providers.every((allowed) => allowed.includes(target.adapter.name)) &&
    access.regions.every((allowed) => regionMatches(target.config.region, allowed))
  );
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
