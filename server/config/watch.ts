// Re-reads the config on SIGHUP or when any file it was built from changes (the config file, its
// policy files, its ${file:…} secrets), and hands over a new config only when it validates; an
// invalid file is reported and the config in force stays.
//
// It watches each of those files' directories, not the files: editors replace a file rather than
// write into it, and Kubernetes updates a mounted ConfigMap or Secret by swapping a `..data`
// symlink, an event that names no file we read. Any event in a watched directory leads to a
// comparison of content hashes, so unrelated events cost a few small reads and no reload.
import { watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import { useSecretsOf } from "../core/redact.js";
import { ConfigError, loadConfigSources, type LoadedConfig } from "./load.js";
import type { GatewayConfig } from "./schema.js";
import { currentHash, MISSING, type ConfigSources } from "./sources.js";

export type ConfigWatcher = {
  /** Loads and applies the file now (SIGHUP); true when the new config was applied. */
  reload(): Promise<boolean>;
  /** Resolves once the watcher knows the files to watch and watches them. */
  ready: Promise<void>;
  close(): void;
};

export type WatchOptions = {
  debounceMs?: number;
  /** The load whose config is in force; without it the watcher loads the file once to learn its files. */
  initial?: LoadedConfig;
  env?: NodeJS.ProcessEnv;
};

export function watchConfigFile(
  path: string,
  handlers: { apply(config: GatewayConfig): void; reject(error: ConfigError): void },
  options: WatchOptions = {},
): ConfigWatcher {
  const configFile = resolve(path);
  // This watcher applies configs, so it holds the secrets of the one in force (see redact.ts).
  const secretsHolder = {};
  let sources: ConfigSources = new Map([[configFile, MISSING]]);
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> = Promise.resolve(true);
  let closed = false;

  const watchDirectories = () => {
    const wanted = new Set([dirname(configFile), ...[...sources.keys()].map((file) => dirname(file))]);
    for (const [dir, watcher] of watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, onEvent);
        // A directory that goes away: stop watching it; the next reload watches it again if needed.
        watcher.on("error", () => {
          watcher.close();
          watchers.delete(dir);
        });
        watchers.set(dir, watcher);
      } catch {
        // Missing directory or no file watching on this platform: SIGHUP still works.
      }
    }
  };

  const load = async (): Promise<boolean> => {
    try {
      const loaded = await loadConfigSources(path, options.env);
      sources = loaded.sources;
      handlers.apply(loaded.config);
      useSecretsOf(secretsHolder, loaded.config);
      return true;
    } catch (error) {
      if (error instanceof ConfigError && error.sources.size > 0) sources = error.sources;
      handlers.reject(error instanceof ConfigError ? error : new ConfigError(path, [(error as Error).message], sources));
      return false;
    } finally {
      if (!closed) watchDirectories();
    }
  };

  const changed = async (): Promise<boolean> => {
    for (const [file, hash] of sources) if ((await currentHash(file)) !== hash) return true;
    return false;
  };

  // One load at a time, in order, so the newest files always win.
  const enqueue = (step: () => Promise<boolean>): Promise<boolean> => (running = running.then(step, step));
  const reload = () => enqueue(load);
  const reloadIfChanged = () => enqueue(async () => (!closed && (await changed()) ? load() : true));

  function onEvent(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reloadIfChanged(), options.debounceMs ?? 200);
  }

  const learnSources = async (): Promise<void> => {
    if (options.initial) {
      sources = options.initial.sources;
      useSecretsOf(secretsHolder, options.initial.config);
    } else {
      try {
        sources = (await loadConfigSources(path, options.env)).sources;
      } catch (error) {
        if (error instanceof ConfigError && error.sources.size > 0) sources = error.sources;
      }
    }
    if (closed) return;
    watchDirectories();
    // A change between the load and the first watch has sent no event we could see.
    void reloadIfChanged();
  };
  const ready = learnSources();

  return {
    reload,
    ready,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
      // The secrets stay registered: the config in force may still be serving calls.
    },
  };
}
