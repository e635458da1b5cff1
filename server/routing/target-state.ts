// Live per-target state. Two owners, on purpose:
// - the upstream's statistics (in-flight calls, decaying latency, success and failure counts) are
//   facts about provider + model, shared by every alias that uses it;
// - the circuit breaker belongs to the alias's target, because its settings (`circuit:`) are the
//   alias's: two aliases with different thresholds never trip each other's breakers.
// Both live in a registry that outlives a config reload, so history and open circuits carry over
// for targets that still exist.
import { CircuitBreaker, type Breaker, type CircuitConfig, type CircuitState } from "./circuit-breaker.js";

export type { CircuitConfig, CircuitState };

// Weight of the newest latency sample in the decaying average.
const LATENCY_ALPHA = 0.3;

export class UpstreamStats {
  inFlight = 0;
  successes = 0;
  failures = 0;
  /** Decaying average latency (ms): time to first token for streams, total for unary calls. */
  latencyMs: number | undefined;
  lastUsedAt = 0;

  recordSuccess(latencyMs: number, now: number): void {
    this.successes++;
    this.lastUsedAt = now;
    this.latencyMs = this.latencyMs === undefined ? latencyMs : this.latencyMs + LATENCY_ALPHA * (latencyMs - this.latencyMs);
  }

  recordFailure(now: number): void {
    this.failures++;
    this.lastUsedAt = now;
  }
}

/** One target of one alias: its own breaker, and the upstream's shared statistics. */
export class TargetState {
  constructor(
    readonly stats: UpstreamStats,
    readonly breaker: Breaker,
  ) {}
  get circuit(): CircuitState {
    return this.breaker.circuit;
  }
  get inFlight(): number {
    return this.stats.inFlight;
  }
  get latencyMs(): number | undefined {
    return this.stats.latencyMs;
  }
  get successes(): number {
    return this.stats.successes;
  }
  get failures(): number {
    return this.stats.failures;
  }
}

/** A breaker a config reload can re-configure; the default is the in-process CircuitBreaker. */
export type ConfigurableBreaker = Breaker & { configure(config: CircuitConfig): void };
/** Makes the breaker of one alias's target (`key` is TargetStates.breakerKey); shared state supplies its own. */
export type BreakerFactory = (key: string, config: CircuitConfig) => ConfigurableBreaker;

export class TargetStates {
  private readonly stats = new Map<string, UpstreamStats>();
  private readonly breakers = new Map<string, ConfigurableBreaker>();

  constructor(private readonly makeBreaker: BreakerFactory = (_key, config) => new CircuitBreaker(config)) {}

  static key(provider: string, model: string): string {
    return `${provider}\u0000${model}`;
  }

  static breakerKey(alias: string, provider: string, model: string): string {
    return `${alias}\u0000${provider}\u0000${model}`;
  }

  /** The state of `alias`'s target provider/model; `circuit` is the alias's current setting. */
  get(alias: string, provider: string, model: string, circuit: CircuitConfig): TargetState {
    const key = TargetStates.key(provider, model);
    let stats = this.stats.get(key);
    if (!stats) {
      stats = new UpstreamStats();
      this.stats.set(key, stats);
    }
    const breakerKey = TargetStates.breakerKey(alias, provider, model);
    let breaker = this.breakers.get(breakerKey);
    if (breaker) breaker.configure(circuit);
    else {
      breaker = this.makeBreaker(breakerKey, circuit);
      this.breakers.set(breakerKey, breaker);
    }
    return new TargetState(stats, breaker);
  }

  /** Drops the state of targets no longer configured (after a reload): keys from key() and breakerKey(). */
  retain(statKeys: Set<string>, breakerKeys: Set<string>): void {
    for (const key of this.stats.keys()) if (!statKeys.has(key)) this.stats.delete(key);
    for (const key of this.breakers.keys()) if (!breakerKeys.has(key)) this.breakers.delete(key);
  }
}
