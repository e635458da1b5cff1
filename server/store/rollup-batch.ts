// Hour and day rollups accumulated in memory for one group-commit batch, so each
// (bucket, team, key, alias, provider, model) is upserted once per batch whatever the database.
import { HISTOGRAM_BUCKETS, histogramBucket } from "./histogram.js";
import type { LedgerRow } from "./store.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const ROLLUP_DIMENSIONS = ["bucket_start", "team", "key_id", "alias", "provider", "model"] as const;
const LAT = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `lat_${i}`);
const TTFT = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `ttft_${i}`);
const SUMMED = [
  "calls", "errors", "uncached_input", "cache_read", "cache_write", "output", "reasoning",
  "cost_nano", "latency_sum", "ttft_count", "ttft_sum", ...LAT, ...TTFT,
];
export const ROLLUP_COLUMNS = [...ROLLUP_DIMENSIONS, "key_name", ...SUMMED];

export type RollupTable = "rollup_hour" | "rollup_day";

/** The upsert of `table` with the given VALUES list: counts add up, the key's latest name wins. */
export function rollupUpsertSql(table: RollupTable, values: string): string {
  const updates = SUMMED.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(", ");
  return `INSERT INTO ${table} (${ROLLUP_COLUMNS.join(", ")}) VALUES ${values}
ON CONFLICT (${ROLLUP_DIMENSIONS.join(", ")}) DO UPDATE SET key_name = excluded.key_name, ${updates}`;
}

type Rollup = {
  id: string; bucketStart: number; team: string; keyId: string; alias: string; provider: string; model: string; keyName: string;
  calls: number; errors: number;
  uncachedInput: number; cacheRead: number; cacheWrite: number; output: number; reasoning: number;
  cost: bigint; latencySum: number; ttftCount: number; ttftSum: number;
  latency: number[]; ttft: number[];
};

export class RollupBatch {
  private readonly hour = new Map<string, Rollup>();
  private readonly day = new Map<string, Rollup>();

  add(row: LedgerRow): void {
    accumulate(this.hour, row, Math.floor(row.time / HOUR_MS) * HOUR_MS);
    accumulate(this.day, row, Math.floor(row.time / DAY_MS) * DAY_MS);
  }

  /**
   * Each table's rows as bound parameters in ROLLUP_COLUMNS order, sorted by their key: writers that
   * share a database then lock rollup rows in one order and cannot deadlock each other.
   */
  parameters(): { table: RollupTable; rows: unknown[][] }[] {
    return [
      { table: "rollup_hour", rows: sorted(this.hour) },
      { table: "rollup_day", rows: sorted(this.day) },
    ];
  }
}

function accumulate(rollups: Map<string, Rollup>, row: LedgerRow, bucketStart: number): void {
  const id = `${bucketStart}\0${row.team}\0${row.keyId}\0${row.alias}\0${row.provider}\0${row.model}`;
  let rollup = rollups.get(id);
  if (!rollup) {
    rollup = {
      id, bucketStart, team: row.team, keyId: row.keyId, alias: row.alias, provider: row.provider, model: row.model,
      keyName: row.keyName, calls: 0, errors: 0, uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0,
      reasoning: 0, cost: 0n, latencySum: 0, ttftCount: 0, ttftSum: 0,
      latency: new Array<number>(HISTOGRAM_BUCKETS).fill(0), ttft: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
    };
    rollups.set(id, rollup);
  }
  rollup.keyName = row.keyName;
  rollup.calls++;
  if (row.status !== "OK") rollup.errors++;
  rollup.uncachedInput += row.usage.uncachedInput;
  rollup.cacheRead += row.usage.cacheRead;
  rollup.cacheWrite += row.usage.cacheWrite;
  rollup.output += row.usage.output;
  rollup.reasoning += row.usage.reasoning;
  rollup.cost += row.costNanoUsd;
  rollup.latencySum += row.latencyMs;
  rollup.latency[histogramBucket(row.latencyMs)]++;
  if (row.ttftMs !== undefined) {
    rollup.ttftCount++;
    rollup.ttftSum += row.ttftMs;
    rollup.ttft[histogramBucket(row.ttftMs)]++;
  }
}

function sorted(rollups: Map<string, Rollup>): unknown[][] {
  return [...rollups.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(parameters);
}

function parameters(r: Rollup): unknown[] {
  return [
    r.bucketStart, r.team, r.keyId, r.alias, r.provider, r.model, r.keyName,
    r.calls, r.errors, r.uncachedInput, r.cacheRead, r.cacheWrite, r.output, r.reasoning,
    r.cost, r.latencySum, r.ttftCount, r.ttftSum, ...r.latency, ...r.ttft,
  ];
}
