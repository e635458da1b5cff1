// Audit records read back in seq order, page by page.
import { setImmediate as nextTurn } from "node:timers/promises";
import type Database from "better-sqlite3";
import type { AuditKind, AuditRecord } from "../store.js";

const PAGE_RECORDS = 1000;

type RawRecord = {
  seq: number; time: number; kind: string; actor: string; request_id: string; alias: string; provider: string;
  model: string; model_version: string; region: string; uncached_input: number; cache_read: number;
  cache_write: number; output: number; reasoning: number; cost_text: string; outcome: string; trace_id: string;
  request_hash: string; prompt: string | null; detail: string; prev_hash: string; hash: string;
};

export async function* readAudit(db: Database.Database): AsyncIterable<AuditRecord> {
  const page = db.prepare<[number], RawRecord>(
    `SELECT *, CAST(cost_nano AS TEXT) AS cost_text FROM audit WHERE seq > ? ORDER BY seq LIMIT ${PAGE_RECORDS}`,
  );
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const records = page.all(after);
    for (const raw of records) yield auditRecord(raw);
    if (records.length < PAGE_RECORDS) return;
    after = records[records.length - 1].seq;
    await nextTurn();
  }
}

function auditRecord(raw: RawRecord): AuditRecord {
  const record: AuditRecord = {
    seq: raw.seq,
    time: raw.time,
    kind: raw.kind as AuditKind,
    actor: raw.actor,
    requestId: raw.request_id,
    alias: raw.alias,
    provider: raw.provider,
    model: raw.model,
    modelVersion: raw.model_version,
    region: raw.region,
    tokens: {
      uncachedInput: raw.uncached_input,
      cacheRead: raw.cache_read,
      cacheWrite: raw.cache_write,
      output: raw.output,
      reasoning: raw.reasoning,
    },
    costNanoUsd: BigInt(raw.cost_text),
    outcome: raw.outcome,
    traceId: raw.trace_id,
    requestHash: raw.request_hash,
    detail: parseDetail(raw.detail),
    prevHash: raw.prev_hash,
    hash: raw.hash,
  };
  if (raw.prompt !== null) record.prompt = raw.prompt;
  return record;
}

/** A detail column that no longer parses was tampered with: keep its text so the hash mismatches. */
function parseDetail(text: string): Record<string, string> {
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return { unparseable: text };
  }
}
