// Usage and spend over the rollups (never the raw rows), for every store: the SQL (with `?`
// placeholders, standard enough for SQLite and PostgreSQL alike) and the folding of its result
// rows into reports. Column names come from fixed tables below; every value the caller gives is a
// bound parameter.
import { HISTOGRAM_BUCKETS, histogramQuantile } from "./histogram.js";
import { filterSql } from "./ledger-codec.js";
import { DAY_MS, HOUR_MS } from "./rollup-batch.js";
import type {
  SpendScopes, SpendSnapshot, UsageDimension, UsageGroup, UsageQuery, UsageReport, UsageTotals, WindowSpend,
} from "./store.js";

const DIMENSION_COLUMN: Record<UsageDimension, string> = {
  team: "team", key: "key_id", alias: "alias", provider: "provider", model: "model",
};
const HISTOGRAM_SUMS = [
  ...Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `SUM(lat_${i}) AS lat_${i}`),
  ...Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `SUM(ttft_${i}) AS ttft_${i}`),
].join(", ");

export type SummedRow = Record<string, number | string | null>;

export type UsageSql = { sql: string; parameters: unknown[]; fold: (summed: SummedRow[]) => UsageReport };

/** The one query a usage report needs, and how to fold its rows into the report. */
export function usageSql(query: UsageQuery): UsageSql {
  const groupBy = [...new Set(query.groupBy ?? [])];
  for (const dimension of groupBy) {
    if (!(dimension in DIMENSION_COLUMN)) throw new RangeError(`unknown usage dimension "${dimension}"`);
  }
  const table = rollupTable(query);
  // A bucket counts when it starts inside the range: the range is resolved to whole buckets.
  const from = query.from === undefined ? undefined : Math.floor(query.from / table.size) * table.size;
  const { where, parameters } = filterSql(query, { column: "bucket_start", from, to: query.to });
  const groupColumns = [...(query.bucket ? ["bucket_start"] : []), ...groupBy.map((d) => DIMENSION_COLUMN[d])];
  const sql = `SELECT ${groupColumns.map((c) => `${c}, `).join("")}${groupBy.includes("key") ? "MAX(key_name) AS key_name, " : ""}
  SUM(calls) AS calls, SUM(errors) AS errors, SUM(uncached_input) AS uncached_input, SUM(cache_read) AS cache_read,
  SUM(cache_write) AS cache_write, SUM(output) AS output, SUM(reasoning) AS reasoning,
  CAST(SUM(cost_nano) AS TEXT) AS cost_nano, ${HISTOGRAM_SUMS}
FROM ${table.name}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
${groupColumns.length ? `GROUP BY ${groupColumns.join(", ")} ORDER BY ${groupColumns.join(", ")}` : ""}`;
  return { sql, parameters, fold: (summed) => foldUsage(summed, query, groupBy) };
}

function foldUsage(summed: SummedRow[], query: UsageQuery, groupBy: UsageDimension[]): UsageReport {
  const rows: UsageGroup[] = [];
  const all = emptySums();
  for (const row of summed) {
    if (row.calls === null) continue; // the one row of an ungrouped query over nothing
    const sums = sumsOf(row);
    addSums(all, sums);
    const group: UsageGroup = totalsOf(sums);
    if (query.bucket) group.bucketStart = Number(row.bucket_start);
    if (groupBy.includes("team")) group.team = String(row.team);
    if (groupBy.includes("key")) {
      group.keyId = String(row.key_id);
      group.keyName = String(row.key_name);
    }
    if (groupBy.includes("alias")) group.alias = String(row.alias);
    if (groupBy.includes("provider")) group.provider = String(row.provider);
    if (groupBy.includes("model")) group.model = String(row.model);
    rows.push(group);
  }
  return { totals: totalsOf(all), rows };
}

/** Hour rollups when asked, or when the range is not whole days; day rollups otherwise. */
function rollupTable(query: UsageQuery): { name: string; size: number } {
  const dayAligned = (t: number | undefined) => t === undefined || t % DAY_MS === 0;
  const hourly = query.bucket === "hour" || (query.bucket === undefined && !(dayAligned(query.from) && dayAligned(query.to)));
  return hourly ? { name: "rollup_hour", size: HOUR_MS } : { name: "rollup_day", size: DAY_MS };
}

