#!/usr/bin/env -S npx tsx
// switchboard serve [--config FILE] [--listen HOST:PORT]
// switchboard check --config FILE
// switchboard migrate --config FILE
// switchboard keys … | usage … | audit …   (admin commands against a running gateway: cli/admin-commands.ts)
// switchboard chat | complete …             (a caller's commands against a running gateway: cli/inference-commands.ts)
// switchboard --version | --help
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfigFile, loadConfigSources, validateConfig, type LoadedConfig } from "./config/load.js";
import { DEMO_PROVIDER, defaultConfig } from "./config/defaults.js";
import type { GatewayConfig } from "./config/schema.js";
import { startDemoUpstream, type DemoUpstream } from "./demo/upstream.js";
import { watchConfigFile } from "./config/watch.js";
import { startGateway } from "./gateway.js";
import { ADMIN_COMMANDS, ADMIN_USAGE, runAdminCommand } from "./cli/admin-commands.js";
import { INFERENCE_COMMANDS, INFERENCE_USAGE, runInferenceCommand } from "./cli/inference-commands.js";
import { migrateStore } from "./cli/migrate-command.js";

const USAGE = `usage:
  switchboard serve [--config FILE] [--listen HOST:PORT]   start the gateway (config also from SWITCHBOARD_CONFIG)
  switchboard check --config FILE                          validate a config file and exit
  switchboard migrate --config FILE                        apply the store's schema migrations, print the version
  switchboard --version                                    print the version
  switchboard --help                                       print this help
${ADMIN_USAGE}
${INFERENCE_USAGE}`;

type Loaded = { config: GatewayConfig; demo?: DemoUpstream; notes: string[]; fromFile?: LoadedConfig };

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

async function load(configPath: string | undefined, listen: string | undefined): Promise<Loaded> {
  if (configPath) {
    const fromFile = await loadConfigSources(configPath);
    const config = listen ? { ...fromFile.config, listen } : fromFile.config;
    return { config, notes: [`config: ${configPath}`], fromFile };
  }
  const defaults = defaultConfig(process.env);
  const notes = ["no config file given: using the built-in default config"];
  notes.push(...defaults.enabled.map((p) => `enabled provider ${p}`));
  let demo: DemoUpstream | undefined;
  if (defaults.needsDemo) {
    demo = await startDemoUpstream();
    defaults.document.providers[DEMO_PROVIDER].base_url = demo.baseUrl;
    notes.push(
      "no provider credentials in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY, AWS_*)",
      `started the embedded DEMO upstream at ${demo.baseUrl} (canned answers, not a model) behind aliases "demo" and "chat-default"`,
    );
  }
  const document = { ...defaults.document, ...(listen ? { listen } : {}) };
  return { config: validateConfig(document, "built-in defaults"), demo, notes };
}

function parseCommandLine() {
  return parseArgs({
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      listen: { type: "string", short: "l" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

async function main(): Promise<number> {
  const first = process.argv[2];
  if (first !== undefined && ADMIN_COMMANDS.includes(first)) {
    return runAdminCommand(process.argv.slice(2), { out: (text) => console.log(text), err: (text) => console.error(text), env: process.env });
  }
  if (first !== undefined && INFERENCE_COMMANDS.includes(first)) {
    return runInferenceCommand(process.argv.slice(2), {
      stdin: process.stdin,
      write: (text) => process.stdout.write(text),
      err: (text) => console.error(text),
      env: process.env,
    });
  }
  let commandLine: ReturnType<typeof parseCommandLine>;
  try {
    commandLine = parseCommandLine();
  } catch (error) {
    console.error(`switchboard: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = commandLine;
  // What was asked for goes to stdout; usage after a mistake goes to stderr.
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(`switchboard ${version()}`);
    return 0;
  }
  const command = positionals[0] ?? "serve";
  if (!["serve", "check", "migrate"].includes(command)) {
    console.error(`switchboard: unknown command "${command}"\n${USAGE}`);
    return 2;
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
    if (command === "migrate") {
      if (!configPath) throw new ConfigError("(none)", ["--config FILE is required"]);
      console.log(await migrateStore(await loadConfigFile(configPath)));
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

  // Tests with several serve processes freeze the limits' clock so no bucket refills mid-test.
  const frozen = process.env.SWITCHBOARD_TEST_LIMITS_CLOCK_MS;
  const clock = frozen && Number.isSafeInteger(Number(frozen)) ? () => Number(frozen) : undefined;
  const gateway = await startGateway(loaded.config, { notes: loaded.notes, clock });
  // A stray rejection in one call must not take every other call down with the process.
  process.on("unhandledRejection", (reason) => gateway.log.error({ err: reason }, "unhandled rejection (the gateway keeps running)"));
  const handlers = {
    apply: (config: GatewayConfig) => gateway.reload(config),
    reject: (error: ConfigError) => gateway.log.error({ problems: error.problems }, "config reload rejected: the config in force stays"),
  };
  const watcher = loaded.fromFile && configPath ? watchConfigFile(configPath, handlers, { initial: loaded.fromFile }) : undefined;
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
