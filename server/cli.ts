#!/usr/bin/env -S npx tsx
// switchboard serve [--config FILE] [--listen HOST:PORT]
// switchboard check --config FILE
import { parseArgs } from "node:util";
import { ConfigError, loadConfigFile, validateConfig } from "./config/load.js";
import { DEMO_PROVIDER, defaultConfig } from "./config/defaults.js";
import type { GatewayConfig } from "./config/schema.js";
import { startDemoUpstream, type DemoUpstream } from "./demo/upstream.js";
import { watchConfigFile } from "./config/watch.js";
import { startGateway } from "./gateway.js";

const USAGE = `usage:
  switchboard serve [--config FILE] [--listen HOST:PORT]   start the gateway (config also from SWITCHBOARD_CONFIG)
  switchboard check --config FILE                          validate a config file and exit`;

type Loaded = { config: GatewayConfig; demo?: DemoUpstream; notes: string[] };

async function load(configPath: string | undefined, listen: string | undefined): Promise<Loaded> {
  if (configPath) {
    const config = await loadConfigFile(configPath);
    return { config: listen ? { ...config, listen } : config, notes: [`config: ${configPath}`] };
  }
  const defaults = defaultConfig(process.env);
  const notes = ["no config file given: using the built-in default config"];
  notes.push(...defaults.enabled.map((p) => `enabled provider ${p}`));
  let demo: DemoUpstream | undefined;
  if (defaults.needsDemo) {
    demo = await startDemoUpstream();
    defaults.document.providers[DEMO_PROVIDER].base_url = demo.baseUrl;
    notes.push(
      `no provider credentials in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, AWS_*):`,
      `started the embedded DEMO upstream at ${demo.baseUrl} (canned answers, not a model) behind aliases "demo" and "chat-default"`,
    );
  }
  const document = { ...defaults.document, ...(listen ? { listen } : {}) };
  return { config: validateConfig(document, "built-in defaults"), demo, notes };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: "string", short: "c" }, listen: { type: "string", short: "l" }, help: { type: "boolean", short: "h" } },
  });
  const command = positionals[0] ?? "serve";
  if (values.help || !["serve", "check"].includes(command)) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const configPath = values.config ?? process.env.SWITCHBOARD_CONFIG;
  let loaded: Loaded;
  try {
    if (command === "check") {
      if (!configPath) throw new ConfigError("(none)", ["--config FILE is required"]);
      await loadConfigFile(configPath);
      console.log(`${configPath}: OK`);
      return 0;
    }
    loaded = await load(configPath, values.listen);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }

  const gateway = await startGateway(loaded.config, { notes: loaded.notes });
  // A stray rejection in one call must not take every other call down with the process.
  process.on("unhandledRejection", (reason) => gateway.log.error({ err: reason }, "unhandled rejection (the gateway keeps running)"));
  const watcher = configPath
    ? watchConfigFile(configPath, {
        apply: (config) => gateway.reload(config),
        reject: (error) => gateway.log.error({ problems: error.problems }, "config reload rejected: the config in force stays"),
      })
    : undefined;
  process.on("SIGHUP", () => {
    if (watcher) void watcher.reload();
    else gateway.log.warn("SIGHUP: no config file to reload (running on built-in defaults)");
  });
  gateway.log.info(`try: buf curl --protocol grpc --http2-prior-knowledge http://${gateway.address}/switchboard.v1.InferenceService/ListModels`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        gateway.log.warn(`${signal} again: exiting now`);
        resolve(1);
        return;
      }
      stopping = true;
      watcher?.close();
      gateway.log.info({ graceMs: loaded.config.shutdown_grace_ms }, `${signal}: draining in-flight calls`);
      gateway
        .close()
        .then(() => loaded.demo?.close())
        .then(() => {
          gateway.log.info("stopped");
          resolve(0);
        });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`switchboard: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
