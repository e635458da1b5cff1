// The gateway's metrics, under the names Envoy AI Gateway gives the GenAI ones (gen_ai.client.token.usage,
// gen_ai.server.request.duration, gen_ai.server.time_to_first_token, gen_ai.server.time_per_output_token,
// in their Prometheus form) plus the gateway's own. Per call: one nested-map lookup per label
// combination (the series are made once and kept), then additions.
import type { CallOutcome, Method } from "../policy/chain.js";
import { statusName } from "../policy/ledger-step.js";
import { SKIPPED_CIRCUIT_OPEN } from "../routing/billing.js";
import { Registry, type BigCounterSeries, type CounterSeries, type GaugeSeries, type HistogramSeries, type LabelValues } from "./exposition.js";

// Bucket bounds from the OpenTelemetry GenAI metrics conventions.
const TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

const OPERATION: Record<Method, string> = { complete: "chat", stream_complete: "chat", embed: "embeddings", list_models: "list_models" };

export type TargetView = { alias: string; provider: string; model: string; circuit: "closed" | "open" | "half_open" };
export type BudgetView = { team: string; window: string; remainingNanoUsd: bigint };

export type MetricSources = {
  /** Every alias's targets with their circuit state now. */
  targets(): Iterable<TargetView>;
  /** Each team budget's remaining spend now. */
  budgets(): Iterable<BudgetView>;
  /** Shared state (Redis) outages and what the failure policy did meanwhile, when shared_state is on. */
  sharedState?(): { outages: number; admittedUnchecked: number; refused: number };
};

/** What one call on one (alias, provider, model, outcome) updates. */
type CallSeries = {
  duration: HistogramSeries;
  inputTokens: HistogramSeries;
  outputTokens: HistogramSeries;
  ttft: HistogramSeries;
  tpot: HistogramSeries;
  cost: BigCounterSeries;
};

/**
 * A cache of values by up to five string keys: nested maps and positional arguments, so a lookup
 * allocates nothing (no key string, no rest array) once the value exists.
 */
class Keyed<T> {
  private readonly root = new Map<string, unknown>();
  constructor(
    private readonly arity: number,
    private readonly make: (keys: LabelValues) => T,
  ) {}

  get(a: string, b = "", c = "", d = "", e = ""): T {
    let level = this.root;
    let found: unknown;
    for (let i = 0; i < this.arity; i++) {
      const key = i === 0 ? a : i === 1 ? b : i === 2 ? c : i === 3 ? d : e;
      found = level.get(key);
      if (found === undefined) {
        found = i === this.arity - 1 ? this.make([a, b, c, d, e].slice(0, this.arity)) : new Map<string, unknown>();
        level.set(key, found);
      }
      if (i < this.arity - 1) level = found as Map<string, unknown>;
    }
    return found as T;
  }
}

