// The group commits run on the process's writer thread, each store with its own connection there:
// the event loop is free while a batch waits or writes, the main connection's writes wait for the
// thread's lock, bad items keep their error class across the thread, small batches stay inline, and
// a dead thread hands over to inline writes without losing what is appended afterwards.
import test, { type ExecutionContext } from "ava";
import { readdirSync, readFileSync } from "node:fs";
import { WRITER_NICE } from "../../server/store/sqlite/writer-protocol.js";
import { StoreError } from "../../server/store/store.js";
import type { SqliteStoreOptions } from "../../server/store/sqlite/sqlite-store.js";
import { THREADED_BATCH_MIN } from "../../server/store/sqlite/sqlite-store.js";
import { ledgerRow, openTestStore as openAnyStore, secondConnection } from "./fixtures.js";

/** A store whose every batch, one row too, goes to the writer thread once it runs. */
const openTestStore = (t: ExecutionContext, options: SqliteStoreOptions = {}) => openAnyStore(t, { threadedBatchMin: 1, ...options });

const countRows = (db: ReturnType<typeof secondConnection>) => db.prepare("SELECT COUNT(*) FROM ledger").pluck().get() as number;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The longest gap between event-loop turns while `work` runs. */
async function longestStall(work: Promise<unknown>): Promise<number> {
  let done = false;
  void work.then(() => (done = true), () => (done = true));
  let last = performance.now();
  let longest = 0;
  while (!done) {
    await nextTurn();
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }
  return longest;
}

// Serial: timing-sensitive ones, so no other test of this file holds the event loop meanwhile, and
// the deaths, which end the writer thread every store of this process shares.
test.serial("sqlite-writer-runs-off-the-event-loop", async (t) => {
  const { store, path } = openTestStore(t);
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() });
  const other = secondConnection(t, path);
  other.exec("BEGIN IMMEDIATE"); // the writer must wait for this lock (busy_timeout 1 s)
  const appended = store.append({ row: ledgerRow() });
  // An inline writer would wait for the lock ON this thread: nothing below would run for a second,
  // and its write would fail, the lock only being released here.
  const release = new Promise<void>((resolve) =>
    setTimeout(() => {
      other.exec("ROLLBACK");
      resolve();
    }, 150),
  );
  const stall = await longestStall(Promise.all([appended, release]));
  await t.notThrowsAsync(appended, "the writer thread waited for the lock and committed");
  t.true(stall < 500, `the event loop kept turning while the batch waited (longest gap ${stall.toFixed(0)} ms)`);
  t.is(countRows(other), 2);
});

test.serial("worker-death-falls-back-to-inline-writes", async (t) => {
  const reported: string[] = [];
  const { store, path } = openTestStore(t, { onWriteError: (error) => reported.push(error.message) });
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() });
  await store.terminateWriterThread();
  t.is(store.writerThreadId, undefined);
  t.true(reported.some((message) => /writer thread exited.*main thread/.test(message)), "the thread's death is reported");

  const row = ledgerRow();
  await store.append({ row, audit: { requestHash: "d".repeat(64) } });
  const record = await store.appendAudit({ time: row.time, kind: "key_created", actor: "admin", detail: { name: "k" } });
  const other = secondConnection(t, path);
  t.is(other.prepare("SELECT COUNT(*) FROM ledger WHERE request_id = ?").pluck().get(row.requestId), 1, "the row appended after the death is stored");
  t.is(record.seq, 2);
  t.true((await store.verifyAudit()).ok);
});

test.serial("worker-death-settles-the-batch-in-flight", async (t) => {
  const { store, path } = openTestStore(t, { onWriteError: () => {} });
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() });
  const rows = Array.from({ length: 3000 }, () => ledgerRow());
  const inFlight = rows.map((row) => store.append({ row }));
  await nextTurn(); // the batch is posted
  await store.terminateWriterThread();
  const outcomes = await Promise.allSettled(inFlight);
  const other = secondConnection(t, path);
  const stored = other.prepare("SELECT COUNT(*) FROM ledger WHERE request_id = ?").pluck();
  outcomes.forEach((outcome, i) => {
    // Either committed (and then stored) or rejected as write_failed: never left hanging.
    if (outcome.status === "fulfilled") t.is(stored.get(rows[i].requestId), 1);
    else t.is((outcome.reason as StoreError).code, "write_failed");
  });
  await t.notThrowsAsync(store.append({ row: ledgerRow() }), "later appends are written inline");
});

test.serial("key-create-waits-for-the-write-lock", async (t) => {
  const { store, path } = openTestStore(t);
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() });
  const other = secondConnection(t, path);
  // The writer thread holds the lock for most of this burst: transactions back to back.
  let burstDone = false;
  const burst = Promise.all(Array.from({ length: 30_000 }, () => store.append({ row: ledgerRow(), audit: { requestHash: "e".repeat(64) } })));
  void burst.finally(() => (burstDone = true));
  while (countRows(other) === 1) await nextTurn(); // the thread began committing
  let created = 0;
  let overlapped = 0;
  while (!burstDone) {
    const before = countRows(other);
    const key = await store.createKey({ name: `key-${created}`, team: "search", hash: String(created).padStart(64, "0") });
    t.is(key.name, `key-${created}`);
    await store.markAlertSent(`team:search:${created}`, 0, 0.5);
    created++;
    if (countRows(other) > before) overlapped++; // a commit landed while this create waited for the lock
    await nextTurn();
  }
  await burst;
  t.true(overlapped > 0, "the creates waited for the thread's commits");
  t.is((await store.listKeys()).length, created);
  t.is(countRows(other), 30_001);
});

