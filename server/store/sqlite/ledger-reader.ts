// Raw ledger rows read back in pages (export) and pruned in chunks (retention), so neither holds
// the event loop or a transaction for long.
import { setImmediate as nextTurn } from "node:timers/promises";
import type Database from "better-sqlite3";
import type { LedgerAttempt, LedgerFilter, LedgerMethod, LedgerRow } from "../store.js";

const PAGE_ROWS = 500;
const PRUNE_CHUNK_ROWS = 2000;

type RawRow = {
  id: number; time: number; request_id: string; key_id: string; key_name: string; team: string; protocol: string;
  method: string; alias: string; provider: string; model: string; model_version: string; region: string;
  attempts: string; uncached_input: number; cache_read: number; cache_write: number; output: number;
  reasoning: number; estimated: number; priced: number; cost_text: string; latency_ms: number;
  ttft_ms: number | null; status: string; trace_id: string; metadata: string;
};

const FILTERS = [
  ["team", "team"], ["keyId", "key_id"], ["alias", "alias"], ["provider", "provider"], ["model", "model"],
] as const;

export async function* readLedger(db: Database.Database, filter: LedgerFilter = {}): AsyncIterable<LedgerRow> {
  const where = ["id > ?"];
  const parameters: unknown[] = [];
  if (filter.from !== undefined) {
    where.push("time >= ?");
    parameters.push(filter.from);
  }
  if (filter.to !== undefined) {
    where.push("time < ?");
    parameters.push(filter.to);
  }
  for (const [field, column] of FILTERS) {
    const value = filter[field];
    if (value !== undefined) {
      where.push(`${column} = ?`);
      parameters.push(value);
    }
  }
  const page = db.prepare<unknown[], RawRow>(
    `SELECT *, CAST(cost_nano AS TEXT) AS cost_text FROM ledger WHERE ${where.join(" AND ")} ORDER BY id LIMIT ${PAGE_ROWS}`,
  );
  let after = 0;
  for (;;) {
    const rows = page.all(after, ...parameters);
    for (const row of rows) yield ledgerRow(row);
    if (rows.length < PAGE_ROWS) return;
    after = rows[rows.length - 1].id;
    await nextTurn();
  }
}

function ledgerRow(raw: RawRow): LedgerRow {
  const attempts = (JSON.parse(raw.attempts) as (Omit<LedgerAttempt, "costNanoUsd"> & { costNanoUsd?: string })[]).map(
    ({ costNanoUsd, ...attempt }): LedgerAttempt => (costNanoUsd === undefined ? attempt : { ...attempt, costNanoUsd: BigInt(costNanoUsd) }),
  );
  const row: LedgerRow = {
    time: raw.time,
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
      uncachedInput: raw.uncached_input,
      cacheRead: raw.cache_read,
      cacheWrite: raw.cache_write,
      output: raw.output,
      reasoning: raw.reasoning,
    },
    estimated: raw.estimated === 1,
    priced: raw.priced === 1,
    costNanoUsd: BigInt(raw.cost_text),
    latencyMs: raw.latency_ms,
    status: raw.status,
    traceId: raw.trace_id,
    metadata: JSON.parse(raw.metadata) as Record<string, string>,
  };
  if (raw.ttft_ms !== null) row.ttftMs = raw.ttft_ms;
  return row;
}

/** Deletes raw rows older than `before` in small transactions, yielding between them. */
export async function pruneLedger(db: Database.Database, before: number): Promise<number> {
  const chunk = db.prepare(`DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE time < ? LIMIT ${PRUNE_CHUNK_ROWS})`);
  let deleted = 0;
  while (db.open) {
    const { changes } = chunk.run(before);
    deleted += changes;
    if (changes < PRUNE_CHUNK_ROWS) return deleted;
    await nextTurn();
  }
  return deleted;
}
