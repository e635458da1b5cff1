// The gateway on `store.postgres` over real sockets: a call's ledger row reaches GetUsage and
// ExportLedger, keys created on one gateway authenticate on another sharing the database, and
// `switchboard migrate` brings a PostgreSQL (or SQLite) store to the current schema version.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import pg from "pg";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService, UsageDimension } from "../../gen/switchboard/v1/admin_pb.js";
import { userText } from "../../clients/inference-client.js";
import { PostgresStore } from "../../server/store/postgres/postgres-store.js";
import { POSTGRES_SCHEMA_VERSION } from "../../server/store/postgres/schema.js";
import { SCHEMA_VERSION } from "../../server/store/sqlite/schema.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "../helpers/gateway.js";
import { startPostgres, type PostgresCluster } from "../helpers/postgres.js";

const ADMIN_KEY = "admin-secret-for-pg-tests-0001";
const asAdmin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } };
const run = promisify(execFile);

let cluster: PostgresCluster;
test.before(async () => {
  cluster = await startPostgres();
});
test.after.always(async () => {
  await cluster?.stop();
});

async function gatewayOn(t: ExecutionContext, url: string, fakeUrl: string) {
  const gw = await startTestGateway(t, {
    ...singleProviderConfig({ type: "openai", base_url: `${fakeUrl}/v1`, api_key: "sk-test-pg-0000000000" }),
    auth: { admin_key: ADMIN_KEY },
    store: { postgres: { url } },
  });
  return { ...gw, admin: createClient(AdminService, createGrpcTransport({ baseUrl: gw.baseUrl })) };
}

test("gateway-on-postgres-ledger-row-reaches-get-usage-and-export", async (t) => {
  const url = await cluster.createDatabase();
  const fake = await useFake(t, () => startOpenAIFake());
  const { client, admin, gateway } = await gatewayOn(t, url, fake.url);
  t.true(gateway.store instanceof PostgresStore);
  fake.enqueue({ kind: "reply", text: "Hello", usage: { input: 1000, output: 500, cached: 200 } });
  const res = await client.complete({ model: "chat", messages: [userText("Hi")] });
  // Read at once: the row was committed before the answer left the gateway.
  const usage = await admin.getUsage({ groupBy: [UsageDimension.MODEL] }, asAdmin);
  t.is(usage.totals?.calls, 1n);
  t.is(usage.totals?.uncachedInputTokens, 800n);
  t.is(usage.totals?.costNanoUsd, res.usage?.costNanoUsd ?? -1n);
  const exported: { status: string; costNanoUsd: string; model: string }[] = [];
  for await (const line of admin.exportLedger({}, asAdmin)) exported.push(JSON.parse(line.json) as (typeof exported)[number]);
  t.deepEqual(exported.map((r) => [r.status, r.model, r.costNanoUsd]), [["OK", "gpt-4o-mini", String(res.usage?.costNanoUsd)]]);
  t.true((await admin.verifyAudit({}, asAdmin)).ok);
});

test("gateway-on-postgres-key-created-on-one-replica-is-stored-for-all", async (t) => {
  const url = await cluster.createDatabase();
  const fake = await useFake(t, () => startOpenAIFake());
  const [one, two] = await Promise.all([gatewayOn(t, url, fake.url), gatewayOn(t, url, fake.url)]);
  const created = await one.admin.createKey({ name: "search-api", team: "search" }, asAdmin);
  const listed = await two.admin.listKeys({}, asAdmin);
  t.true(listed.keys.some((k) => k.name === "search-api"), "the second replica reads the key from the shared database");
  t.truthy(created.secret);
  const verdict = await two.admin.verifyAudit({}, asAdmin);
  t.true(verdict.ok);
  t.true(verdict.count >= 1n, "the key's creation is on the one shared chain");
});

async function configFile(t: ExecutionContext, store: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sb-migrate-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "switchboard.yaml");
  const config = {
    store: typeof store.sqlite === "object" ? { sqlite: { path: join(dir, "data", "switchboard.db") } } : store,
    providers: { upstream: { type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-test-migrate-00000" } },
    models: { chat: { targets: [{ provider: "upstream", model: "gpt-4o-mini" }] } },
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

const cli = (...args: string[]) => run(process.execPath, ["--import=tsx", "server/cli.ts", ...args], { env: { ...process.env, SWITCHBOARD_CONFIG: "" } });

test("switchboard-migrate-applies-postgres-migrations-and-exits-0", async (t) => {
  const url = await cluster.createDatabase();
  const file = await configFile(t, { postgres: { url } });
  const first = await cli("migrate", "--config", file);
  t.regex(first.stdout, new RegExp(`postgres: schema version ${POSTGRES_SCHEMA_VERSION} \\(migrated from 0\\)`));
  const again = await cli("migrate", "--config", file);
  t.regex(again.stdout, new RegExp(`postgres: schema version ${POSTGRES_SCHEMA_VERSION} \\(up to date\\)`));
  const pool = new pg.Pool({ connectionString: url, max: 1 }).on("error", () => {}); // the cluster shutting down must not crash the test process
  t.teardown(() => pool.end());
  const { rows } = await pool.query<{ n: string }>("SELECT COUNT(*)::text AS n FROM schema_version");
  t.is(rows[0].n, String(POSTGRES_SCHEMA_VERSION));
});

test("switchboard-migrate-works-for-sqlite", async (t) => {
  const file = await configFile(t, { sqlite: {} });
  const { stdout } = await cli("migrate", "--config", file);
  t.regex(stdout, new RegExp(`sqlite .*switchboard\\.db: schema version ${SCHEMA_VERSION}`));
});

test("switchboard-migrate-refuses-a-newer-postgres-schema", async (t) => {
  const url = await cluster.createDatabase();
  const file = await configFile(t, { postgres: { url } });
  await cli("migrate", "--config", file);
  const pool = new pg.Pool({ connectionString: url, max: 1 }).on("error", () => {}); // the cluster shutting down must not crash the test process
  t.teardown(() => pool.end());
  await pool.query("INSERT INTO schema_version (version, applied_at) VALUES ($1, 0)", [POSTGRES_SCHEMA_VERSION + 1]);
  const error = await t.throwsAsync(cli("migrate", "--config", file));
  t.regex((error as Error & { stderr: string }).stderr, /newer than this gateway knows/);
  t.is((error as Error & { code: number }).code, 1);
});
