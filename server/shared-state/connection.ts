// The gateway's connections to Redis and what happens when Redis cannot be reached. ioredis
// reconnects by itself; meanwhile commands fail at once (no offline queue, so a call never waits
// on a dead connection) and `on_failure` decides: `open` admits the call unchecked, `closed`
// refuses it UNAVAILABLE. An outage is logged once when it starts and once when it ends.
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import type { SharedStateConfig } from "../config/schema.js";
import type { Logger } from "../telemetry/log.js";
import { defineScripts, type ScriptedRedis } from "./scripts.js";

/** Counters for the metrics endpoint (the lead wires them where metrics are exported). */
export type SharedStateCounters = {
  /** Outages seen (connection lost or a command failed while it was up). */
  outages: number;
  /** Calls admitted without a limit or budget check because Redis was unreachable (on_failure: open). */
  admittedUnchecked: number;
  /** Calls refused UNAVAILABLE because Redis was unreachable (on_failure: closed). */
  refused: number;
};

// A command that takes longer than this counts as a failure: admission must not hang on Redis.
const COMMAND_TIMEOUT_MS = 1_000;
// Reconnection backoff cap: Redis coming back is noticed within about this long.
const MAX_RECONNECT_DELAY_MS = 500;
const FIRST_CONNECT_WAIT_MS = 3_000;

export const KEY_PREFIX = "sb:";

function connect(url: string, options: { offlineQueue: boolean }): Redis {
  return new Redis(url, {
    enableOfflineQueue: options.offlineQueue,
    commandTimeout: options.offlineQueue ? undefined : COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: options.offlineQueue ? null : 0,
    retryStrategy: (attempt) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
    // ioredis would otherwise print its own errors; connection state is logged below.
    showFriendlyErrorStack: false,
  });
}

export class SharedState {
  /** Names this replica in its own messages, so it ignores their echo. */
  readonly replicaId = randomUUID();
  readonly redis: ScriptedRedis;
  /** Subscriber-mode connection (pub/sub needs its own); it queues and resubscribes across reconnects. */
  readonly subscriber: Redis;
  readonly counters: SharedStateCounters = { outages: 0, admittedUnchecked: 0, refused: 0 };
  readonly #config: SharedStateConfig;
  readonly #log: Logger;
  readonly #recovered = new Set<() => void>();
  readonly #handlers = new Map<string, (message: string) => void>();
  #down = false;

  constructor(config: SharedStateConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.redis = defineScripts(connect(config.redis, { offlineQueue: false }));
    this.subscriber = connect(config.redis, { offlineQueue: true });
    this.redis.on("error", (error: Error) => this.#failed(error));
    this.subscriber.on("error", () => undefined);
    this.redis.on("ready", () => this.#up());
    this.subscriber.on("message", (channel: string, message: string) => this.#handlers.get(channel)?.(message));
  }

  get onFailure(): "open" | "closed" {
    return this.#config.on_failure;
  }

  get leaseMs(): number {
    return this.#config.lease_ms;
  }

  /** Resolves once connected, or after a short wait (the gateway then starts and the failure policy applies). */
  async ready(): Promise<void> {
    const waits = [this.redis, this.subscriber].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.status === "ready") return resolve();
          const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
          function done() {
            clearTimeout(timer);
            connection.off("ready", done);
            resolve();
          }
          connection.once("ready", done);
        }),
    );
    await Promise.all(waits);
    if (this.redis.status !== "ready") this.#failed(new Error(`not connected (${this.redis.status})`));
  }

  /** Runs `op` on Redis; when Redis cannot answer, `open` returns `unchecked()` and `closed` throws UNAVAILABLE. */
  async guard<T>(op: (redis: ScriptedRedis) => Promise<T>, unchecked: () => T): Promise<T> {
    try {
      const result = await op(this.redis);
      if (this.#down) this.#up();
      return result;
    } catch (error) {
      this.#failed(error as Error);
      if (this.#config.on_failure === "open") {
        this.counters.admittedUnchecked++;
        return unchecked();
      }
      this.counters.refused++;
      throw new ConnectError("shared state (redis) unavailable: limits and budgets cannot be checked (shared_state.on_failure: closed)", Code.Unavailable);
    }
  }

  /** Like guard, for work after a call (settling): a failure is counted and logged, never thrown. */
  async bestEffort(op: (redis: ScriptedRedis) => Promise<unknown>): Promise<void> {
    try {
      await op(this.redis);
      if (this.#down) this.#up();
    } catch (error) {
      this.#failed(error as Error);
    }
  }

  async publish(channel: string, message: object): Promise<void> {
    await this.bestEffort((redis) => redis.publish(KEY_PREFIX + channel, JSON.stringify({ from: this.replicaId, ...message })));
  }

  /** Calls `handler` with every message on `channel` that another replica published. */
  subscribe(channel: string, handler: (message: Record<string, unknown>) => void): void {
    const name = KEY_PREFIX + channel;
    this.#handlers.set(name, (text) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.#log.warn({ channel: name }, "ignoring a shared-state message that is not JSON");
        return;
      }
      if (message.from !== this.replicaId) handler(message);
    });
    this.subscriber.subscribe(name).catch((error: unknown) => this.#log.error({ err: error, channel: name }, "shared state: subscribe failed"));
  }

  /** Runs after every outage, once Redis answers again (re-seeding, re-reading keys). */
  onRecovered(listener: () => void): void {
    this.#recovered.add(listener);
  }

  async close(): Promise<void> {
    this.#recovered.clear();
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  #failed(error: Error): void {
    if (this.#down) return;
    this.#down = true;
    this.counters.outages++;
    // The URL may carry a password: log the error's message only, never the connection string.
    this.#log.error(
      { error: error.message, on_failure: this.#config.on_failure },
      this.#config.on_failure === "open"
        ? "shared state (redis) unreachable: admitting calls without limit and budget checks until it returns"
        : "shared state (redis) unreachable: refusing calls UNAVAILABLE until it returns",
    );
  }

  #up(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log.info("shared state (redis) reachable again");
    for (const listener of this.#recovered) listener();
  }
}
