// A circuit breaker for one target of one alias. Admission hands out a token; a half-open circuit
// hands out exactly one probe token, and only that token's holder can release the probe slot, by
// settling it with the call's verdict. Every outcome of a probe settles it (success, failure, or a
// neutral end such as a caller error, a cancel or a lost hedge), so a probe can never wedge the
// circuit half-open.

export type CircuitConfig = { failure_threshold: number; window_ms: number; cooldown_ms: number };
export type CircuitState = "closed" | "open" | "half_open";

/** How one admitted call ended, for the breaker: neutral ends say nothing about the target's health. */
export type Verdict = "success" | "failure" | "neutral";

/** Proof of admission. Identity matters: the breaker compares it with the probe it handed out. */
export type Admission = { readonly probe: boolean };

const ORDINARY: Admission = Object.freeze({ probe: false });

/**
 * What routing needs of a target's breaker. The in-process implementation is below; a shared one
 * (several replicas, one breaker state) can implement the same interface.
 */
export interface Breaker {
  readonly circuit: CircuitState;
  /** A token when a call may go to the target now, undefined when the circuit skips it. */
  admit(now: number): Admission | undefined;
  /** Whether admit() would say yes, without taking the probe slot. */
  available(now: number): boolean;
  /** Milliseconds until an open circuit lets a probe through (0 when it would now). */
  cooldownLeft(now: number): number;
  settle(admission: Admission, verdict: Verdict, now: number): void;
}

export class CircuitBreaker implements Breaker {
  circuit: CircuitState = "closed";
  private openUntil = 0;
  private probe: Admission | undefined;
  private recentFailures: number[] = [];

  constructor(private config: CircuitConfig) {}

  /** New settings (a config reload); the state carries over. */
  configure(config: CircuitConfig): void {
    this.config = config;
  }

  admit(now: number): Admission | undefined {
    if (this.circuit === "closed") return ORDINARY;
    if (this.circuit === "open") {
      if (now < this.openUntil) return undefined;
      this.circuit = "half_open";
      this.probe = undefined;
    }
    if (this.probe) return undefined;
    this.probe = { probe: true };
    return this.probe;
  }

  available(now: number): boolean {
    if (this.circuit === "closed") return true;
    if (this.circuit === "open") return now >= this.openUntil;
    return this.probe === undefined;
  }

  cooldownLeft(now: number): number {
    return this.circuit === "open" ? Math.max(0, this.openUntil - now) : 0;
  }

  settle(admission: Admission, verdict: Verdict, now: number): void {
    const holdsProbe = admission.probe && admission === this.probe;
    if (verdict === "success") {
      // Any answer is evidence of health, whoever carried it.
      this.close();
      return;
    }
    if (verdict === "neutral") {
      if (holdsProbe) this.probe = undefined;
      return;
    }
    if (holdsProbe) {
      this.open(now);
      return;
    }
    // A call admitted before the circuit opened says nothing new once it is open or probing.
    if (this.circuit !== "closed") return;
    this.recentFailures = this.recentFailures.filter((at) => now - at < this.config.window_ms);
    this.recentFailures.push(now);
    if (this.recentFailures.length >= this.config.failure_threshold) this.open(now);
  }

  /** Another replica opened this circuit: skip the target for `cooldownMs` from `now`. */
  openFor(cooldownMs: number, now: number): void {
    this.open(now);
    this.openUntil = now + cooldownMs;
  }

  /** Another replica's probe succeeded: the target answers again. */
  reset(): void {
    this.close();
  }

  private close(): void {
    this.circuit = "closed";
    this.probe = undefined;
    this.recentFailures = [];
  }

  private open(now: number): void {
    this.circuit = "open";
    this.openUntil = now + this.config.cooldown_ms;
    this.probe = undefined;
    this.recentFailures = [];
  }
}
