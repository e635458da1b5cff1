// The audit log's hash chain, independent of where records are stored: each record's hash is
// SHA-256(prev_hash ‖ canonical JSON of its fields in a fixed order), so editing, deleting or
// reordering any record breaks the chain from there on.
import { hash } from "node:crypto";
import type { AuditJsonLine, AuditRecord, AuditVerdict } from "./store.js";

export const GENESIS_HASH = "0".repeat(64);

export type UnchainedAuditRecord = Omit<AuditRecord, "prevHash" | "hash">;

/** The fields in their fixed order; 64-bit cost as a decimal string, absent prompt as null. */
export function canonicalAuditJson(record: UnchainedAuditRecord): string {
  const detail: Record<string, string> = {};
  for (const key of Object.keys(record.detail).sort()) detail[key] = record.detail[key];
  return JSON.stringify([
    record.seq,
    record.time,
    record.kind,
    record.actor,
    record.requestId,
    record.alias,
    record.provider,
    record.model,
    record.modelVersion,
    record.region,
    [record.tokens.uncachedInput, record.tokens.cacheRead, record.tokens.cacheWrite, record.tokens.output, record.tokens.reasoning],
    record.costNanoUsd.toString(),
    record.outcome,
    record.traceId,
    record.requestHash,
    record.prompt ?? null,
    detail,
  ]);
}

export function auditHash(prevHash: string, record: UnchainedAuditRecord): string {
  // The hex head is ASCII, so hashing the joined string hashes the same bytes as two updates would.
  return hash("sha256", prevHash + canonicalAuditJson(record), "hex");
}

export function chainAuditRecord(prevHash: string, record: UnchainedAuditRecord): AuditRecord {
  return { ...record, prevHash, hash: auditHash(prevHash, record) };
}

export function auditJsonLine(record: AuditRecord): AuditJsonLine {
  return { ...record, costNanoUsd: record.costNanoUsd.toString() };
}

/**
 * Walks records in seq order and names the first one that breaks the chain. With `expectHead` (a
 * head recorded earlier), a chain that no longer contains that hash was truncated or rewritten.
 */
export async function verifyAuditChain(records: AsyncIterable<AuditRecord>, expectHead?: string): Promise<AuditVerdict> {
  let count = 0;
  let head = GENESIS_HASH;
  let expectedSeq = 1;
  let sawExpectedHead = expectHead === undefined || expectHead === GENESIS_HASH;
  for await (const record of records) {
    const broken = brokenReason(record, expectedSeq, head);
    if (broken) return { ok: false, count, head, firstBroken: { seq: record.seq, reason: broken } };
    count++;
    head = record.hash;
    expectedSeq = record.seq + 1;
    if (record.hash === expectHead) sawExpectedHead = true;
  }
  if (!sawExpectedHead) {
    return {
      ok: false,
      count,
      head,
      firstBroken: { seq: expectedSeq, reason: `expected head ${expectHead} is not in the chain: records were removed from the end or rewritten` },
    };
  }
  return { ok: true, count, head };
}

function brokenReason(record: AuditRecord, expectedSeq: number, prevHash: string): string | undefined {
  if (record.seq !== expectedSeq) {
    return record.seq > expectedSeq
      ? `record ${expectedSeq}${record.seq - expectedSeq > 1 ? `–${record.seq - 1}` : ""} missing before it`
      : `out of order after record ${expectedSeq - 1}`;
  }
  if (record.prevHash !== prevHash) return "prev_hash does not match the previous record's hash (deleted, reordered or rewritten)";
  if (auditHash(prevHash, record) !== record.hash) return "hash does not match the record's contents (edited)";
  return undefined;
}
