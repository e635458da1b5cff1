// Audit records to and from database columns, shared by every store (integers may come back as
// decimal strings; the cost is read as text).
import { hash } from "node:crypto";
import type { UnchainedAuditRecord } from "./audit-chain.js";
import type { AdminAuditEvent, AuditKind, AuditRecord, CallAudit, LedgerRow, UsageBuckets } from "./store.js";

export const AUDIT_COLUMNS = [
  "seq", "time", "kind", "actor", "request_id", "alias", "provider", "model", "model_version", "region",
  "uncached_input", "cache_read", "cache_write", "output", "reasoning", "cost_nano", "outcome", "trace_id",
  "request_hash", "prompt", "detail", "prev_hash", "hash",
];
const ZERO_TOKENS: UsageBuckets = { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 };

/** A call's record, taken from its ledger row and what the caller added. */
export function callRecord(row: LedgerRow, audit: CallAudit, seq: number): UnchainedAuditRecord {
  return {
    seq, time: row.time, kind: "call", actor: row.keyName, requestId: row.requestId, alias: row.alias,
    provider: row.provider, model: row.model, modelVersion: row.modelVersion, region: row.region,
    tokens: { ...row.usage }, costNanoUsd: row.costNanoUsd, outcome: row.status, traceId: row.traceId,
    requestHash: audit.requestHash ?? requestHash(audit.requestBytes), ...(audit.prompt === undefined ? {} : { prompt: audit.prompt }), detail: {},
  };
}

/** SHA-256 hex of the request's encoding, hashed by the writer rather than on the request path. */
export function requestHash(bytes: Uint8Array | undefined): string {
  return hash("sha256", bytes ?? EMPTY, "hex");
}

const EMPTY = new Uint8Array(0);

export function adminRecord(event: AdminAuditEvent, seq: number): UnchainedAuditRecord {
  return {
    seq, time: event.time, kind: event.kind, actor: event.actor, requestId: "", alias: "", provider: "", model: "",
    modelVersion: "", region: "", tokens: ZERO_TOKENS, costNanoUsd: 0n, outcome: "OK", traceId: event.traceId ?? "",
    requestHash: "", detail: { ...event.detail },
  };
}

/** Bound parameters in AUDIT_COLUMNS order. */
export function auditParameters(r: AuditRecord): unknown[] {
  return [
    r.seq, r.time, r.kind, r.actor, r.requestId, r.alias, r.provider, r.model, r.modelVersion, r.region,
    r.tokens.uncachedInput, r.tokens.cacheRead, r.tokens.cacheWrite, r.tokens.output, r.tokens.reasoning,
    r.costNanoUsd, r.outcome, r.traceId, r.requestHash, r.prompt ?? null, JSON.stringify(r.detail), r.prevHash, r.hash,
  ];
}

type Integer = number | string;

/** An audit record as selected with `*, CAST(cost_nano AS TEXT) AS cost_text`. */
export type RawAuditRecord = {
  seq: Integer; time: Integer; kind: string; actor: string; request_id: string; alias: string; provider: string;
  model: string; model_version: string; region: string; uncached_input: Integer; cache_read: Integer;
  cache_write: Integer; output: Integer; reasoning: Integer; cost_text: string; outcome: string; trace_id: string;
  request_hash: string; prompt: string | null; detail: string; prev_hash: string; hash: string;
};

export function auditRecordFrom(raw: RawAuditRecord): AuditRecord {
  const record: AuditRecord = {
    seq: Number(raw.seq),
    time: Number(raw.time),
    kind: raw.kind as AuditKind,
    actor: raw.actor,
    requestId: raw.request_id,
    alias: raw.alias,
    provider: raw.provider,
    model: raw.model,
    modelVersion: raw.model_version,
    region: raw.region,
    tokens: {
      uncachedInput: Number(raw.uncached_input),
      cacheRead: Number(raw.cache_read),
      cacheWrite: Number(raw.cache_write),
      output: Number(raw.output),
      reasoning: Number(raw.reasoning),
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
