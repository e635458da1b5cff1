// PostgresStore against a real PostgreSQL server (one cluster for this file, one database per
// test): idempotent retried flushes, migrations under concurrent starts, a newer schema refused,
// and one audit chain written by two stores at once.
import type { ExecutionContext } from "ava";
import test from "ava";
import pg from "pg";
import { PostgresStore } from "../../server/store/postgres/postgres-store.js";
import { POSTGRES_SCHEMA_VERSION } from "../../server/store/postgres/schema.js";
import { StoreError } from "../../server/store/store.js";
import { startPostgres, type PostgresCluster } from "../helpers/postgres.js";
import { ledgerRow } from "../store/fixtures.js";

let cluster: PostgresCluster;
test.before(async () => {
  cluster = await startPostgres();
});
test.after.always(async () => {
  await cluster?.stop();
});

async function openStore(t: ExecutionContext, url?: string) {
  const databaseUrl = url ?? (await cluster.createDatabase());
  const store = await PostgresStore.open({ url: databaseUrl });
  t.teardown(() => store.close());
  return { store, url: databaseUrl };
}

function connect(t: ExecutionContext, url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 }).on("error", () => {}); // the cluster shutting down must not crash the test process
  t.teardown(() => pool.end());
  return pool;
}

test("postgres-retried-flush-stores-and-counts-a-request-once", async (t) => {
  const { store, url } = await openStore(t);
  const row = ledgerRow({ costNanoUsd: 7_000n });
  // The same row twice in one batch, again in a later batch (a retried flush), and from another replica.
  await Promise.all([store.append({ row, audit: { requestHash: "a".repeat(64) } }), store.append({ row, audit: { requestHash: "a".repeat(64) } })]);
  await store.append({ row, audit: { requestHash: "a".repeat(64) } });
  const { store: replica } = await openStore(t, url);
  await replica.append({ row, audit: { requestHash: "a".repeat(64) } });

  const exported = [];
  for await (const stored of store.exportLedger()) exported.push(stored);
  t.deepEqual(exported, [row]);
  const usage = await store.usage({});
  t.is(usage.totals.calls, 1, "the rollups count the call once");
  t.is(usage.totals.costNanoUsd, 7_000n);
  t.like(await store.verifyAudit(), { ok: true, count: 1 }, "and the audit log has one record for it");
  const db = connect(t, url);
  const { rows } = await db.query<{ calls: string }>("SELECT SUM(calls)::text AS calls FROM rollup_day");
  t.is(rows[0].calls, "1");
});

test("postgres-batches-queued-in-one-turn-commit-in-one-transaction", async (t) => {
  const { store } = await openStore(t);
  const rows = Array.from({ length: 300 }, () => ledgerRow());
  await Promise.all(rows.map((row) => store.append({ row })));
  t.is(store.commitStats.transactions, 1);
  t.is(store.commitStats.items, 300);
  t.is((await store.usage({})).totals.calls, 300);
});

test("postgres-invalid-row-is-refused-alone", async (t) => {
  const { store } = await openStore(t);
  const good = ledgerRow();
  const bad = ledgerRow({ costNanoUsd: -1n });
  const [ok, refused] = await Promise.allSettled([store.append({ row: good }), store.append({ row: bad })]);
  t.is(ok.status, "fulfilled");
  t.is(refused.status, "rejected");
  t.is((await store.usage({})).totals.calls, 1);
});

test("postgres-migrations-under-concurrent-starts-make-one-schema", async (t) => {
  const url = await cluster.createDatabase();
  const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open({ url })));
  t.teardown(() => Promise.all(stores.map((s) => s.close())).then(() => undefined));
  const db = connect(t, url);
  const versions = await db.query<{ version: number }>("SELECT version FROM schema_version ORDER BY version");
  t.deepEqual(versions.rows.map((r) => r.version), Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
  const tables = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  t.deepEqual(tables.rows.map((r) => r.tablename), ["audit", "budget_alerts", "keys", "ledger", "rollup_day", "rollup_hour", "schema_version"]);
  await Promise.all(stores.map((store) => store.append({ row: ledgerRow() })));
  t.is((await stores[0].usage({})).totals.calls, 3);
});

test("postgres-start-up-refuses-a-newer-schema-version", async (t) => {
  const { store, url } = await openStore(t);
  await store.close();
  const db = connect(t, url);
  await db.query("INSERT INTO schema_version (version, applied_at) VALUES ($1, 0)", [POSTGRES_SCHEMA_VERSION + 1]);
  const error = await t.throwsAsync(PostgresStore.open({ url }), { instanceOf: StoreError });
  t.is(error?.code, "schema_too_new");
  t.regex(error?.message ?? "", new RegExp(`schema version ${POSTGRES_SCHEMA_VERSION + 1}, newer than this gateway knows`));
});

test("postgres-audit-chain-with-two-concurrent-writers-verifies", async (t) => {
  const { store: first, url } = await openStore(t);
  const { store: second } = await openStore(t, url);
  const writes: Promise<unknown>[] = [];
  for (let turn = 0; turn < 20; turn++) {
    for (const store of [first, second]) {
      for (let i = 0; i < 10; i++) writes.push(store.append({ row: ledgerRow(), audit: { requestHash: "b".repeat(64) } }));
      writes.push(store.appendAudit({ time: turn, kind: "config_reloaded", actor: "admin", detail: { turn: String(turn) } }));
    }
    await new Promise((resolve) => setImmediate(resolve)); // the next turn: more batches in flight at once
  }
  await Promise.all(writes);
  const verdict = await first.verifyAudit();
  t.like(verdict, { ok: true, count: writes.length });
  t.deepEqual(await second.verifyAudit(), verdict, "both replicas read the same chain");
  t.true(first.commitStats.transactions > 1 && second.commitStats.transactions > 1);
});

test("postgres-audit-table-refuses-updates-and-deletes", async (t) => {
  const { store, url } = await openStore(t);
  await store.appendAudit({ time: 1, kind: "config_reloaded", actor: "admin", detail: {} });
  const db = connect(t, url);
  await t.throwsAsync(db.query("UPDATE audit SET actor = 'x'"), { message: /append-only/ });
  await t.throwsAsync(db.query("DELETE FROM audit"), { message: /append-only/ });
});
