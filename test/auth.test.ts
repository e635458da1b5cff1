// Virtual keys over real sockets: every way a key can fail, the alias allow-list (also after a rule
// redirect), ListModels and NOT_FOUND filtered to what the key may use, caller and team in rules,
// default metadata, and the services that stay open without a key.
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { type ExecutionContext } from "ava";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createInferenceClient, userText } from "../clients/inference-client.js";
import { parse as parseYaml } from "yaml";
import { validateConfig } from "../server/config/load.js";
import { hashKey } from "../server/store/key-secrets.js";
import { SqliteStore } from "../server/store/sqlite/sqlite-store.js";
import type { GatewayOptions } from "../server/gateway.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";

const SEARCH = "sk-sb-search-api-0000000000000001";
const EXPIRED = "sk-sb-expired-key-00000000000002";
const OPS = "sk-sb-ops-hashed-000000000000003";

async function setup(t: ExecutionContext, options: GatewayOptions = {}) {
  const main = await useFake(t, () => startOpenAIFake());
  const other = await useFake(t, () => startOpenAIFake());
  const provider = (url: string) => ({ type: "openai", base_url: `${url}/v1`, api_key: "sk-upstream-000000000" });
  const target = (name: string, priority: number) => ({ provider: name, model: "gpt-4o-mini", priority });
  const alias = (...targets: object[]) => ({ retry: { max_attempts: 1 }, targets });
  const gw = await startTestGateway(
    t,
    {
      providers: { main: provider(main.url), other: provider(other.url) },
      models: {
        chat: alias(target("main", 1), target("other", 2)),
        "chat-eu": alias(target("main", 1), target("other", 2)),
        secret: alias(target("main", 1), target("other", 2)),
      },
      rules: [
        { name: "ops-to-other", when: { caller: "ops-bot", alias: "secret" }, then: { providers: ["other"] } },
        { name: "search-team-eu", when: { cel: 'request.team == "search" && request.alias == "chat-eu"' }, then: { providers: ["other"] } },
        { name: "gold-tier", when: { alias: "chat", metadata: { tier: "gold" } }, then: { providers: ["other"] } },
        { name: "to-secret", when: { metadata: { route: "secret" } }, then: { alias: "secret" } },
      ],
      teams: { search: { models: ["chat*"], metadata: { tier: "gold" } }, ops: {} },
      keys: [
        { name: "search-api", team: "search", secret: SEARCH },
        { name: "old-key", team: "search", secret: EXPIRED, expires_at: "2020-01-01T00:00:00Z" },
        { name: "ops-bot", team: "ops", sha256: hashKey(OPS), models: ["secret"] },
      ],
    },
    options,
  );
  const as = (apiKey?: string) => createInferenceClient({ baseUrl: gw.baseUrl, apiKey, timeoutMs: 30_000 });
  return { ...gw, main, other, as };
}

const ask = (model: string, metadata: Record<string, string> = {}) => ({ model, messages: [userText("Hi")], metadata });

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

test("missing-key-is-unauthenticated and nothing reaches the upstream", async (t) => {
  const { as, main, other } = await setup(t);
  const error = await refusal(as().complete(ask("chat")));
  t.is(error.code, Code.Unauthenticated);
  t.regex(error.rawMessage, /no virtual key/);
  t.is(main.requests.length + other.requests.length, 0);
});

