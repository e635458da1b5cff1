// The config watcher reloads when anything the config was built from changes: a Kubernetes
// ConfigMap update (a `..data` symlink swap), a ${file:…} secret, a routing policy file.
import test from "ava";
import { mkdir, mkdtemp, rename, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { userText } from "../clients/inference-client.js";
import { watchForGateway } from "./helpers/reloads.js";
import { providersFor, routingGateway, startUpstreams, type Upstreams } from "./helpers/routing.js";

const ask = () => ({ model: "chat", messages: [userText("Hi")] });

function configFor(up: Upstreams, provider: string) {
  return { listen: "127.0.0.1:0", providers: providersFor(up), models: { chat: { targets: [{ provider, model: "gpt-4o-mini" }] } } };
}

test("configmap-symlink-swap-reloads: a ConfigMap update (..data swapped by rename) is applied", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client, gateway } = await routingGateway(t, up, configFor(up, "a").models);
  // The layout kubelet writes for a mounted ConfigMap.
  const dir = await mkdtemp(join(tmpdir(), "sb-configmap-"));
  await mkdir(join(dir, "..2026_01_01"));
  await writeFile(join(dir, "..2026_01_01", "switchboard.yaml"), JSON.stringify(configFor(up, "a")));
  await symlink("..2026_01_01", join(dir, "..data"));
  await symlink("..data/switchboard.yaml", join(dir, "switchboard.yaml"));
  const watched = await watchForGateway(t, join(dir, "switchboard.yaml"), gateway);
  t.is((await client.complete(ask())).route?.provider, "a");

  // kubelet's update: a new timestamped directory, a new symlink, renamed over ..data.
  await mkdir(join(dir, "..2026_01_02"));
  await writeFile(join(dir, "..2026_01_02", "switchboard.yaml"), JSON.stringify(configFor(up, "b")));
  await symlink("..2026_01_02", join(dir, "..data_tmp"));
  const reloaded = watched.nextReload();
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  await reloaded;
  t.is((await client.complete(ask())).route?.provider, "b");
  t.is(watched.applied(), 1);
});

test("secret-file-change-reloads: rewriting a ${file:…} secret applies the new credential", async (t) => {
  const up = await startUpstreams(t, ["a"]);
  const secrets = await mkdtemp(join(tmpdir(), "sb-secret-dir-"));
  const secret = join(secrets, "openai-key");
  await writeFile(secret, "sk-watch-old-0001\n");
  const document = {
    listen: "127.0.0.1:0",
    providers: { a: { type: "openai", base_url: `${up.a.url}/v1`, api_key: `\${file:${secret}}` } },
    models: { chat: { targets: [{ provider: "a", model: "gpt-4o-mini" }] } },
  };
  const { client, gateway } = await routingGateway(t, up, document.models, { providers: document.providers });
  const dir = await mkdtemp(join(tmpdir(), "sb-config-dir-"));
  await writeFile(join(dir, "switchboard.yaml"), JSON.stringify(document));
  const watched = await watchForGateway(t, join(dir, "switchboard.yaml"), gateway);
  await client.complete(ask());
  t.is(up.a.last().headers.authorization, "Bearer sk-watch-old-0001");

  const reloaded = watched.nextReload();
  await writeFile(secret, "sk-watch-new-0002\n");
  await reloaded;
  await client.complete(ask());
  t.is(up.a.last().headers.authorization, "Bearer sk-watch-new-0002");
});

test("policy-file-change-reloads: editing the routing policy_file reorders the targets", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const dir = await mkdtemp(join(tmpdir(), "sb-policy-"));
  await mkdir(join(dir, "policies"));
  const policy = join(dir, "policies", "routing.json");
  const priorities = (first: number, second: number) =>
    JSON.stringify({ routing: [{ model: "first", priority: first }, { model: "second", priority: second }] });
  await writeFile(policy, priorities(1, 2));
  const models = {
    chat: {
      policy_file: "policies/routing.json",
      targets: [
        { provider: "a", model: "gpt-4o-mini", name: "first" },
        { provider: "b", model: "gpt-4o-mini", name: "second" },
      ],
    },
  };
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", providers: providersFor(up), models }));
  const { client, gateway } = await routingGateway(t, up, { chat: { ...models.chat, policy_file: policy } });
  const watched = await watchForGateway(t, file, gateway);
  t.is((await client.complete(ask())).route?.provider, "a");

  const reloaded = watched.nextReload();
  await writeFile(policy, priorities(2, 1));
  await reloaded;
  t.is((await client.complete(ask())).route?.provider, "b");
});
