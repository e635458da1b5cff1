// Rollups against the raw rows they summarise, for every store: a seeded set of varied rows, every
// grouping and filter compared with sums computed here from the rows themselves.
import test, { type ExecutionContext } from "ava";
import { HISTOGRAM_BOUNDS_MS, histogramBucket } from "../../../server/store/histogram.js";
import type { LedgerRow, UsageDimension, UsageGroup } from "../../../server/store/store.js";
import { seededRows } from "../fixtures.js";
import type { StoreHarness } from "../harness.js";

const START = Date.UTC(2026, 10, 29, 0, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Expected = { calls: number; errors: number; tokens: LedgerRow["usage"]; cost: bigint };

function expectedGroups(rows: LedgerRow[], key: (row: LedgerRow) => string): Map<string, Expected> {
  const groups = new Map<string, Expected>();
  for (const row of rows) {
    const id = key(row);
    const group = groups.get(id) ?? {
      calls: 0, errors: 0, cost: 0n, tokens: { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 },
    };
    group.calls++;
    if (row.status !== "OK") group.errors++;
    group.cost += row.costNanoUsd;
    for (const bucket of Object.keys(group.tokens) as (keyof Expected["tokens"])[]) group.tokens[bucket] += row.usage[bucket];
    groups.set(id, group);
  }
  return groups;
}

const dimensionOf: Record<UsageDimension, (row: LedgerRow) => string> = {
  team: (row) => row.team, key: (row) => row.keyId, alias: (row) => row.alias, provider: (row) => row.provider, model: (row) => row.model,
};
const groupField: Record<UsageDimension, keyof UsageGroup> = {
  team: "team", key: "keyId", alias: "alias", provider: "provider", model: "model",
};

function actual(group: UsageGroup): Expected {
  return { calls: group.calls, errors: group.errors, tokens: group.tokens, cost: group.costNanoUsd };
}

export function rollupsContract(h: StoreHarness): void {
  async function seededStore(t: ExecutionContext) {
    const { store } = await h.open(t);
    const rows = seededRows(20261201, 3000, START, 3);
    // Several turns, so rollup rows are upserted across transactions, not only written once.
    for (let i = 0; i < rows.length; i += 700) await Promise.all(rows.slice(i, i + 700).map((row) => store.append({ row })));
    return { store, rows };
  }

  test(`${h.name}: rollups-equal-sums-over-raw-rows for every grouping, hourly and daily`, async (t) => {
    const { store, rows } = await seededStore(t);
    const groupings: UsageDimension[][] = [[], ["team"], ["key"], ["alias", "provider"], ["team", "key", "alias", "provider", "model"]];
    for (const groupBy of groupings) {
      for (const bucket of ["hour", "day"] as const) {
        const size = bucket === "hour" ? HOUR : DAY;
        const report = await store.usage({ groupBy, bucket });
        const groupOf = (row: LedgerRow) => [Math.floor(row.time / size) * size, ...groupBy.map((d) => dimensionOf[d](row))].join("|");
        const expected = expectedGroups(rows, groupOf);
        t.is(report.rows.length, expected.size, `${bucket} × [${groupBy}]: one group per distinct value`);
        for (const group of report.rows) {
          const id = [group.bucketStart, ...groupBy.map((d) => group[groupField[d]])].join("|");
          t.deepEqual(actual(group), expected.get(id), `${bucket} × [${groupBy}] group ${id}`);
        }
        t.deepEqual(actual({ ...report.totals }), expectedGroups(rows, () => "all").get("all"), "totals equal the whole set");
      }
    }
  });

  test(`${h.name}: usage filters by time range and dimensions`, async (t) => {
    const { store, rows } = await seededStore(t);
    const from = START + 5 * HOUR + 1234; // resolved to its hour
    const to = START + 30 * HOUR;
    const report = await store.usage({ from, to, team: "search", provider: "openai-main", groupBy: ["model"] });
    const inRange = rows.filter(
      (row) => row.time >= START + 5 * HOUR && row.time < to && row.team === "search" && row.provider === "openai-main",
    );
    const expected = expectedGroups(inRange, (row) => row.model);
    t.deepEqual(Object.fromEntries(report.rows.map((group) => [group.model, actual(group)])), Object.fromEntries(expected));

    const days = await store.usage({ from: START + DAY, to: START + 2 * DAY, keyId: "key_s1" });
    const secondDay = rows.filter((r) => r.time >= START + DAY && r.time < START + 2 * DAY && r.keyId === "key_s1");
    const expectedDay = expectedGroups(secondDay, () => "x");
    t.deepEqual(actual(days.totals), expectedDay.get("x"), "a whole-day range (read from the day rollups)");
    t.is(days.rows.length, 1);

    const nothing = await store.usage({ team: "nobody", groupBy: ["model"] });
    const noTokens = { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 };
    t.deepEqual(nothing, { totals: { calls: 0, errors: 0, tokens: noTokens, costNanoUsd: 0n }, rows: [] });
    t.is((await store.usage({ team: "nobody" })).rows.length, 0, "an ungrouped query over nothing has no rows");
  });

  test(`${h.name}: usage-percentiles-lie-in-the-bucket-of-the-true-percentile`, async (t) => {
    const { store, rows } = await seededStore(t);
    const report = await store.usage({ groupBy: ["team"] });
    for (const group of report.rows) {
      const mine = rows.filter((row) => row.team === group.team);
      const check = (values: number[], q: number, estimate: number | undefined, what: string) => {
        values.sort((a, b) => a - b);
        const truth = values[Math.ceil(q * values.length) - 1];
        const bucket = histogramBucket(truth);
        const lower = bucket === 0 ? 0 : HISTOGRAM_BOUNDS_MS[bucket - 1];
        const upper = HISTOGRAM_BOUNDS_MS[bucket] ?? HISTOGRAM_BOUNDS_MS[HISTOGRAM_BOUNDS_MS.length - 1];
        const inBucket = estimate !== undefined && estimate >= lower && estimate <= upper;
        t.true(inBucket, `${what} of ${group.team}: ${estimate} within [${lower}, ${upper}] (true ${truth})`);
      };
      check(mine.map((r) => r.latencyMs), 0.5, group.latencyP50Ms, "latency p50");
      check(mine.map((r) => r.latencyMs), 0.95, group.latencyP95Ms, "latency p95");
      const ttfts = mine.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs]));
      check(ttfts, 0.5, group.ttftP50Ms, "ttft p50");
      check(ttfts, 0.95, group.ttftP95Ms, "ttft p95");
    }
  });
}
