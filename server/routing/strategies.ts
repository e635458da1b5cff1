// The order in which an alias's targets are tried, per strategy. The first target serves the call;
// the rest are the fallback chain. Pure functions of the targets, their live state and a random
// source, so tests can drive them deterministically.
import type { Strategy } from "../config/schema.js";
import type { TargetState } from "./target-state.js";

export type Candidate = { config: { priority: number; weight: number }; state: TargetState };

export type OrderContext<T> = {
  random: () => number;
  exploration: number;
  /** Smooth weighted round-robin counters of the alias, one per target, kept between calls. */
  roundRobin: number[];
  /** Estimated nano-USD for this request on a target; undefined when its model has no price. */
  estimateCost(target: T): bigint | undefined;
};

function byPriority<T extends Candidate>(a: T, b: T): number {
  return a.config.priority - b.config.priority;
}

/** The chosen target first, the others after it in priority order. */
function withFirst<T extends Candidate>(candidates: T[], first: T | undefined): T[] {
  const rest = candidates.filter((c) => c !== first).sort(byPriority);
  return first ? [first, ...rest] : rest;
}

function weightedRandom<T extends Candidate>(candidates: T[], random: () => number): T | undefined {
  const total = candidates.reduce((sum, c) => sum + c.config.weight, 0);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const c of candidates) {
    point -= c.config.weight;
    if (point < 0) return c;
  }
  return candidates.at(-1);
}

/** nginx's smooth weighted round-robin: exact proportions, evenly interleaved, no randomness. */
function smoothRoundRobin<T extends Candidate>(all: T[], candidates: T[], counters: number[]): T | undefined {
  let best: T | undefined;
  let bestIndex = -1;
  let total = 0;
  for (const c of candidates) {
    const i = all.indexOf(c);
    counters[i] = (counters[i] ?? 0) + c.config.weight;
    total += c.config.weight;
    if (best === undefined || counters[i] > counters[bestIndex]) {
      best = c;
      bestIndex = i;
    }
  }
  if (best === undefined || total === 0) return undefined;
  counters[bestIndex] -= total;
  return best;
}

function compareCost(a: bigint | undefined, b: bigint | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders `candidates` (the targets still allowed for this call) by `strategy`. `all` is the alias's
 * full target list, which round-robin counters are indexed by.
 */
export function orderTargets<T extends Candidate>(strategy: Strategy, all: T[], candidates: T[], ctx: OrderContext<T>): T[] {
  switch (strategy) {
    case "priority":
      return [...candidates].sort(byPriority);
    case "weighted":
      return withFirst(candidates, weightedRandom(candidates, ctx.random));
    case "round-robin":
      return withFirst(candidates, smoothRoundRobin(all, candidates, ctx.roundRobin));
    case "least-busy":
      return [...candidates].sort((a, b) => a.state.inFlight - b.state.inFlight || byPriority(a, b));
    case "latency": {
      // An untried target counts as fastest, so every target gets measured.
      const ordered = [...candidates].sort((a, b) => (a.state.latencyMs ?? 0) - (b.state.latencyMs ?? 0) || byPriority(a, b));
      if (ordered.length > 1 && ctx.random() < ctx.exploration) {
        const pick = 1 + Math.floor(ctx.random() * (ordered.length - 1));
        const [explored] = ordered.splice(pick, 1);
        ordered.unshift(explored);
      }
      return ordered;
    }
    case "cost": {
      const costs = new Map(candidates.map((c) => [c, ctx.estimateCost(c)]));
      return [...candidates].sort((a, b) => compareCost(costs.get(a), costs.get(b)) || byPriority(a, b));
    }
  }
}
