// Everything shared_state puts in Redis, built from its config: the connections, the limit and
// budget stores, the shared circuit breakers and the key-change channel.
import type { SharedStateConfig } from "../config/schema.js";
import type { Logger } from "../telemetry/log.js";
import { SharedState } from "./connection.js";
import { KeyChanges } from "./key-changes.js";
import { RedisBudgetStore } from "./redis-budget-store.js";
import { RedisLimitStore } from "./redis-limit-store.js";
import { SharedCircuits } from "./shared-circuits.js";

export type SharedStateParts = {
  state: SharedState;
  limits: RedisLimitStore;
  budgets: RedisBudgetStore;
  circuits: SharedCircuits;
  /** Starts the key-change channel once the key directory exists. */
  watchKeys(refresh: () => Promise<void>): KeyChanges;
  close(): Promise<void>;
};

export async function connectSharedState(config: SharedStateConfig, log: Logger): Promise<SharedStateParts> {
  const state = new SharedState(config, log);
  await state.ready();
  const circuits = new SharedCircuits(state);
  let keyChanges: KeyChanges | undefined;
  return {
    state,
    limits: new RedisLimitStore(state),
    budgets: new RedisBudgetStore(state),
    circuits,
    watchKeys(refresh) {
      keyChanges = new KeyChanges(state, { refresh, pollMs: config.key_poll_ms, log });
      return keyChanges;
    },
    async close() {
      keyChanges?.close();
      await state.close();
    },
  };
}
