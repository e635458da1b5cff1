// One target's attempts: admission by its circuit breaker, the upstream attempt under its own
// control (linked to the call, with the attempt's timeout), the verdict for the breaker and the
// statistics, and retries with jittered exponential backoff that honours the upstream's retry delay.
// Never starts an attempt with less than min_attempt_ms left, never sleeps past the deadline.
import { ConnectError } from "@connectrpc/connect";
import type { AliasConfig, TargetConfig } from "../config/schema.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError, upstreamErrorFromUnknown, type UpstreamErrorKind } from "../core/errors.js";
import type { Cancel } from "../core/cancel.js";
import type { ModelPrice } from "../core/pricing.js";
import type { TokenUsage } from "../core/types.js";
import type { ProviderAdapter, UpstreamTarget } from "../providers/provider.js";
import { SKIPPED_CIRCUIT_OPEN, type AttemptRecord } from "./billing.js";
import type { Admission, Verdict } from "./circuit-breaker.js";
import type { AttemptControl, CallScope } from "./deadline.js";
import type { AttemptHeaders, AttemptObserver } from "./observer.js";
import type { TargetState } from "./target-state.js";

export type PlannedTarget = {
  config: TargetConfig;
  upstream: UpstreamTarget;
  adapter: ProviderAdapter;
  state: TargetState;
  price: ModelPrice | undefined;
};

/** One upstream attempt; `headers` are what the observer adds to its upstream requests (trace context). */
export type Attempt<T> = (target: PlannedTarget, control: AttemptControl, headers?: AttemptHeaders) => Promise<T>;

/** The attempt that answered. For streams its verdict waits until the stream ends (settleWinner). */
export type Winner<T> = {
  value: T;
  target: PlannedTarget;
  record: AttemptRecord;
  control: AttemptControl;
  admission: Admission;
  /** performance.now() when the attempt started, and how long it took to answer. */
  started: number;
  latencyMs: number;
};

export type Outcome<T> = { ok: true; winner: Winner<T> } | { ok: false; error: UpstreamError | undefined };

export type AttemptContext<T> = {
  policy: AliasConfig;
  scope: CallScope;
  attempt: Attempt<T>;
  random: () => number;
  log: AttemptRecord[];
  /** The bound of the attempt until it answers (unary: the whole request; stream: its first event). */
  answerTimeoutMs(target: PlannedTarget): number | undefined;
  /** Streams: the breaker hears the verdict when the stream ends, not when its first event arrives. */
  deferVerdict: boolean;
  /** What an attempt abandoned in flight is estimated to have consumed. */
  abandoned(target: PlannedTarget): { usage: TokenUsage; costNanoUsd: bigint; priced: boolean };
  /** The last upstream failure seen, for the call's error. */
  last?: UpstreamError;
  /** Watches every upstream attempt (telemetry), with the names it reports them under. */
  observer?: AttemptObserver;
  alias: string;
  strategy: string;
  /** Upstream requests started so far. */
  started: number;
};

/** Why a hedged attempt was cancelled: another target answered first. */
export class HedgeLost extends Error {
  constructor() {
    super("another target answered first");
  }
}

// Failures that are the caller's doing say nothing about the target's health.
const NOT_THE_TARGETS_FAULT = new Set<UpstreamErrorKind>(["invalid_request", "context_length", "content_filter", "unsupported"]);

export function verdictFor(error: UpstreamError): Verdict {
  return NOT_THE_TARGETS_FAULT.has(error.kind) ? "neutral" : "failure";
}

export function attemptTimeout(target: PlannedTarget, ms: number, what: string): UpstreamError {
  const name = target.adapter.name;
  return new UpstreamError("timeout", name, `provider "${name}" sent nothing for ${ms} ms (${what})`);
}

/** A target's run of attempts, which a hedge can cancel at any point (mid-attempt or mid-backoff). */
export class Lane {
  cancelled = false;
  /** Launched by hedge_after_ms beside a silent lane. */
  hedged = false;
  current: AttemptControl | undefined;
  private wake: (() => void) | undefined;

  cancel(reason: Error): void {
    this.cancelled = true;
    this.current?.abort(reason);
    this.wake?.();
  }

  sleep(ms: number, cancel: Cancel): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        cancel.off(done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      cancel.onAbort(done);
      this.wake = done;
    });
  }
}

function record(ctx: AttemptContext<unknown>, target: PlannedTarget): AttemptRecord {
  const entry: AttemptRecord = { provider: target.adapter.name, targetModel: target.config.model, outcome: "PENDING", durationMs: 0 };
  ctx.log.push(entry);
  return entry;
}

function finish(entry: AttemptRecord, outcome: string, started: number): void {
  entry.outcome = outcome;
  entry.durationMs = Math.round(performance.now() - started);
}

/** Settles an answered attempt once its result is known: the breaker's verdict and the statistics. */
export function settleWinner(winner: Winner<unknown>, verdict: Verdict): void {
  const { stats, breaker } = winner.target.state;
  const now = Date.now();
  stats.inFlight--;
  breaker.settle(winner.admission, verdict, now);
  if (verdict === "success") stats.recordSuccess(winner.latencyMs, now);
  else if (verdict === "failure") stats.recordFailure(now);
}

