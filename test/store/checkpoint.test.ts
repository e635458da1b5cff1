// WAL checkpoints (which fsync) run on a worker thread, not inside a commit on the event loop.
import { statSync } from "node:fs";
import test from "ava";
import { ledgerRow, openThreadedStore } from "./fixtures.js";

// ~2,000 WAL pages: past SQLite's automatic checkpoint threshold (1,000 pages).
const ROWS = 12_000;
const append = (store: Awaited<ReturnType<typeof openThreadedStore>>["store"]) =>
  Promise.all(Array.from({ length: ROWS }, () => store.append({ row: ledgerRow() })));

test("wal-is-not-checkpointed-inside-a-commit", async (t) => {
  const { store, path } = await openThreadedStore(t, { checkpointIntervalMs: 3_600_000 });
  await append(store);
  t.true(statSync(`${path}-wal`).size > 4_000_000, "the rows are in the WAL");
  t.true(statSync(path).size < 1_000_000, "no commit copied the WAL into the database file on the event loop");
});

test("wal-is-checkpointed-by-the-worker", async (t) => {
  const { store, path } = await openThreadedStore(t, { checkpointIntervalMs: 20 });
  await append(store);
  const deadline = Date.now() + 20_000;
  while (statSync(path).size < 4_000_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.true(statSync(path).size >= 4_000_000, "the worker copied the WAL into the database file");
});
