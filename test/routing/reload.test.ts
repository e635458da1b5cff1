// Live reconfiguration: atomic swap under load, statistics carried over, invalid reloads ignored,
// SIGHUP and file changes from the CLI.
import test from "ava";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TargetState_Circuit } from "../../gen/switchboard/v1/inference_pb.js";
import { createInferenceClient, userText } from "../../clients/inference-client.js";
import { validateConfig, type ConfigError } from "../../server/config/load.js";
import { watchConfigFile } from "../../server/config/watch.js";
import { programs } from "../fakes/script.js";
import { childOutput } from "../helpers/child-output.js";
import { providersFor, routingGateway, runCalls, startUpstreams, type Upstreams } from "../helpers/routing.js";

const ask = () => ({ model: "chat", messages: [userText("Hi")] });

function configFor(up: Upstreams, provider: string, extra: Record<string, unknown> = {}) {
  return {
    listen: "127.0.0.1:0",
    providers: providersFor(up),
    models: { chat: { targets: [{ provider, model: "gpt-4o-mini" }], ...extra } },
  };
}

test("a reload under load drops no call; new calls use the new config", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  up.a.setProgram(programs.always({ kind: "reply", text: "old", delayMs: 30 }));
  const { client, gateway } = await routingGateway(t, up, configFor(up, "a").models);
  let reloaded = false;
  const calls = runCalls(300, 12, async (i) => {
    if (i === 100) {
      gateway.reload(validateConfig(configFor(up, "b"), "reload"));
      reloaded = true;
    }
    await client.complete(ask());
  });
  t.is(await calls, 300, "every call succeeded");
  t.true(reloaded);
  t.true(up.a.requests.length >= 80 && up.b.requests.length >= 150, `a=${up.a.requests.length} b=${up.b.requests.length}`);
  t.is((await client.complete(ask())).route?.provider, "b");
  t.deepEqual((await client.listModels({})).models[0].targets.map((x) => x.provider), ["b"]);
});

test("router statistics carry over a reload for targets that still exist", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  up.a.setProgram(programs.always({ kind: "error", error: "server_error" }));
  const models = {
    chat: {
      retry: { max_attempts: 1 },
      circuit: { failure_threshold: 1, window_ms: 60_000, cooldown_ms: 60_000 },
      targets: [{ provider: "a", model: "gpt-4o-mini" }, { provider: "b", model: "gpt-4o-mini", priority: 2 }],
    },
  };
  const { client, gateway } = await routingGateway(t, up, models);
  await client.complete(ask());
  const reloaded = { ...models, other: { targets: [{ provider: "b", model: "gpt-4o" }] } };
  gateway.reload(validateConfig({ providers: providersFor(up), models: reloaded }, "reload"));
  const res = await client.listModels({});
  const chat = res.models.find((m) => m.name === "chat");
  t.is(chat?.targets[0].state?.circuit, TargetState_Circuit.OPEN, "the open circuit survived the reload");
  t.is(chat?.targets[0].state?.failures, 1n);
  t.truthy(res.models.find((m) => m.name === "other"));
  t.is((await client.complete(ask())).route?.attemptLog[0].outcome, "SKIPPED_CIRCUIT_OPEN");
});

test("an invalid file is rejected with its field errors and the config in force stays", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client, gateway } = await routingGateway(t, up, configFor(up, "a").models);
  const dir = await mkdtemp(join(tmpdir(), "sb-reload-"));
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, JSON.stringify(configFor(up, "a")));
  const rejected: ConfigError[] = [];
  const watcher = watchConfigFile(file, { apply: (c) => gateway.reload(c), reject: (e) => rejected.push(e) });
  t.teardown(() => watcher.close());

  await writeFile(file, JSON.stringify(configFor(up, "nope")));
  t.false(await watcher.reload());
  t.true(rejected.at(-1)?.problems.includes('models.chat.targets[0].provider: unknown provider "nope" (known: a, b)'));
  t.is((await client.complete(ask())).route?.provider, "a");

  await writeFile(file, JSON.stringify(configFor(up, "b")));
  t.true(await watcher.reload());
  t.is((await client.complete(ask())).route?.provider, "b");
});

test("the CLI reloads on SIGHUP and when the file changes", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const dir = await mkdtemp(join(tmpdir(), "sb-hup-"));
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, JSON.stringify(configFor(up, "a")));
  const child = spawn(process.execPath, ["--import=tsx", "server/cli.ts", "serve", "--config", file], { stdio: ["ignore", "pipe", "pipe"] });
  t.teardown(() => child.kill("SIGKILL"));
  const output = childOutput(child);
  const [, address] = await output.waitForLine(/"address":"([^"]+)".*switchboard listening/);
  const client = createInferenceClient({ baseUrl: `http://${address}` });
  t.is((await client.complete(ask())).route?.provider, "a");

  let mark = output.mark();
  await writeFile(file, JSON.stringify(configFor(up, "b")));
  await output.waitForLine(/config reloaded/, { after: mark });
  t.is((await client.complete(ask())).route?.provider, "b", "a file change is picked up");

  mark = output.mark();
  await writeFile(file, "models: {broken");
  child.kill("SIGHUP");
  await output.waitForLine(/config reload rejected/, { after: mark });
  t.is((await client.complete(ask())).route?.provider, "b", "an invalid file changes nothing");

  mark = output.mark();
  await writeFile(file, JSON.stringify(configFor(up, "a")));
  child.kill("SIGHUP");
  await output.waitForLine(/config reloaded/, { after: mark });
  t.is((await client.complete(ask())).route?.provider, "a", "SIGHUP reloads");
});

test("secret rotation: a ${file:…} credential is re-read on reload, no restart", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const dir = await mkdtemp(join(tmpdir(), "sb-secret-"));
  const secret = join(dir, "openai-key");
  await writeFile(secret, "sk-rotation-old-0001\n");
  const document = (key: string) => ({
    providers: { a: { type: "openai", base_url: `${up.a.url}/v1`, api_key: key } },
    models: { chat: { targets: [{ provider: "a", model: "gpt-4o-mini" }] } },
  });
  const { client, gateway } = await routingGateway(t, up, document(`\${file:${secret}}`).models, { providers: document(`\${file:${secret}}`).providers });
  await client.complete(ask());
  t.is(up.a.last().headers.authorization, "Bearer sk-rotation-old-0001");

  await writeFile(secret, "sk-rotation-new-0002\n");
  gateway.reload(validateConfig(document(`\${file:${secret}}`), "reload"));
  await client.complete(ask());
  t.is(up.a.last().headers.authorization, "Bearer sk-rotation-new-0002");

  const error = t.throws(() => validateConfig(document(`\${file:${join(dir, "missing")}}`), "reload"));
  t.regex(error?.message ?? "", /providers\.a\.api_key: cannot read secret file .*missing: ENOENT/);
});
