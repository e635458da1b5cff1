// Ledger rows to and from database columns, shared by every store. Integer columns may come back
// as numbers (SQLite) or decimal strings (PostgreSQL BIGINT), so readers convert with Number();
// costs are always read as text and parsed as bigint, never through a float.
import type { LedgerAttempt, LedgerFilter, LedgerMethod, LedgerRow } from "./store.js";

export const LEDGER_COLUMNS = [
  "time", "request_id", "key_id", "key_name", "team", "protocol", "method", "alias", "provider", "model",
  "model_version", "region", "attempts", "uncached_input", "cache_read", "cache_write", "output", "reasoning",
  "estimated", "priced", "cost_nano", "latency_ms", "ttft_ms", "status", "trace_id", "metadata",
];

/** Equality filters of ledger exports and usage queries: field → column. */
export const DIMENSION_FILTERS = [
  ["team", "team"], ["keyId", "key_id"], ["alias", "alias"], ["provider", "provider"], ["model", "model"],
] as const;

/** Why a row cannot be stored, or undefined: checked before any SQL, so a bad row refuses alone. */
export function invalidRow(row: LedgerRow): string | undefined {
  if (typeof row.costNanoUsd !== "bigint" || row.costNanoUsd < 0n) return "costNanoUsd must be a non-negative bigint";
  if (!Number.isSafeInteger(row.time)) return "time must be integer epoch milliseconds";
  for (const [bucket, count] of Object.entries(row.usage)) {
    if (!Number.isSafeInteger(count) || count < 0) return `usage.${bucket} must be a non-negative integer`;
  }
  if (!Number.isFinite(row.latencyMs) || row.latencyMs < 0) return "latencyMs must be a non-negative number";
  if (row.ttftMs !== undefined && (!Number.isFinite(row.ttftMs) || row.ttftMs < 0)) return "ttftMs must be a non-negative number";
  return undefined;
}

/** Bound parameters in LEDGER_COLUMNS order. */
export function rowParameters(row: LedgerRow): unknown[] {
  const attempts = row.attempts.map((a) => ({ ...a, costNanoUsd: a.costNanoUsd?.toString() }));
  return [
    row.time, row.requestId, row.keyId, row.keyName, row.team, row.protocol, row.method, row.alias, row.provider,
    row.model, row.modelVersion, row.region, JSON.stringify(attempts), row.usage.uncachedInput, row.usage.cacheRead,
    row.usage.cacheWrite, row.usage.output, row.usage.reasoning, row.estimated ? 1 : 0, row.priced ? 1 : 0,
    row.costNanoUsd, row.latencyMs, row.ttftMs ?? null, row.status, row.traceId, JSON.stringify(row.metadata),
  ];
}

type Integer = number | string;

/** A ledger row as selected with `*, CAST(cost_nano AS TEXT) AS cost_text`. */
export type RawLedgerRow = {
  id: Integer; time: Integer; request_id: string; key_id: string; key_name: string; team: string; protocol: string;
  method: string; alias: string; provider: string; model: string; model_version: string; region: string;
  attempts: string; uncached_input: Integer; cache_read: Integer; cache_write: Integer; output: Integer;
  reasoning: Integer; estimated: Integer; priced: Integer; cost_text: string; latency_ms: number;
  ttft_ms: number | null; status: string; trace_id: string; metadata: string;
};

export function ledgerRowFrom(raw: RawLedgerRow): LedgerRow {
  const attempts = (JSON.parse(raw.attempts) as (Omit<LedgerAttempt, "costNanoUsd"> & { costNanoUsd?: string })[]).map(
    ({ costNanoUsd, ...attempt }): LedgerAttempt => (costNanoUsd === undefined ? attempt : { ...attempt, costNanoUsd: BigInt(costNanoUsd) }),
  );
  const row: LedgerRow = {
    time: Number(raw.time),
    requestId: raw.request_id,
    keyId: raw.key_id,
    keyName: raw.key_name,
    team: raw.team,
    protocol: raw.protocol,
    method: raw.method as LedgerMethod,
    alias: raw.alias,
    provider: raw.provider,
    model: raw.model,
    modelVersion: raw.model_version,
    region: raw.region,
    attempts,
    usage: {
      uncachedInput: Number(raw.uncached_input),
      cacheRead: Number(raw.cache_read),
      cacheWrite: Number(raw.cache_write),
      output: Number(raw.output),
      reasoning: Number(raw.reasoning),
    },
    estimated: Number(raw.estimated) === 1,
    priced: Number(raw.priced) === 1,
    costNanoUsd: BigInt(raw.cost_text),
    latencyMs: raw.latency_ms,
    status: raw.status,
    traceId: raw.trace_id,
    metadata: JSON.parse(raw.metadata) as Record<string, string>,
  };
  if (raw.ttft_ms !== null) row.ttftMs = raw.ttft_ms;
  return row;
}

type DimensionFilter = Partial<Record<(typeof DIMENSION_FILTERS)[number][0], string>>;

/**
 * The WHERE conditions (with `?` placeholders) and parameters of a filter: `column` in
 * [from, to), and each dimension that is set.
 */
export function filterSql(filter: DimensionFilter, range: { column: string; from?: number; to?: number }): {
  where: string[];
  parameters: unknown[];
} {
  const where: string[] = [];
  const parameters: unknown[] = [];
  if (range.from !== undefined) {
    where.push(`${range.column} >= ?`);
    parameters.push(range.from);
  }
  if (range.to !== undefined) {
    where.push(`${range.column} < ?`);
    parameters.push(range.to);
  }
  for (const [field, column] of DIMENSION_FILTERS) {
    const value = filter[field];
    if (value !== undefined) {
      where.push(`${column} = ?`);
      parameters.push(value);
    }
  }
  return { where, parameters };
}

export function ledgerFilterSql(filter: LedgerFilter): { where: string[]; parameters: unknown[] } {
  return filterSql(filter, { column: "time", from: filter.from, to: filter.to });
}
