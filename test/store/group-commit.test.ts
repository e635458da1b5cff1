// Group commit: one transaction per event-loop turn, promises that settle only after commit,
// idempotent re-appends, and a failed write that rejects without crashing.
import test from "ava";
import Database from "better-sqlite3";
import { BatchWriter } from "../../server/store/sqlite/batch-writer.js";
import { StoreError, type LedgerRow } from "../../server/store/store.js";
import { ledgerRow, openTestStore, openThreadedStore, secondConnection } from "./fixtures.js";

const countRows = (db: ReturnType<typeof secondConnection>) => (db.prepare("SELECT COUNT(*) AS n FROM ledger").get() as { n: number }).n;

test("rows-appended-in-one-turn-share-one-transaction", async (t) => {
  const { store } = await openThreadedStore(t);
  const before = store.commitStats.transactions;
  await Promise.all(Array.from({ length: 50 }, () => store.append({ row: ledgerRow() })));
  t.deepEqual(store.commitStats, { transactions: before + 1, items: 50, threadedItems: 50 });

  const first = store.append({ row: ledgerRow() });
  await new Promise<void>((resolve) => setImmediate(resolve));
  const second = store.append({ row: ledgerRow() }); // a later turn: its own transaction
  await Promise.all([first, second]);
  t.is(store.commitStats.transactions, before + 3);
});

test("append-resolves-only-after-commit", async (t) => {
  const { store, path } = await openThreadedStore(t);
  const other = secondConnection(t, path);
  const appended = Array.from({ length: 10 }, () => store.append({ row: ledgerRow() }));
  let resolved = false;
  void Promise.all(appended).then(() => (resolved = true));
  await Promise.resolve();
  t.false(resolved, "nothing is promised before the transaction ran");
  t.is(countRows(other), 0, "nothing is written within the turn that appended");
  await Promise.all(appended);
  t.is(countRows(other), 10, "another connection sees every row once the promises resolved: they are committed");
});

test("re-appended-request-id-is-stored-once", async (t) => {
  const { store, path } = await openThreadedStore(t);
  const row = ledgerRow();
  await Promise.all([store.append({ row, audit: { requestHash: "a".repeat(64) } }), store.append({ row, audit: { requestHash: "a".repeat(64) } })]);
  await store.append({ row, audit: { requestHash: "a".repeat(64) } });
  const other = secondConnection(t, path);
  t.is(countRows(other), 1);
  const rollup = other.prepare("SELECT SUM(calls) AS calls FROM rollup_hour").get() as { calls: number };
  t.is(rollup.calls, 1, "the duplicate is not counted in the rollups");
  t.is((await store.verifyAudit()).count, 1, "nor audited twice");
});

test("invalid-row-rejects-alone", async (t) => {
  const { store, path } = await openThreadedStore(t);
  const audit = { requestHash: "c".repeat(64) };
  const good = [store.append({ row: ledgerRow(), audit }), store.append({ row: ledgerRow(), audit })];
  const bad = store.append({ row: ledgerRow({ costNanoUsd: 1.5 as unknown as bigint }), audit });
  // Passes validation but the database refuses it (NOT NULL), after its savepoint began.
  const refused = store.append({ row: ledgerRow({ keyId: null as unknown as string }), audit });
  const last = store.append({ row: ledgerRow(), audit });
  await t.throwsAsync(bad, { instanceOf: TypeError, message: /costNanoUsd/ });
  const error = await t.throwsAsync(refused, { instanceOf: StoreError, message: /NOT NULL/ });
  t.is(error?.code, "write_failed");
  await Promise.all([...good, last]);
  const other = secondConnection(t, path);
  t.is(countRows(other), 3);
  t.is(other.prepare("SELECT SUM(calls) FROM rollup_day").pluck().get(), 3, "the refused rows are not in the rollups");
  t.deepEqual(await store.verifyAudit(), { ok: true, count: 3, head: other.prepare("SELECT hash FROM audit WHERE seq = 3").pluck().get() });
});

test("failed-write-rejects-its-batch-and-is-reported", async (t) => {
  const failures: number[] = [];
  const { store, path } = await openThreadedStore(t, { onWriteError: (_error, rows) => failures.push(rows) });
  await store.append({ row: ledgerRow() });
  const other = secondConnection(t, path);
  other.pragma("busy_timeout = 0");
  other.exec("BEGIN IMMEDIATE"); // another writer holds the lock past the store's busy timeout
  const blocked = [store.append({ row: ledgerRow() }), store.append({ row: ledgerRow() })];
  const errors = await Promise.all(blocked.map((promise) => t.throwsAsync(promise, { instanceOf: StoreError, message: /locked/i })));
  t.true(errors.every((error) => error?.code === "write_failed"));
  t.deepEqual(failures, [2]);
  other.exec("ROLLBACK");
  await t.notThrowsAsync(store.append({ row: ledgerRow() }), "the store writes again once the lock is free");
  t.is(countRows(other), 2);
});

test("close-flushes-the-queue-and-refuses-later-appends", async (t) => {
  const { store, path } = await openThreadedStore(t);
  const pending = store.append({ row: ledgerRow() });
  await store.close();
  await t.notThrowsAsync(pending);
  await t.throwsAsync(store.append({ row: ledgerRow() }), { message: /closed/ });
  t.is(countRows(secondConnection(t, path)), 1);
});

test("bad-item-in-batch-fails-alone-without-savepoints", async (t) => {
  const { path } = openTestStore(t); // a migrated file; its own queue stays idle
  const statements: string[] = [];
  const db = new Database(path, { verbose: (sql) => statements.push(String(sql)) });
  t.teardown(() => db.close());
  const writer = new BatchWriter(db);
  const call = (row: LedgerRow) => ({ kind: "call" as const, entry: { row, audit: { requestHash: "f".repeat(64) } } });
  const transactions = () => statements.filter((sql) => /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/.test(sql));

  const good = writer.write([call(ledgerRow()), call(ledgerRow()), call(ledgerRow())]);
  t.true(good.every((result) => "value" in result));
  t.deepEqual(transactions(), ["BEGIN IMMEDIATE", "COMMIT"], "a batch is one transaction, no savepoint per row");

  statements.length = 0;
  const results = writer.write([call(ledgerRow()), call(ledgerRow({ team: null as unknown as string })), call(ledgerRow())]);
  t.true("value" in results[0] && "value" in results[2]);
  t.true("error" in results[1] && results[1].error instanceof StoreError && /NOT NULL/.test(results[1].error.message));
  t.deepEqual(
    transactions(),
    ["BEGIN IMMEDIATE", "ROLLBACK", ...Array.from({ length: 3 }, (_, i) => ["BEGIN IMMEDIATE", i === 1 ? "ROLLBACK" : "COMMIT"]).flat()],
    "the batch rolled back, then each item in its own transaction",
  );
  t.is(db.prepare("SELECT COUNT(*) FROM ledger").pluck().get(), 5);
  t.is(db.prepare("SELECT SUM(calls) FROM rollup_day").pluck().get(), 5);
});
