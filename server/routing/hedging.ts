// Walks a call's plan: fallback down the ordered targets, and — with hedge_after_ms — a second
// target started when the first is silent that long. The first answer wins; every other lane is
// cancelled (its upstream request aborted) and its estimated consumption stays in the attempt log.
import { Code, ConnectError } from "@connectrpc/connect";
import { UPSTREAM_ERROR_TABLE, UpstreamError } from "../core/errors.js";
import type { AttemptRecord } from "./billing.js";
import { HedgeLost, Lane, settleWinner, tryTarget, type AttemptContext, type Outcome, type PlannedTarget, type Winner } from "./retry-loop.js";

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

/** Which of the remaining targets may still be tried after `error` on `failed`. */
function remainingAfter(error: UpstreamError | undefined, failed: PlannedTarget, rest: PlannedTarget[]): PlannedTarget[] {
  if (error === undefined || UPSTREAM_ERROR_TABLE[error.kind].tryOtherTarget) return rest;
  if (error.kind === "context_length") {
    // A prompt too long for one model may fit a target with a larger context window.
    const window = failed.config.context_window ?? 0;
    return window > 0 ? rest.filter((t) => (t.config.context_window ?? 0) > window) : [];
  }
  return [];
}

type Running<T> = { target: PlannedTarget; lane: Lane; done: Promise<Outcome<T>> };

/** A lane that answered after the race was decided: its answer is dropped and its upstream aborted. */
function dropLateWinner<T>(ctx: AttemptContext<T>, winner: Winner<T>, discard: (value: T) => void): void {
  winner.control.abort(new HedgeLost());
  winner.record.outcome = "CANCELED_HEDGE_LOST";
  Object.assign(winner.record, ctx.abandoned(winner.target));
  if (ctx.deferVerdict) settleWinner(winner, "neutral");
  discard(winner.value);
}

/** Resolves with the first answer, or rejects with the call's last failure. */
export function runPlan<T>(ctx: AttemptContext<T>, plan: PlannedTarget[], discard: (value: T) => void): Promise<Winner<T>> {
  return ctx.policy.hedge_after_ms === undefined ? walkPlan(ctx, plan) : racePlan(ctx, plan, discard);
}

/** Without hedging one lane runs at a time: down the plan until a target answers. */
async function walkPlan<T>(ctx: AttemptContext<T>, plan: PlannedTarget[]): Promise<Winner<T>> {
  let queue = plan;
  while (queue.length > 0) {
    const target = queue[0]!;
    const outcome = await tryTarget(ctx, target, new Lane());
    if (outcome.ok) return outcome.winner;
    queue = remainingAfter(outcome.error, target, queue.slice(1));
  }
  return noAnswer(ctx, plan);
}

/** With hedge_after_ms: a second lane joins a silent first one, and the first answer wins. */
async function racePlan<T>(ctx: AttemptContext<T>, plan: PlannedTarget[], discard: (value: T) => void): Promise<Winner<T>> {
  const queue = [...plan];
  const hedgeAfter = ctx.policy.hedge_after_ms;
  let hedged = false;
  const running = new Set<Running<T>>();
  const launch = (hedge = false) => {
    const target = queue.shift();
    if (!target) return;
    const lane = new Lane();
    lane.hedged = hedge;
    running.add({ target, lane, done: tryTarget(ctx, target, lane) });
  };
  const cancelOthers = async () => {
    for (const other of running) other.lane.cancel(new HedgeLost());
    const late = await Promise.allSettled([...running].map((r) => r.done));
    running.clear();
    for (const result of late) if (result.status === "fulfilled" && result.value.ok) dropLateWinner(ctx, result.value.winner, discard);
  };
  launch();
  try {
    while (running.size > 0) {
      const contenders: Promise<Running<T> | "hedge">[] = [...running].map((r) => r.done.then(() => r));
      let hedgeTimer: NodeJS.Timeout | undefined;
      if (hedgeAfter !== undefined && !hedged && running.size === 1 && queue.length > 0) {
        contenders.push(new Promise((resolve) => (hedgeTimer = setTimeout(() => resolve("hedge"), hedgeAfter))));
      }
      const settled = await Promise.race(contenders);
      clearTimeout(hedgeTimer);
      if (settled === "hedge") {
        hedged = true;
        launch(true);
        continue;
      }
      running.delete(settled);
      const outcome = await settled.done;
      if (outcome.ok) {
        await cancelOthers();
        return outcome.winner;
      }
      queue.splice(0, queue.length, ...remainingAfter(outcome.error, settled.target, queue));
      if (running.size === 0) launch();
    }
  } finally {
    if (running.size > 0) void cancelOthers();
  }
  return noAnswer(ctx, plan);
}

/** Why no target answered: the call's end, the last failure, no time left, or every circuit open. */
function noAnswer<T>(ctx: AttemptContext<T>, plan: PlannedTarget[]): never {
  if (ctx.scope.cancel.aborted) throw ctx.scope.cancel.reason;
  if (ctx.last) throw new RoutingError(ctx.last, ctx.log);
  if (ctx.scope.deadline - Date.now() < ctx.policy.min_attempt_ms) {
    throw new ConnectError("the call's deadline left no time for an upstream attempt", Code.DeadlineExceeded);
  }
  const now = Date.now();
  const retryAfterMs = Math.min(...plan.map((t) => t.state.breaker.cooldownLeft(now)));
  const error = new UpstreamError("unavailable", "gateway", "every target of this alias is cooling down after failures (circuit open)", {
    retryAfterMs: Number.isFinite(retryAfterMs) ? retryAfterMs : undefined,
  });
  throw new RoutingError(error, ctx.log);
}
