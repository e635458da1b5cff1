// Re-reads the config file on SIGHUP or when the file changes, and hands over a new config only
// when it validates; an invalid file is reported and the config in force stays.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { ConfigError, loadConfigFile } from "./load.js";
import type { GatewayConfig } from "./schema.js";

export type ConfigWatcher = { reload(): Promise<boolean>; close(): void };

export function watchConfigFile(
  path: string,
  handlers: { apply(config: GatewayConfig): void; reject(error: ConfigError): void },
  options: { debounceMs?: number } = {},
): ConfigWatcher {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> = Promise.resolve(true);
  let last = "";

  const reload = (): Promise<boolean> => {
    // One reload at a time, in order, so the newest file always wins.
    running = running.then(async () => {
      try {
        const config = await loadConfigFile(path);
        last = JSON.stringify(config);
        handlers.apply(config);
        return true;
      } catch (error) {
        handlers.reject(error instanceof ConfigError ? error : new ConfigError(path, [(error as Error).message]));
        return false;
      }
    });
    return running;
  };

  // Watch the directory: editors and config managers replace the file rather than write into it.
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        void loadConfigFile(path)
          .then((config) => JSON.stringify(config) !== last)
          .catch(() => true)
          .then((changed) => (changed ? reload() : undefined));
      }, options.debounceMs ?? 200);
    });
  } catch {
    watcher = undefined; // no file watching on this platform: SIGHUP still works
  }
  void loadConfigFile(path).then((config) => (last = JSON.stringify(config)), () => undefined);

  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