test("bad-items-keep-their-error-class-across-the-thread", async (t) => {
  const { store, path } = openTestStore(t);
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() });
  const other = secondConnection(t, path);
  const audit = { requestHash: "f".repeat(64) };
  const [first, refused, admin, unbindable, invalid, last] = await Promise.allSettled([
    store.append({ row: ledgerRow(), audit }),
    store.append({ row: ledgerRow({ team: null as unknown as string }), audit }), // the database refuses it (NOT NULL)
    store.appendAudit({ time: 1, kind: "config_reloaded", actor: "admin", detail: {} }),
    store.append({ row: ledgerRow({ alias: {} as unknown as string }), audit }), // the driver cannot bind it
    store.append({ row: ledgerRow({ latencyMs: -1 }), audit }), // the codec refuses it
    store.append({ row: ledgerRow(), audit }),
  ]);
  t.deepEqual([first.status, admin.status, last.status], ["fulfilled", "fulfilled", "fulfilled"]);
  t.true(refused.status === "rejected" && refused.reason instanceof StoreError && refused.reason.code === "write_failed");
  t.true(unbindable.status === "rejected" && unbindable.reason instanceof TypeError, "a TypeError stays a TypeError across the thread");
  t.true(invalid.status === "rejected" && invalid.reason instanceof TypeError && /latencyMs/.test(invalid.reason.message));
  t.true(admin.status === "fulfilled" && admin.value.kind === "config_reloaded" && admin.value.seq === 2);
  t.is(countRows(other), 3);
  t.is(other.prepare("SELECT SUM(calls) FROM rollup_day").pluck().get(), 3);
  const verdict = await store.verifyAudit();
  t.deepEqual([verdict.ok, verdict.count], [true, 3], "the items written one by one chain onto one another");
});

test("batch-that-cannot-be-posted-is-written-inline", async (t) => {
  const { store, path } = openTestStore(t);
  t.true(await store.writerThreadReady());
  // A function cannot be cloned to the thread; the inline writer stores what it always did.
  const odd = ledgerRow({ metadata: { tier: (() => "free") as unknown as string } });
  await Promise.all([store.append({ row: ledgerRow() }), store.append({ row: odd })]);
  const other = secondConnection(t, path);
  t.is(countRows(other), 2);
  t.is(other.prepare("SELECT metadata FROM ledger WHERE request_id = ?").pluck().get(odd.requestId), "{}");
  t.not(store.writerThreadId, undefined, "the thread keeps writing the next batches");
  await t.notThrowsAsync(store.append({ row: ledgerRow() }));
  t.is(countRows(other), 3);
});

test.serial("stores-of-one-process-share-one-writer-thread-and-outlive-its-death", async (t) => {
  const reported: string[] = [];
  const stores = [0, 1, 2].map(() => openTestStore(t, { onWriteError: (error) => reported.push(error.message) }));
  for (const { store } of stores) t.true(await store.writerThreadReady());
  const [first, second, third] = stores;
  t.is(new Set(stores.map(({ store }) => store.writerThreadId)).size, 1, "one thread for the process");

  await first.store.close(); // closes its connection there, not the thread
  await Promise.all([second.store.append({ row: ledgerRow() }), third.store.append({ row: ledgerRow() })]);
  t.is(countRows(secondConnection(t, second.path)), 1);
  t.not(second.store.writerThreadId, undefined);

  const dead = second.store.writerThreadId;
  await third.store.terminateWriterThread();
  t.deepEqual([second.store.writerThreadId, third.store.writerThreadId], [undefined, undefined]);
  t.is(reported.filter((message) => /writer thread exited.*main thread/.test(message)).length, 2, "each open store is told once");
  await Promise.all([second.store.append({ row: ledgerRow() }), third.store.append({ row: ledgerRow() })]);
  t.is(countRows(secondConnection(t, third.path)), 2, "written inline after the death");

  const later = openTestStore(t);
  t.true(await later.store.writerThreadReady(), "a store opened later starts a new thread");
  t.not(later.store.writerThreadId, dead);
  await later.store.append({ row: ledgerRow() });
  t.is(countRows(secondConnection(t, later.path)), 1);
});

/** Nice value of each of this process's threads, by thread id (Linux: /proc/self/task/TID/stat, field 19). */
function threadNiceValues(): Map<number, number> {
  const values = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd on
    values.set(Number(tid), Number(fields[16]));
  }
  return values;
}

test("writer-thread-runs-below-the-event-loops-priority", async (t) => {
  const { store } = openTestStore(t);
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() });
  const nice = threadNiceValues();
  t.is(nice.get(process.pid), 0, "the event loop's thread keeps the process's priority");
  // One writer thread serves the process (a killed one is gone from /proc); every other thread keeps priority 0.
  const niced = [...nice].filter(([, value]) => value === WRITER_NICE);
  t.is(niced.length, 1, `one thread at nice ${WRITER_NICE}: ${JSON.stringify([...nice])}`);
  t.is([...nice].filter(([, value]) => value !== 0 && value !== WRITER_NICE).length, 0);
});

test("small-batches-stay-on-the-event-loop-and-large-ones-go-to-the-thread", async (t) => {
  const { store, path } = openAnyStore(t); // the default threshold
  t.true(await store.writerThreadReady());
  await store.append({ row: ledgerRow() }); // one call at a time: the thread's round trip would cost more than the write
  t.is(store.commitStats.threadedItems, 0);
  await Promise.all(Array.from({ length: THREADED_BATCH_MIN }, () => store.append({ row: ledgerRow() })));
  t.is(store.commitStats.threadedItems, THREADED_BATCH_MIN, "one turn's batch of the threshold's size went to the thread");
  t.is(countRows(secondConnection(t, path)), 1 + THREADED_BATCH_MIN);
  t.true((await store.verifyAudit()).ok);
});
