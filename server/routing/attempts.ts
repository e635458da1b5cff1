// Runs a call over its planned targets: retries with jittered exponential backoff that honours the
// upstream's retry delay, circuit breakers, fallback down the plan, and optional hedging — all
// inside the caller's deadline. Never starts an attempt it cannot finish in time, never sleeps past
// the deadline. Knows nothing of what an attempt does (unary call, stream opening, embeddings).
import { Code, ConnectError } from "@connectrpc/connect";
import type { AliasConfig, TargetConfig } from "../config/schema.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError, upstreamErrorFromUnknown, type UpstreamErrorKind } from "../core/errors.js";
import type { TokenUsage } from "../core/types.js";
import type { ProviderAdapter, UpstreamTarget } from "../providers/provider.js";
import type { CallScope } from "./deadline.js";
import type { TargetState } from "./target-state.js";

export type PlannedTarget = { config: TargetConfig; upstream: UpstreamTarget; adapter: ProviderAdapter; state: TargetState };
export type AttemptRecord = {
  provider: string;
  targetModel: string;
  outcome: string;
  durationMs: number;
  /** What the attempt consumed: the served answer's usage, or an estimate for an aborted hedge. */
  usage?: TokenUsage;
  costNanoUsd?: bigint;
};

/** The usage a target would bill for an attempt abandoned in flight (an estimate). */
export type AbandonedUsage = (target: PlannedTarget) => { usage: TokenUsage; costNanoUsd: bigint };
export type Attempt<T> = (target: PlannedTarget, signal: AbortSignal) => Promise<T>;

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

// Failures that are the caller's doing say nothing about the target's health.
const NOT_THE_TARGETS_FAULT = new Set<UpstreamErrorKind>(["invalid_request", "context_length", "content_filter", "unsupported"]);

class HedgeLost extends Error {
  constructor() {
    super("another target answered first");
  }
}

type Outcome<T> = { ok: true; value: T; target: PlannedTarget } | { ok: false; error: UpstreamError | undefined };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

export class AttemptRunner<T> {
  readonly log: AttemptRecord[] = [];
  private last: UpstreamError | undefined;

  constructor(
    private readonly policy: AliasConfig,
    private readonly scope: CallScope,
    private readonly attempt: Attempt<T>,
    private readonly random: () => number = Math.random,
    /** Estimates what a hedged attempt aborted in flight consumed, so it is still counted. */
    private readonly abandoned?: AbandonedUsage,
  ) {}