export type CallRecord = {
  method: Method;
  alias: string;
  outcome: CallOutcome;
  /** Seconds from admission to the end of the call. */
  durationSeconds: number;
  /** Epoch ms of admission. */
  startedAt: number;
  endedAt: number;
};

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly calls: Keyed<CounterSeries>;
  private readonly inFlight: Keyed<GaugeSeries>;
  private readonly perCall: Keyed<CallSeries>;
  private readonly attempts: Keyed<CounterSeries>;
  private readonly rejections: Keyed<CounterSeries>;

  constructor(sources: MetricSources) {
    const r = this.registry;
    const genAi = ["gen_ai_operation_name", "alias", "provider", "model", "outcome"];
    const tokens = r.histogram("gen_ai_client_token_usage", "Tokens per call, by gen_ai_token_type (input, output).", [...genAi, "gen_ai_token_type"], TOKEN_BOUNDS);
    const duration = r.histogram("gen_ai_server_request_duration_seconds", "Time from a call's admission to its end.", genAi, DURATION_BOUNDS);
    const ttft = r.histogram("gen_ai_server_time_to_first_token_seconds", "Streams: time from admission to the first output sent to the caller.", genAi, TTFT_BOUNDS);
    const tpot = r.histogram("gen_ai_server_time_per_output_token_seconds", "Streams: time per output token after the first.", genAi, TPOT_BOUNDS);
    const cost = r.bigCounter("switchboard_cost_nano_usd_total", "Cost of the calls served, in nano-USD (exact integers).", ["alias", "provider", "model"]);
    const calls = r.counter("switchboard_calls_total", "Calls ended, by method and gRPC status.", ["method", "code"]);
    const inFlight = r.gauge("switchboard_calls_in_flight", "Calls admitted and not yet ended.", ["method"]);
    const attempts = r.counter("switchboard_upstream_attempts_total", "Upstream requests, by target and how each ended.", ["provider", "model", "outcome"]);
    const rejections = r.counter("switchboard_limit_rejections_total", "Calls refused by a limit or budget, by ErrorInfo reason.", ["reason"]);
    r.collected("switchboard_target_circuit_state", "1 for the state each alias's target's circuit breaker is in, 0 for the others.", ["alias", "provider", "model", "state"], () =>
      circuitSeries(sources.targets()),
    );
    r.collected("switchboard_budget_remaining_nano_usd", "What each team budget has left in its current window, in nano-USD.", ["team", "window"], () =>
      budgetSeries(sources.budgets()),
    );

    const shared = sources.sharedState;
    if (shared) {
      r.collected(
        "switchboard_shared_state_events_total",
        "Shared state (Redis): outages, calls admitted unchecked (on_failure: open) and calls refused (on_failure: closed) during them.",
        ["event"],
        () => {
          const c = shared();
          return [
            { labels: ["outage"], value: c.outages },
            { labels: ["admitted_unchecked"], value: c.admittedUnchecked },
            { labels: ["refused"], value: c.refused },
          ];
        },
        "counter",
      );
    }

    this.calls = new Keyed(2, ([method, code]) => calls.series(method!, code!));
    this.inFlight = new Keyed(1, ([method]) => inFlight.series(method!));
    this.attempts = new Keyed(3, ([provider, model, outcome]) => attempts.series(provider!, model!, outcome!));
    this.rejections = new Keyed(1, ([reason]) => rejections.series(reason!));
    this.perCall = new Keyed(5, (keys) => {
      const [operation, alias, provider, model, outcome] = keys as [string, string, string, string, string];
      return {
        duration: duration.series(operation, alias, provider, model, outcome),
        inputTokens: tokens.series(operation, alias, provider, model, outcome, "input"),
        outputTokens: tokens.series(operation, alias, provider, model, outcome, "output"),
        ttft: ttft.series(operation, alias, provider, model, outcome),
        tpot: tpot.series(operation, alias, provider, model, outcome),
        cost: cost.series(alias, provider, model),
      };
    });
  }

  started(method: Method): void {
    this.inFlight.get(method).add(1);
  }

  ended(call: CallRecord): void {
    const { method, outcome } = call;
    this.inFlight.get(method).add(-1);
    const status = statusName(outcome.code);
    this.calls.get(method, status).inc();
    if (outcome.refusal !== undefined) this.rejections.get(outcome.refusal).inc();
    for (const attempt of outcome.attempts ?? []) {
      if (attempt.outcome !== SKIPPED_CIRCUIT_OPEN) this.attempts.get(attempt.provider, attempt.targetModel, attempt.outcome).inc();
    }
    if (method === "list_models") return;
    const series = this.perCall.get(OPERATION[method], call.alias, outcome.provider ?? "", outcome.targetModel ?? "", status);
    series.duration.observe(call.durationSeconds);
    const usage = outcome.usage;
    if (usage) {
      series.inputTokens.observe(usage.inputTokens);
      if (method !== "embed") series.outputTokens.observe(usage.outputTokens);
      if (usage.costNanoUsd > 0n) series.cost.inc(usage.costNanoUsd);
    }
    if (outcome.firstOutputAt !== undefined) {
      series.ttft.observe(Math.max(0, outcome.firstOutputAt - call.startedAt) / 1000);
      const after = (usage?.outputTokens ?? 0) - 1;
      if (after > 0) series.tpot.observe(Math.max(0, call.endedAt - outcome.firstOutputAt) / 1000 / after);
    }
  }

  render(): string {
    return this.registry.render();
  }
}

const CIRCUIT_STATES = ["closed", "open", "half_open"] as const;

function* circuitSeries(targets: Iterable<TargetView>) {
  for (const t of targets) {
    for (const state of CIRCUIT_STATES) yield { labels: [t.alias, t.provider, t.model, state], value: t.circuit === state ? 1 : 0 };
  }
}

function* budgetSeries(budgets: Iterable<BudgetView>) {
  for (const b of budgets) yield { labels: [b.team, b.window], value: Number(b.remainingNanoUsd) };
}
