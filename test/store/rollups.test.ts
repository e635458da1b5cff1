// The rollups contract (contract/rollups.ts) on SQLite, the histogram, and SQLite's indexes.
import test from "ava";
import { HISTOGRAM_BOUNDS_MS, histogramBucket, histogramQuantile } from "../../server/store/histogram.js";
import { rollupsContract } from "./contract/rollups.js";
import { openTestStore, secondConnection } from "./fixtures.js";
import { sqliteHarness } from "./harness.js";

rollupsContract(sqliteHarness);

test("histogram quantiles interpolate inside a bucket; none without data", (t) => {
  const counts = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  t.is(histogramQuantile(counts, 0.5), undefined);
  counts[histogramBucket(7)] = 10; // ten calls in [5, 10)
  t.is(histogramQuantile(counts, 0.5), 7.5);
  t.is(histogramQuantile(counts, 1), 10);
  counts[HISTOGRAM_BOUNDS_MS.length] = 90; // beyond the last bound
  t.is(histogramQuantile(counts, 0.95), 60000);
});

test("raw rows are indexed by (key, time) and (team, time)", async (t) => {
  const { path } = openTestStore(t);
  const db = secondConnection(t, path);
  const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join("; ");
  t.regex(plan("SELECT * FROM ledger WHERE key_id = 'k' AND time > 5"), /USING INDEX ledger_key_time/);
  t.regex(plan("SELECT * FROM ledger WHERE team = 't' AND time > 5"), /USING INDEX ledger_team_time/);
});
