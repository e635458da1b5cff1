// Live per-target statistics and circuit breakers. Kept in a registry keyed by provider + upstream
// model, which outlives a config reload, so latency history and open circuits carry over for
// targets that still exist.

export type CircuitConfig = { failure_threshold: number; window_ms: number; cooldown_ms: number };
export type CircuitState = "closed" | "open" | "half_open";

// Weight of the newest latency sample in the decaying average.
const LATENCY_ALPHA = 0.3;

export class TargetState {
  inFlight = 0;
  successes = 0;
  failures = 0;
  /** Decaying average latency (ms): time to first token for streams, total for unary calls. */
  latencyMs: number | undefined;
  lastUsedAt = 0;
  circuit: CircuitState = "closed";
  private openUntil = 0;
  private probing = false;
  private recentFailures: number[] = [];

  /** Whether a call may go to this target now. An open circuit lets one probe through after its cooldown. */
  admit(now: number): boolean {
    if (this.circuit === "closed") return true;
    if (this.circuit === "open") {
      if (now < this.openUntil) return false;
      this.circuit = "half_open";
      this.probing = false;
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Whether admit() would say yes, without taking the half-open probe slot. */
  available(now: number): boolean {
    if (this.circuit === "closed") return true;
    if (this.circuit === "open") return now >= this.openUntil;
    return !this.probing;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when it would now). */
  cooldownLeft(now: number): number {
    return this.circuit === "open" ? Math.max(0, this.openUntil - now) : 0;
  }

  recordSuccess(latencyMs: number, now: number): void {
    this.successes++;
    this.lastUsedAt = now;
    this.latencyMs = this.latencyMs === undefined ? latencyMs : this.latencyMs + LATENCY_ALPHA * (latencyMs - this.latencyMs);
    this.recentFailures = [];
    this.circuit = "closed";
    this.probing = false;
  }

  /** A failure that is the target's fault (not the caller's) counts towards opening the circuit. */
  recordFailure(now: number, circuit: CircuitConfig): void {
    this.failures++;
    this.lastUsedAt = now;
    if (this.circuit === "half_open") {
      this.open(now, circuit);
      return;
    }
    this.recentFailures = this.recentFailures.filter((at) => now - at < circuit.window_ms);
    this.recentFailures.push(now);
    if (this.recentFailures.length >= circuit.failure_threshold) this.open(now, circuit);
  }

  /** An attempt that ended without a verdict (aborted by the caller or a hedge): free the probe slot. */
  recordAbandoned(): void {
    if (this.circuit === "half_open") this.probing = false;
  }

  private open(now: number, circuit: CircuitConfig): void {
    this.circuit = "open";
    this.openUntil = now + circuit.cooldown_ms;
    this.probing = false;
    this.recentFailures = [];
  }
}

export class TargetStates {
  private readonly states = new Map<string, TargetState>();

  static key(provider: string, model: string): string {
    return `${provider}\u0000${model}`;
  }

  get(provider: string, model: string): TargetState {
    const key = TargetStates.key(provider, model);
    let state = this.states.get(key);
    if (!state) {
      state = new TargetState();
      this.states.set(key, state);
    }
    return state;
  }

  /** Drops the state of targets no longer configured (after a reload). */
  retain(keys: Set<string>): void {
    for (const key of this.states.keys()) if (!keys.has(key)) this.states.delete(key);
  }
}
