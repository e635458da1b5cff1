// Circuit state shared by the replicas. Each replica keeps its own breaker (admission stays a
// synchronous, local decision on the hot path); when one opens or closes a circuit it tells the
// others over Redis pub/sub, and they adopt it at once. The opening is also stored with a TTL of
// the cooldown, so a replica that starts (or reconnects) during the cooldown honours it too.
// Cooldowns travel as durations, not instants, so the replicas' clocks need not agree.
import { CircuitBreaker, type Admission, type CircuitConfig, type CircuitState, type Verdict } from "../routing/circuit-breaker.js";
import type { ConfigurableBreaker } from "../routing/target-state.js";
import { KEY_PREFIX, type SharedState } from "./connection.js";

const CHANNEL = "circuits";
const OPEN_KEY = `${KEY_PREFIX}circuit:`;

type CircuitMessage = { key: string; state: "open" | "closed"; cooldownMs?: number };

class SharedBreaker implements ConfigurableBreaker {
  readonly #local: CircuitBreaker;

  constructor(
    readonly key: string,
    config: CircuitConfig,
    private readonly announce: (message: CircuitMessage) => void,
  ) {
    this.#local = new CircuitBreaker(config);
  }

  get circuit(): CircuitState {
    return this.#local.circuit;
  }

  configure(config: CircuitConfig): void {
    this.#local.configure(config);
  }

  admit(now: number): Admission | undefined {
    return this.#local.admit(now);
  }

  available(now: number): boolean {
    return this.#local.available(now);
  }

  cooldownLeft(now: number): number {
    return this.#local.cooldownLeft(now);
  }

  settle(admission: Admission, verdict: Verdict, now: number): void {
    const before = this.#local.circuit;
    this.#local.settle(admission, verdict, now);
    const after = this.#local.circuit;
    if (after === before) return;
    if (after === "open") this.announce({ key: this.key, state: "open", cooldownMs: this.#local.cooldownLeft(now) });
    else if (after === "closed") this.announce({ key: this.key, state: "closed" });
  }

  /** Another replica's news; adopting it announces nothing. */
  adopt(message: CircuitMessage, now: number): void {
    if (message.state === "open" && message.cooldownMs !== undefined && message.cooldownMs > 0) this.#local.openFor(message.cooldownMs, now);
    else if (message.state === "closed" && this.#local.circuit !== "closed") this.#local.reset();
  }
}

function isCircuitMessage(message: Record<string, unknown>): message is Record<string, unknown> & CircuitMessage {
  return typeof message.key === "string" && (message.state === "open" || message.state === "closed") && (message.cooldownMs === undefined || typeof message.cooldownMs === "number");
}

export class SharedCircuits {
  // By key; a breaker dropped by a reload stays here until replaced, which is harmless (it only adopts news).
  readonly #breakers = new Map<string, SharedBreaker>();
  readonly #shared: SharedState;

  constructor(shared: SharedState) {
    this.#shared = shared;
    shared.subscribe(CHANNEL, (message) => {
      if (isCircuitMessage(message)) this.#breakers.get(message.key)?.adopt(message, Date.now());
    });
    shared.onRecovered(() => void this.load());
  }

  /** The factory TargetStates uses for every alias's target. */
  readonly factory = (key: string, config: CircuitConfig): ConfigurableBreaker => {
    const breaker = new SharedBreaker(key, config, (message) => void this.#announce(message));
    this.#breakers.set(key, breaker);
    return breaker;
  };

  /** Adopts the circuits other replicas opened and whose cooldown is still running. */
  async load(): Promise<void> {
    const keys = [...this.#breakers.keys()];
    if (keys.length === 0) return;
    await this.#shared.bestEffort(async (redis) => {
      const ttls = await Promise.all(keys.map((key) => redis.pttl(OPEN_KEY + key)));
      const now = Date.now();
      keys.forEach((key, i) => {
        if (ttls[i]! > 0) this.#breakers.get(key)?.adopt({ key, state: "open", cooldownMs: ttls[i]! }, now);
      });
    });
  }

  async #announce(message: CircuitMessage): Promise<void> {
    await this.#shared.bestEffort((redis) =>
      message.state === "open" ? redis.set(OPEN_KEY + message.key, "open", "PX", Math.max(1, message.cooldownMs ?? 1)) : redis.del(OPEN_KEY + message.key),
    );
    await this.#shared.publish(CHANNEL, message);
  }
}
