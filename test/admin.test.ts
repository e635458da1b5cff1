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

test("admin-get-budget-is-unimplemented-until-budgets-are-wired; AdminService is in health", async (t) => {
  const { admin, baseUrl } = await setup(t);
  t.is(ConnectError.from(await t.throwsAsync(admin.getBudget({ team: "search" }, asAdmin))).code, Code.Unimplemented);
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  t.is((await health.check({ service: AdminService.typeName })).status, HealthCheckResponse_ServingStatus.SERVING);
});