  private backoff(retry: number, retryAfterMs: number | undefined): number {
    const { initial_backoff_ms: initial, max_backoff_ms: max } = this.policy.retry;
    const exponential = Math.min(max, initial * 2 ** (retry - 1));
    const jittered = exponential * (0.5 + this.random() * 0.5);
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  private record(target: PlannedTarget, outcome: string, started: number, consumed?: ReturnType<AbandonedUsage>): void {
    this.log.push({
      provider: target.adapter.name,
      targetModel: target.config.model,
      outcome,
      durationMs: Math.round(performance.now() - started),
      ...consumed,
    });
  }

  private timeLeft(): number {
    return this.scope.deadline - Date.now();
  }

  /** Tries one target, with retries; resolves (never rejects) unless the caller's signal fired. */
  private async tryTarget(target: PlannedTarget, signal: AbortSignal): Promise<Outcome<T>> {
    const state = target.state;
    if (!state.admit(Date.now())) {
      this.log.push({ provider: target.adapter.name, targetModel: target.config.model, outcome: "SKIPPED_CIRCUIT_OPEN", durationMs: 0 });
      return { ok: false, error: undefined };
    }
    for (let n = 1; ; n++) {
      if (this.timeLeft() < this.policy.min_attempt_ms) {
        state.recordAbandoned();
        return { ok: false, error: undefined };
      }
      const outcome = await this.attemptOnce(target, signal);
      if (outcome.ok || outcome.error === undefined) return outcome;
      const error = outcome.error;
      if (!UPSTREAM_ERROR_TABLE[error.kind].retrySameTarget || n >= this.policy.retry.max_attempts) return outcome;
      const delay = this.backoff(n, error.retryAfterMs);
      if (delay + this.policy.min_attempt_ms > this.timeLeft()) return outcome;
      await sleep(delay, signal);
      if (signal.aborted) {
        if (this.scope.signal.aborted) throw this.scope.signal.reason;
        return { ok: false, error: undefined };
      }
      if (!state.admit(Date.now())) return outcome;
    }
  }

  /** One upstream attempt, recorded in the attempt log and the target's statistics. */
  private async attemptOnce(target: PlannedTarget, signal: AbortSignal): Promise<Outcome<T>> {
    const state = target.state;
    const started = performance.now();
    state.inFlight++;
    try {
      const value = await this.attempt(target, signal);
      state.recordSuccess(performance.now() - started, Date.now());
      this.record(target, "OK", started);
      return { ok: true, value, target };
    } catch (thrown) {
      if (signal.aborted) {
        state.recordAbandoned();
        if (this.scope.signal.aborted) {
          this.record(target, "ABORTED", started);
          throw this.scope.signal.reason;
        }
        this.record(target, "CANCELED_HEDGE_LOST", started, this.abandoned?.(target));
        return { ok: false, error: undefined };
      }
      if (thrown instanceof ConnectError) throw thrown;
      const error = upstreamErrorFromUnknown(target.adapter.name, thrown);
      this.last = error;
      this.record(target, UPSTREAM_ERROR_TABLE[error.kind].code, started);
      if (!NOT_THE_TARGETS_FAULT.has(error.kind)) state.recordFailure(Date.now(), this.policy.circuit);
      return { ok: false, error };
    } finally {
      state.inFlight--;
    }
  }

  /** Which of the remaining targets may still be tried after `error` on `failed`. */
  private remainingAfter(error: UpstreamError | undefined, failed: PlannedTarget, rest: PlannedTarget[]): PlannedTarget[] {
    if (error === undefined || UPSTREAM_ERROR_TABLE[error.kind].tryOtherTarget) return rest;
    if (error.kind === "context_length") {
      // A prompt too long for one model may fit a target with a larger context window.
      const window = failed.config.context_window ?? 0;
      return window > 0 ? rest.filter((t) => (t.config.context_window ?? 0) > window) : [];
    }
    return [];
  }

  /** Walks the plan; resolves with the first success or rejects with the last failure. */
  async run(plan: PlannedTarget[]): Promise<{ value: T; target: PlannedTarget }> {
    const queue = [...plan];
    const hedgeAfter = this.policy.hedge_after_ms;
    let hedged = false;
    type Running = { target: PlannedTarget; controller?: AbortController; done: Promise<Outcome<T>> };
    const running = new Set<Running>();
    const launch = () => {
      const target = queue.shift();
      if (!target) return;
      if (hedgeAfter === undefined) {
        // Without hedging no attempt is ever cancelled on its own: the call's signal is enough.
        running.add({ target, done: this.tryTarget(target, this.scope.signal) });
        return;
      }
      const controller = new AbortController();
      const onAbort = () => controller.abort(this.scope.signal.reason);
      this.scope.signal.addEventListener("abort", onAbort, { once: true });
      const done = this.tryTarget(target, controller.signal).finally(() => this.scope.signal.removeEventListener("abort", onAbort));
      running.add({ target, controller, done });
    };
    launch();
    try {
      while (running.size > 0) {
        const contenders: Promise<Running | "hedge">[] = [...running].map((r) => r.done.then(() => r));
        let hedgeTimer: NodeJS.Timeout | undefined;
        if (hedgeAfter !== undefined && !hedged && running.size === 1 && queue.length > 0) {
          contenders.push(new Promise((resolve) => (hedgeTimer = setTimeout(() => resolve("hedge"), hedgeAfter))));
        }
        const settled = await Promise.race(contenders);
        clearTimeout(hedgeTimer);
        if (settled === "hedge") {
          hedged = true;
          launch();
          continue;
        }
        running.delete(settled);
        const outcome = await settled.done;
        if (outcome.ok) {
          for (const other of running) other.controller?.abort(new HedgeLost());
          await Promise.allSettled([...running].map((r) => r.done));
          return { value: outcome.value, target: outcome.target };
        }
        const allowed = this.remainingAfter(outcome.error, settled.target, queue);
        queue.splice(0, queue.length, ...allowed);
        if (running.size === 0) launch();
      }
    } finally {
      for (const other of running) other.controller?.abort(new HedgeLost());
    }
    if (this.scope.signal.aborted) throw this.scope.signal.reason;
    if (this.last) throw new RoutingError(this.last, this.log);
    if (this.timeLeft() < this.policy.min_attempt_ms) {
      throw new ConnectError("the call's deadline left no time for an upstream attempt", Code.DeadlineExceeded);
    }
    const now = Date.now();
    const retryAfterMs = Math.min(...plan.map((t) => t.state.cooldownLeft(now)));
    const error = new UpstreamError("unavailable", "gateway", "every target of this alias is cooling down after failures (circuit open)", {
      retryAfterMs: Number.isFinite(retryAfterMs) ? retryAfterMs : undefined,
    });
    throw new RoutingError(error, this.log);
  }
}