test("unknown-expired-and-malformed-keys-are-unauthenticated without echoing the secret", async (t) => {
  const { as, baseUrl } = await setup(t);
  const unknown = await refusal(as("sk-sb-not-a-key-00000000000000").complete(ask("chat")));
  t.is(unknown.code, Code.Unauthenticated);
  t.is(unknown.rawMessage, "unknown virtual key");
  const expired = await refusal(as(EXPIRED).complete(ask("chat")));
  t.is(expired.code, Code.Unauthenticated);
  t.regex(expired.rawMessage, /"old-key" has expired/);
  t.false(expired.rawMessage.includes(EXPIRED));
  const raw = createClient((await import("../gen/switchboard/v1/inference_pb.js")).InferenceService, createGrpcTransport({ baseUrl }));
  for (const authorization of [SEARCH, `Basic ${SEARCH}`, "Bearer"]) {
    const wrong = await refusal(raw.complete(ask("chat"), { headers: { authorization } }));
    t.is(wrong.code, Code.Unauthenticated, authorization.slice(0, 6));
    t.false(wrong.rawMessage.includes(SEARCH));
  }
  const viaApiKey = await raw.complete(ask("chat"), { headers: { "x-api-key": SEARCH } });
  t.is(viaApiKey.message?.content[0]?.part.value, "echo: Hi");
});

test("revoked-run-time-key-is-unauthenticated after refresh", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sb-auth-"));
  const store = new SqliteStore({ path: join(dir, "sb.db") });
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const secret = "sk-sb-run-time-key-0000000000004";
  const created = await store.createKey({ name: "batch-job", team: "ops", hash: hashKey(secret), restrictions: { models: ["chat"] } });
  const { as, gateway } = await setup(t, { store });
  t.is((await as(secret).complete(ask("chat"))).message?.content[0]?.part.value, "echo: Hi");
  const denied = await refusal(as(secret).complete(ask("secret")));
  t.is(denied.code, Code.PermissionDenied, "a stored key's own models apply");
  await store.revokeKey(created.id);
  await gateway.keys.refresh();
  const revoked = await refusal(as(secret).complete(ask("chat")));
  t.is(revoked.code, Code.Unauthenticated);
  t.regex(revoked.rawMessage, /"batch-job" has been revoked/);
});

test("alias-outside-allow-list-is-permission-denied naming alias and key, also after a rule redirect", async (t) => {
  const { as, main, other } = await setup(t);
  const direct = await refusal(as(SEARCH).complete(ask("secret")));
  t.is(direct.code, Code.PermissionDenied);
  t.is(direct.rawMessage, 'key "search-api" may not use model alias "secret"');
  const redirected = await refusal(as(SEARCH).complete(ask("chat", { route: "secret" })));
  t.is(redirected.code, Code.PermissionDenied);
  t.is(redirected.rawMessage, 'key "search-api" may not use model alias "secret"');
  const stream = await refusal(
    (async () => {
      for await (const chunk of as(SEARCH).streamComplete(ask("chat", { route: "secret" }))) void chunk;
    })(),
  );
  t.is(stream.code, Code.PermissionDenied);
  t.is(main.requests.length + other.requests.length, 0);
});

test("list-models-and-not-found-show-only-allowed-aliases", async (t) => {
  const { as } = await setup(t);
  t.deepEqual((await as(SEARCH).listModels({})).models.map((m) => m.name).sort(), ["chat", "chat-eu"]);
  t.deepEqual((await as(OPS).listModels({})).models.map((m) => m.name), ["secret"]);
  t.is((await refusal(as().listModels({}))).code, Code.Unauthenticated);
  const missing = await refusal(as(SEARCH).complete(ask("nope")));
  t.is(missing.code, Code.NotFound);
  t.regex(missing.rawMessage, /\(known: chat, chat-eu\)$/);
});

test("caller-and-team-reach-routing-rules and team metadata defaults yield to the request's", async (t) => {
  const { as } = await setup(t);
  const provider = async (apiKey: string, model: string, metadata?: Record<string, string>) =>
    (await as(apiKey).complete(ask(model, metadata))).route?.provider;
  t.is(await provider(OPS, "secret"), "other", "rule on caller");
  t.is(await provider(SEARCH, "chat-eu"), "other", "CEL on request.team");
  t.is(await provider(SEARCH, "chat"), "other", "the team's default metadata tier=gold");
  t.is(await provider(SEARCH, "chat", { tier: "silver" }), "main", "the request's own metadata wins");
});

