// Schema migrations: a fresh file gets the whole schema, a re-open keeps the data and applies
// nothing twice, and a file from a newer gateway is refused rather than misread.
import { existsSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { SCHEMA_VERSION } from "../../server/store/sqlite/schema.js";
import { SqliteStore } from "../../server/store/sqlite/sqlite-store.js";
import { StoreError } from "../../server/store/store.js";
import { ledgerRow, openTestStore, secondConnection, tempDir } from "./fixtures.js";

test("a fresh database is created with its directory, in WAL mode, at the current schema version", async (t) => {
  const { store, path } = openTestStore(t);
  t.true(existsSync(path));
  await store.append({ row: ledgerRow() });
  const db = secondConnection(t, path);
  t.is(db.pragma("journal_mode", { simple: true }), "wal");
  t.deepEqual(db.prepare("SELECT version FROM schema_version").all(), Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
  t.deepEqual(tables, ["audit", "budget_alerts", "keys", "ledger", "rollup_day", "rollup_hour", "schema_version"]);
});

test("reopening keeps the data and applies no migration twice", async (t) => {
  const path = join(tempDir(t), "switchboard.db");
  const first = new SqliteStore({ path });
  const row = ledgerRow();
  await first.append({ row, audit: { requestHash: "0".repeat(64) } });
  await first.close();

  const second = new SqliteStore({ path });
  t.teardown(() => second.close());
  const rows = [];
  for await (const stored of second.exportLedger()) rows.push(stored);
  t.deepEqual(rows, [row]);
  t.true((await second.verifyAudit()).ok);
  const db = secondConnection(t, path);
  t.is(db.prepare("SELECT COUNT(*) FROM schema_version").pluck().get(), SCHEMA_VERSION);
});

test("start-up-refuses-a-newer-schema-version", async (t) => {
  const path = join(tempDir(t), "switchboard.db");
  await new SqliteStore({ path }).close();
  const db = secondConnection(t, path);
  db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)").run(SCHEMA_VERSION + 1);
  const error = t.throws(() => new SqliteStore({ path }), { instanceOf: StoreError });
  t.is(error?.code, "schema_too_new");
  t.regex(error?.message ?? "", new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this gateway knows \\(${SCHEMA_VERSION}\\)`));
});
