// A config watcher wired to a test gateway, with the reloads it applies as events to wait for.
import { EventEmitter, once } from "node:events";
import type { ExecutionContext } from "ava";
import { loadConfigSources, type ConfigError } from "../../server/config/load.js";
import type { GatewayConfig } from "../../server/config/schema.js";
import { watchConfigFile, type ConfigWatcher } from "../../server/config/watch.js";
import type { Gateway } from "../../server/gateway.js";

export type WatchedGateway = {
  watcher: ConfigWatcher;
  /** Resolves with the next config the watcher applies; rejects after timeoutMs. */
  nextReload(timeoutMs?: number): Promise<GatewayConfig>;
  applied(): number;
};

/** Watches `file` as the CLI does (the load in force as the starting point); a rejected reload fails the test. */
export async function watchForGateway(t: ExecutionContext, file: string, gateway: Gateway): Promise<WatchedGateway> {
  const events = new EventEmitter();
  let applied = 0;
  const watcher = watchConfigFile(
    file,
    {
      apply(config) {
        gateway.reload(config);
        applied++;
        events.emit("applied", config);
      },
      reject: (error: ConfigError) => t.fail(`reload rejected: ${error.message}`),
    },
    { initial: await loadConfigSources(file), debounceMs: 50 },
  );
  t.teardown(() => watcher.close());
  await watcher.ready;
  return {
    watcher,
    async nextReload(timeoutMs = 30_000) {
      try {
        const [config] = (await once(events, "applied", { signal: AbortSignal.timeout(timeoutMs) })) as [GatewayConfig];
        return config;
      } catch {
        throw new Error(`the watcher applied no reload within ${timeoutMs} ms`);
      }
    },
    applied: () => applied,
  };
}