test("health-and-both-reflection-versions-need-no-key", async (t) => {
  const { baseUrl, as } = await setup(t);
  t.is((await refusal(as().complete(ask("chat")))).code, Code.Unauthenticated, "auth is on");
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  t.is((await health.check({ service: "" })).status, Serving.SERVING);
  for (const api of [reflectionV1, reflectionV1alpha]) {
    const client = createClient(api.ServerReflection as typeof reflectionV1.ServerReflection, createGrpcTransport({ baseUrl }));
    async function* one() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    }
    let services: string[] = [];
    for await (const res of client.serverReflectionInfo(one())) {
      if (res.messageResponse.case === "listServicesResponse") services = res.messageResponse.value.service.map((s) => s.name);
      break;
    }
    t.true(services.includes("switchboard.v1.InferenceService"));
  }
});

test("auth-mode-none-warns-at-start-up and admits callers without a key", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(t, {
    auth: { mode: "none" },
    providers: { main: { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-000000000" } },
    models: { chat: { targets: [{ provider: "main", model: "gpt-4o-mini" }] } },
    teams: { search: {} },
  });
  t.true(gw.logs.some((line) => line.includes('"level":40') && line.includes("auth.mode is none")));
  t.is((await gw.client.complete(ask("chat"))).message?.content[0]?.part.value, "echo: Hi");
});

test("readme-keys-example-is-a-valid-config", async (t) => {
  const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
  const shown = /### Keys, limits and budgets[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (shown === undefined) return t.fail("no keys example in the README");
  const env = { SWITCHBOARD_ADMIN_KEY: "admin-secret-0000000000", SEARCH_API_KEY: "sk-sb-search-000000000000" };
  const document = { ...(parseYaml(shown) as object), providers: { p: { type: "openai", api_key: "sk-x-000000000000" } }, models: { chat: { targets: [{ provider: "p", model: "gpt-4o" }] } } };
  const config = validateConfig(document, "README", env);
  t.is(config.keys[0]?.name, "search-api");
  t.is(config.teams.search?.budget?.usd, 50);
});

test("config-key-checks-reject-unknown-team-duplicate-name-and-secret without printing it", (t) => {
  const base = { providers: { p: { type: "openai", api_key: "sk-x-000000000000" } }, models: { chat: { targets: [{ provider: "p", model: "gpt-4o" }] } } };
  const error = t.throws(() =>
    validateConfig(
      {
        ...base,
        teams: { search: { providers: ["nope"] } },
        keys: [
          { name: "a", team: "search", secret: SEARCH },
          { name: "a", team: "serach", sha256: hashKey(SEARCH) },
        ],
      },
      "test",
    ),
  );
  const message = error?.message ?? "";
  t.regex(message, /teams\.search\.providers: unknown provider "nope"/);
  t.regex(message, /keys\[1\]\.team: unknown team "serach" \(known: search\)/);
  t.regex(message, /keys\[1\]\.name: "a" is already the name of keys\[0\]/);
  t.regex(message, /keys\[1\]: the same secret as keys\[0\]/);
  t.false(message.includes(SEARCH) || message.includes(hashKey(SEARCH)));
});

test("reload-swaps-config-keys: a removed key stops working, an added one starts", async (t) => {
  const { as, gateway } = await setup(t);
  t.truthy(await as(SEARCH).complete(ask("chat")));
  const added = "sk-sb-added-on-reload-00000000005";
  gateway.reload(
    validateConfig(
      {
        listen: "127.0.0.1:0",
        providers: { main: { type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-upstream-000000000" } },
        models: { chat: { targets: [{ provider: "main", model: "gpt-4o-mini" }] } },
        teams: { search: {} },
        keys: [{ name: "added", team: "search", secret: added }],
      },
      "reloaded",
    ),
  );
  t.is((await refusal(as(SEARCH).complete(ask("chat")))).code, Code.Unauthenticated);
  t.deepEqual((await as(added).listModels({})).models.map((m) => m.name), ["chat"]);
});
