// Key changes across replicas: after AdminService creates or revokes a key on one replica, it
// publishes on Redis and every other replica re-reads the keys from the store at once (within
// milliseconds, well inside the 1 s target). A message can be lost (Redis down, a replica
// reconnecting), so each replica also re-reads on a short poll (key_poll_ms) and after an outage.
import type { Logger } from "../telemetry/log.js";
import type { SharedState } from "./connection.js";

const CHANNEL = "keys";

export class KeyChanges {
  readonly #shared: SharedState;
  readonly #timer: NodeJS.Timeout;

  constructor(shared: SharedState, options: { refresh: () => Promise<void>; pollMs: number; log: Logger }) {
    this.#shared = shared;
    const refresh = () => void options.refresh().catch((error: unknown) => options.log.error({ err: error }, "re-reading the keys failed"));
    shared.subscribe(CHANNEL, refresh);
    shared.onRecovered(refresh);
    this.#timer = setInterval(refresh, options.pollMs);
    this.#timer.unref();
  }

  /** Tells the other replicas that the keys changed. */
  changed(): Promise<void> {
    return this.#shared.publish(CHANNEL, { changed: "keys" });
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