async function attemptOnce<T>(ctx: AttemptContext<T>, target: PlannedTarget, lane: Lane, admission: Admission): Promise<Outcome<T>> {
  const { stats, breaker } = target.state;
  const entry = record(ctx, target);
  const control = ctx.scope.attempt();
  lane.current = control;
  const timeoutMs = ctx.answerTimeoutMs(target);
  control.arm(timeoutMs, () => attemptTimeout(target, timeoutMs ?? 0, "timeout before its answer"));
  const started = performance.now();
  stats.inFlight++;
  ctx.started++;
  try {
    const value = await (ctx.observer ? observed(ctx, target, lane, entry, control) : ctx.attempt(target, control));
    control.disarm();
    const winner: Winner<T> = { value, target, record: entry, control, admission, started, latencyMs: performance.now() - started };
    finish(entry, "OK", started);
    if (!ctx.deferVerdict) settleWinner(winner, "success");
    return { ok: true, winner };
  } catch (thrown) {
    control.disarm();
    stats.inFlight--;
    let failure: unknown = thrown;
    if (control.signal.aborted) {
      const reason: unknown = control.signal.reason;
      if (ctx.scope.cancel.aborted) {
        breaker.settle(admission, "neutral", Date.now());
        finish(entry, "ABORTED", started);
        throw ctx.scope.cancel.reason;
      }
      if (reason instanceof HedgeLost) {
        breaker.settle(admission, "neutral", Date.now());
        finish(entry, "CANCELED_HEDGE_LOST", started);
        Object.assign(entry, ctx.abandoned(target));
        return { ok: false, error: undefined };
      }
      if (reason instanceof UpstreamError) failure = reason; // the attempt's own timeout
    }
    if (failure instanceof ConnectError) {
      breaker.settle(admission, "neutral", Date.now());
      finish(entry, "ABORTED", started);
      throw failure;
    }
    const error = upstreamErrorFromUnknown(target.adapter.name, failure);
    ctx.last = error;
    finish(entry, UPSTREAM_ERROR_TABLE[error.kind].code, started);
    const verdict = verdictFor(error);
    breaker.settle(admission, verdict, Date.now());
    if (verdict === "failure") stats.recordFailure(Date.now());
    return { ok: false, error };
  } finally {
    lane.current = undefined;
  }
}

function observed<T>(ctx: AttemptContext<T>, target: PlannedTarget, lane: Lane, record: AttemptRecord, control: AttemptControl): Promise<T> {
  const start = {
    record,
    alias: ctx.alias,
    strategy: ctx.strategy,
    provider: target.adapter.name,
    providerType: target.adapter.type,
    model: target.config.model,
    number: ctx.started,
    hedged: lane.hedged,
  };
  return ctx.observer!.attempt(start, (headers) => ctx.attempt(target, control, headers));
}

function backoff(policy: AliasConfig, random: () => number, retry: number, retryAfterMs: number | undefined): number {
  const { initial_backoff_ms: initial, max_backoff_ms: max } = policy.retry;
  const exponential = Math.min(max, initial * 2 ** (retry - 1));
  const jittered = exponential * (0.5 + random() * 0.5);
  return Math.max(jittered, retryAfterMs ?? 0);
}

const timeLeft = (ctx: AttemptContext<unknown>): number => ctx.scope.deadline - Date.now();

/** Tries one target, with retries; resolves (never rejects) unless the call itself ended. */
export async function tryTarget<T>(ctx: AttemptContext<T>, target: PlannedTarget, lane: Lane): Promise<Outcome<T>> {
  let previous: Outcome<T> = { ok: false, error: undefined };
  for (let n = 1; ; n++) {
    const admission = target.state.breaker.admit(Date.now());
    if (!admission) {
      if (n === 1) ctx.log.push({ provider: target.adapter.name, targetModel: target.config.model, outcome: SKIPPED_CIRCUIT_OPEN, durationMs: 0 });
      return previous;
    }
    if (timeLeft(ctx) < ctx.policy.min_attempt_ms) {
      target.state.breaker.settle(admission, "neutral", Date.now());
      return previous;
    }
    const outcome = await attemptOnce(ctx, target, lane, admission);
    previous = outcome;
    if (outcome.ok || outcome.error === undefined) return outcome;
    const error = outcome.error;
    if (!UPSTREAM_ERROR_TABLE[error.kind].retrySameTarget || n >= ctx.policy.retry.max_attempts) return outcome;
    const delay = backoff(ctx.policy, ctx.random, n, error.retryAfterMs);
    if (delay + ctx.policy.min_attempt_ms > timeLeft(ctx)) return outcome;
    await lane.sleep(delay, ctx.scope.cancel);
    if (ctx.scope.cancel.aborted) throw ctx.scope.cancel.reason;
    if (lane.cancelled) return { ok: false, error: undefined };
  }
}
