// AdminService over real sockets (grpc-js door and connect-node door) against a real SQLite file.
import test, { type ExecutionContext } from "ava";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService, UsageDimension } from "../gen/switchboard/v1/admin_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { userText } from "../clients/inference-client.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

const ADMIN_KEY = "admin-secret-for-tests-0001";
const asAdmin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } };

async function setup(t: ExecutionContext, auth: Record<string, unknown> = { admin_key: ADMIN_KEY }) {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(t, { ...singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-admin-000000" }), auth });
  const admin = createClient(AdminService, createGrpcTransport({ baseUrl: gw.baseUrl }));
  const adminOverConnect = createClient(AdminService, createConnectTransport({ baseUrl: gw.baseUrl, httpVersion: "1.1" }));
  return { fake, ...gw, admin, adminOverConnect };
}

test("admin-needs-the-admin-key: none configured, none sent or a wrong one is UNAUTHENTICATED on both doors", async (t) => {
  const off = await setup(t, {});
  for (const client of [off.admin, off.adminOverConnect]) {
    const error = await t.throwsAsync(client.listKeys({}, asAdmin));
    t.is(ConnectError.from(error).code, Code.Unauthenticated);
    t.regex(ConnectError.from(error).rawMessage, /auth\.admin_key/);
  }
  const on = await setup(t);
  for (const client of [on.admin, on.adminOverConnect]) {
    t.is(ConnectError.from(await t.throwsAsync(client.listKeys({}))).code, Code.Unauthenticated);
    t.is(ConnectError.from(await t.throwsAsync(client.listKeys({}, { headers: { authorization: `Bearer ${ADMIN_KEY}x` } }))).code, Code.Unauthenticated);
    await t.notThrowsAsync(client.listKeys({}, asAdmin));
  }
});

test("admin-keys: create shows the secret once, list and revoke, each audited and in force at once", async (t) => {
  const { admin, adminOverConnect, client } = await setup(t, { mode: "keys", admin_key: ADMIN_KEY });
  const created = await admin.createKey({ name: "search-api", team: "search", restrictions: { models: ["chat*"] } }, asAdmin);
  t.regex(created.secret, /^sk-sb-[A-Za-z0-9_-]{40,}$/);
  t.is(created.key?.name, "search-api");
  t.deepEqual(created.key?.restrictions, { models: ["chat*"] });
  const again = await t.throwsAsync(admin.createKey({ name: "search-api", team: "search" }, asAdmin));
  t.is(ConnectError.from(again).code, Code.AlreadyExists);
  const listed = await adminOverConnect.listKeys({ team: "search" }, asAdmin);
  t.deepEqual(listed.keys.map((k) => k.id), [created.key?.id]);
  t.false(JSON.stringify(listed.keys.map((k) => k.restrictions)).includes(created.secret));
  const withKey = { headers: { authorization: `Bearer ${created.secret}` } };
  t.truthy((await client.complete({ model: "chat", messages: [userText("Hi")] }, withKey)).route?.provider, "a created key is honoured at once");
  const revoked = await admin.revokeKey({ id: created.key?.id ?? "" }, asAdmin);
  t.truthy(revoked.key?.revokedAt);
  t.is(ConnectError.from(await t.throwsAsync(admin.revokeKey({ id: "key_unknown" }, asAdmin))).code, Code.NotFound);
  const refused = await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }, withKey));
  t.is(ConnectError.from(refused).code, Code.Unauthenticated, "a revoked key is refused at once");
  const kinds: string[] = [];
  for await (const line of admin.exportAudit({}, asAdmin)) kinds.push((JSON.parse(line.json) as { kind: string }).kind);
  t.deepEqual(kinds, ["key_created", "call", "key_revoked"], "the call made with the key is audited too; the refused one (unauthenticated) is not");
  const verdict = await admin.verifyAudit({}, asAdmin);
  t.true(verdict.ok);
  t.is(verdict.count, 3n);
});

test("admin-usage: a call is visible to GetUsage as soon as it is answered, with the response's cost", async (t) => {
  const { fake, client, admin, adminOverConnect } = await setup(t);
  fake.enqueue({ kind: "reply", text: "Hello", usage: { input: 1000, output: 500, cached: 200 } });
  fake.enqueue({ kind: "error", error: "server_error" });
  const res = await client.complete({ model: "chat", messages: [userText("Hi")] });
  await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }));
  const usage = await admin.getUsage({ groupBy: [UsageDimension.MODEL] }, asAdmin);
  t.is(usage.totals?.calls, 2n);
  t.is(usage.totals?.errors, 1n);
  t.is(usage.totals?.inputTokens, 1000n);
  t.is(usage.totals?.cacheReadInputTokens, 200n);
  t.is(usage.totals?.uncachedInputTokens, 800n);
  t.is(usage.totals?.outputTokens, 500n);
  t.is(usage.totals?.costNanoUsd, res.usage?.costNanoUsd ?? -1n);
  t.deepEqual(usage.rows.map((r) => [r.model, r.totals?.calls]), [["gpt-4o-mini", 2n]]);
  const later = await adminOverConnect.getUsage({ filter: { from: timestampFromMs(Date.now() + 2 * 3600_000) } }, asAdmin);
  t.is(later.totals?.calls, 0n, "the time filter applies");
  const exported: { status: string; costNanoUsd: string }[] = [];
  for await (const line of admin.exportLedger({}, asAdmin)) exported.push(JSON.parse(line.json) as { status: string; costNanoUsd: string });
  t.deepEqual(exported.map((r) => [r.status, r.costNanoUsd]), [["OK", String(res.usage?.costNanoUsd)], ["UNAVAILABLE", "0"]]);
});