type Sums = {
  calls: number; errors: number;
  tokens: { uncachedInput: number; cacheRead: number; cacheWrite: number; output: number; reasoning: number };
  cost: bigint; latency: number[]; ttft: number[];
};

function emptySums(): Sums {
  return {
    calls: 0, errors: 0, tokens: { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 }, cost: 0n,
    latency: new Array<number>(HISTOGRAM_BUCKETS).fill(0), ttft: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
  };
}

function sumsOf(row: SummedRow): Sums {
  const n = (column: string) => Number(row[column] ?? 0);
  return {
    calls: n("calls"),
    errors: n("errors"),
    tokens: {
      uncachedInput: n("uncached_input"), cacheRead: n("cache_read"), cacheWrite: n("cache_write"),
      output: n("output"), reasoning: n("reasoning"),
    },
    cost: BigInt(row.cost_nano ?? 0),
    latency: Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => n(`lat_${i}`)),
    ttft: Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => n(`ttft_${i}`)),
  };
}

function addSums(into: Sums, sums: Sums): void {
  into.calls += sums.calls;
  into.errors += sums.errors;
  for (const bucket of Object.keys(into.tokens) as (keyof Sums["tokens"])[]) into.tokens[bucket] += sums.tokens[bucket];
  into.cost += sums.cost;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    into.latency[i] += sums.latency[i];
    into.ttft[i] += sums.ttft[i];
  }
}

function totalsOf(sums: Sums): UsageTotals {
  const totals: UsageTotals = { calls: sums.calls, errors: sums.errors, tokens: { ...sums.tokens }, costNanoUsd: sums.cost };
  const estimates = {
    latencyP50Ms: histogramQuantile(sums.latency, 0.5),
    latencyP95Ms: histogramQuantile(sums.latency, 0.95),
    ttftP50Ms: histogramQuantile(sums.ttft, 0.5),
    ttftP95Ms: histogramQuantile(sums.ttft, 0.95),
  };
  for (const [name, value] of Object.entries(estimates)) if (value !== undefined) totals[name as keyof typeof estimates] = value;
  return totals;
}

export function utcWindows(now: number): { dayStart: number; monthStart: number } {
  const date = new Date(now);
  return {
    dayStart: Math.floor(now / DAY_MS) * DAY_MS,
    monthStart: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
  };
}

/** One query over the day rollups since the month began; the day window is the latest bucket. */
export const SPEND_SQL = `SELECT team, key_id,
  CAST(SUM(CASE WHEN bucket_start >= ? THEN cost_nano ELSE 0 END) AS TEXT) AS day,
  CAST(SUM(cost_nano) AS TEXT) AS month
FROM rollup_day WHERE bucket_start >= ? AND bucket_start <= ? GROUP BY team, key_id`;

export type SpendRow = { team: string; key_id: string; day: string; month: string };

/** SPEND_SQL's parameters for `now`. */
export function spendParameters(now: number): [number, number, number] {
  const { dayStart, monthStart } = utcWindows(now);
  return [dayStart, monthStart, now];
}

export function spendSnapshot(rows: SpendRow[], now: number, scopes?: SpendScopes): SpendSnapshot {
  const { dayStart, monthStart } = utcWindows(now);
  const keyIds = scopes?.keyIds && new Set(scopes.keyIds);
  const teamNames = scopes?.teams && new Set(scopes.teams);
  const keys = new Map<string, WindowSpend>();
  const teams = new Map<string, WindowSpend>();
  for (const row of rows) {
    const spend = { day: BigInt(row.day), month: BigInt(row.month) };
    if (!keyIds || keyIds.has(row.key_id)) add(keys, row.key_id, spend);
    if (!teamNames || teamNames.has(row.team)) add(teams, row.team, spend);
  }
  return { dayStart, monthStart, keys, teams };
}

function add(into: Map<string, WindowSpend>, id: string, spend: WindowSpend): void {
  const current = into.get(id);
  if (current) {
    current.day += spend.day;
    current.month += spend.month;
  } else into.set(id, { ...spend });
}