const SEARCH_KEY = "sk-sb-admin-search-000000000001";
const ADS_KEY = "sk-sb-admin-ads-00000000000001";
const OPS_KEY = "sk-sb-admin-ops-00000000000001";
const withKey = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });

function teamsConfig(fakeUrl: string) {
  return {
    ...singleProviderConfig({ type: "openai", base_url: `${fakeUrl}/v1`, api_key: "sk-test-admin-000000" }),
    auth: { mode: "keys", admin_key: ADMIN_KEY },
    teams: { search: { budget: { usd: 1, window: "month", alerts: [0.5] } }, ads: {} },
    keys: [
      { name: "search-api", team: "search", secret: SEARCH_KEY, budget: { usd: 0.5, window: "day" } },
      { name: "ads-api", team: "ads", secret: ADS_KEY },
      { name: "ops", team: "ads", secret: OPS_KEY, role: "admin" },
    ],
  };
}

test("team-key-reads-only-its-own-team-usage; a role: admin key administers", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  fake.setProgram(() => ({ kind: "reply", text: "ok", usage: { input: 100, output: 10 } }));
  const { client, baseUrl } = await startTestGateway(t, teamsConfig(fake.url));
  const admin = createClient(AdminService, createGrpcTransport({ baseUrl }));
  await client.complete({ model: "chat", messages: [userText("Hi")] }, withKey(SEARCH_KEY));
  await client.complete({ model: "chat", messages: [userText("Hi")] }, withKey(ADS_KEY));
  await client.complete({ model: "chat", messages: [userText("Hi")] }, withKey(ADS_KEY));

  const own = await admin.getUsage({ groupBy: [UsageDimension.TEAM] }, withKey(SEARCH_KEY));
  t.deepEqual(own.rows.map((r) => [r.team, r.totals?.calls]), [["search", 1n]], "a team key sees its own team only");
  t.is(own.totals?.calls, 1n);
  const other = ConnectError.from(await t.throwsAsync(admin.getUsage({ filter: { team: "ads" } }, withKey(SEARCH_KEY))));
  t.is(other.code, Code.PermissionDenied);
  t.regex(other.rawMessage, /search-api.*team search/);
  t.false(other.rawMessage.includes(SEARCH_KEY));
  for (const call of [() => admin.listKeys({}, withKey(ADS_KEY)), () => admin.verifyAudit({}, withKey(ADS_KEY)), () => admin.createKey({ name: "x", team: "ads" }, withKey(ADS_KEY))]) {
    t.is(ConnectError.from(await t.throwsAsync(call())).code, Code.PermissionDenied);
  }
  const everything = await admin.getUsage({ groupBy: [UsageDimension.TEAM] }, withKey(OPS_KEY));
  t.deepEqual(everything.rows.map((r) => [r.team, r.totals?.calls]).sort(), [["ads", 2n], ["search", 1n]], "a role: admin key reads every team");
  const listed = await admin.listKeys({}, withKey(OPS_KEY));
  t.deepEqual(listed.keys.map((k) => [k.id, k.source]), [["config:search-api", "config"], ["config:ads-api", "config"], ["config:ops", "config"]]);
  t.false(JSON.stringify(listed.keys.map((k) => k.restrictions)).includes(SEARCH_KEY), "no secret in a listed config key");
  t.is(ConnectError.from(await t.throwsAsync(admin.listKeys({}, withKey("sk-sb-not-a-key-0000000000000")))).code, Code.Unauthenticated);
});

test("get-budget: spent, reserved and remaining per team and key budget, exact and scoped to the caller's team", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  fake.setProgram(() => ({ kind: "reply", text: "ok", usage: { input: 100, output: 10 } }));
  const { client, baseUrl } = await startTestGateway(t, teamsConfig(fake.url));
  const admin = createClient(AdminService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  const a = await client.complete({ model: "chat", messages: [userText("Hi")] }, withKey(SEARCH_KEY));
  const b = await client.complete({ model: "chat", messages: [userText("Hi")] }, withKey(SEARCH_KEY));
  const spent = (a.usage?.costNanoUsd ?? 0n) + (b.usage?.costNanoUsd ?? 0n);
  t.true(spent > 0n);
  const all = await admin.getBudget({}, asAdmin);
  const byName = Object.fromEntries(all.budgets.map((s) => [`${s.scope}:${s.name}:${s.window}`, s]));
  t.deepEqual(Object.keys(byName).sort(), ["key:search-api:day", "team:search:month"]);
  const team = byName["team:search:month"]!;
  t.is(team.limitNanoUsd, 1_000_000_000n);
  t.is(team.spentNanoUsd, spent);
  t.is(team.reservedNanoUsd, 0n);
  t.is(team.remainingNanoUsd, 1_000_000_000n - spent);
  t.deepEqual(team.alerts, [0.5]);
  t.is(byName["key:search-api:day"]!.spentNanoUsd, spent);
  t.is(byName["key:search-api:day"]!.limitNanoUsd, 500_000_000n);
  const own = await admin.getBudget({}, withKey(SEARCH_KEY));
  t.is(own.budgets.length, 2, "the search key reads its team's budgets");
  t.deepEqual((await admin.getBudget({}, withKey(ADS_KEY))).budgets, [], "team ads has no budget");
  t.is(ConnectError.from(await t.throwsAsync(admin.getBudget({ team: "search" }, withKey(ADS_KEY)))).code, Code.PermissionDenied);
  t.deepEqual((await admin.getBudget({ key: "search-api" }, asAdmin)).budgets.map((s) => s.scope), ["key"]);
});

test("admin-service-is-in-health", async (t) => {
  const { baseUrl } = await setup(t);
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  t.is((await health.check({ service: AdminService.typeName })).status, HealthCheckResponse_ServingStatus.SERVING);
});
