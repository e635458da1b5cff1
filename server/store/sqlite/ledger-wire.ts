// A call's ledger entry as one flat array of primitives, the form it crosses to the writer thread in.
// Structured clone writes every property name of every object it copies; a row is ~30 named fields
// in four objects, so the flat form clones in about a third of the time on both threads
// (bench/RESULTS.md, "Ledger rows cross to the writer thread flat"). Values are carried as they
// are — a value no valid row holds still reaches the writer, which refuses that row alone.
import type { CallAudit, LedgerAttempt, LedgerEntry, LedgerRow, UsageBuckets } from "../store.js";

export type FlatEntry = unknown[];

const NO_AUDIT = 0;
const AUDITED = 1;
/** The row's scalar fields, first in the flat form (in flattenEntry's order); the rest is read in sequence. */
const ROW_FIELDS = 19;

export function flattenEntry(entry: LedgerEntry): FlatEntry {
  const row = entry.row;
  const flat: unknown[] = [
    row.time, row.requestId, row.keyId, row.keyName, row.team, row.protocol, row.method, row.alias,
    row.provider, row.model, row.modelVersion, row.region, row.estimated, row.priced, row.costNanoUsd,
    row.latencyMs, row.ttftMs, row.status, row.traceId,
  ];
  pushUsage(flat, row.usage);
  flat.push(row.attempts.length);
  for (const attempt of row.attempts) {
    flat.push(attempt.provider, attempt.model, attempt.outcome, attempt.durationMs, attempt.costNanoUsd);
    if (attempt.usage) {
      flat.push(true);
      pushUsage(flat, attempt.usage);
    } else flat.push(false);
  }
  const keys = Object.keys(row.metadata);
  flat.push(keys.length);
  for (const key of keys) flat.push(key, row.metadata[key]);
  const audit = entry.audit;
  if (audit) flat.push(AUDITED, audit.requestHash, ownBytes(audit.requestBytes), audit.prompt);
  else flat.push(NO_AUDIT);
  return flat;
}

export function entryFromFlat(flat: FlatEntry): LedgerEntry {
  let at = ROW_FIELDS;
  const next = () => flat[at++];
  const usage = usageAt(flat, at);
  at += 5;
  const attempts: LedgerAttempt[] = new Array(next() as number);
  for (let i = 0; i < attempts.length; i++) {
    const attempt: LedgerAttempt = {
      provider: next() as string,
      model: next() as string,
      outcome: next() as string,
      durationMs: next() as number,
    };
    const cost = next() as bigint | undefined;
    if (cost !== undefined) attempt.costNanoUsd = cost;
    if (next() === true) {
      attempt.usage = usageAt(flat, at);
      at += 5;
    }
    attempts[i] = attempt;
  }
  const metadata: Record<string, string> = {};
  for (let pairs = next() as number; pairs > 0; pairs--) {
    const key = next() as string;
    metadata[key] = next() as string;
  }
  const row: LedgerRow = {
    time: flat[0] as number,
    requestId: flat[1] as string,
    keyId: flat[2] as string,
    keyName: flat[3] as string,
    team: flat[4] as string,
    protocol: flat[5] as string,
    method: flat[6] as LedgerRow["method"],
    alias: flat[7] as string,
    provider: flat[8] as string,
    model: flat[9] as string,
    modelVersion: flat[10] as string,
    region: flat[11] as string,
    attempts,
    usage,
    estimated: flat[12] as boolean,
    priced: flat[13] as boolean,
    costNanoUsd: flat[14] as bigint,
    latencyMs: flat[15] as number,
    status: flat[17] as string,
    traceId: flat[18] as string,
    metadata,
  };
  if (flat[16] !== undefined) row.ttftMs = flat[16] as number;
  if (next() === NO_AUDIT) return { row };
  const audit: CallAudit = {};
  const requestHash = next() as string | undefined;
  const requestBytes = next() as Uint8Array | undefined;
  const prompt = next() as string | undefined;
  if (requestHash !== undefined) audit.requestHash = requestHash;
  if (requestBytes !== undefined) audit.requestBytes = requestBytes;
  if (prompt !== undefined) audit.prompt = prompt;
  return { row, audit };
}

function pushUsage(flat: unknown[], usage: UsageBuckets): void {
  flat.push(usage.uncachedInput, usage.cacheRead, usage.cacheWrite, usage.output, usage.reasoning);
}

function usageAt(flat: FlatEntry, at: number): UsageBuckets {
  return {
    uncachedInput: flat[at] as number,
    cacheRead: flat[at + 1] as number,
    cacheWrite: flat[at + 2] as number,
    output: flat[at + 3] as number,
    reasoning: flat[at + 4] as number,
  };
}

/** Bytes that view a larger buffer (a pooled Buffer) are copied, so the clone carries only them. */
function ownBytes(bytes: Uint8Array | undefined): Uint8Array | undefined {
  return bytes && bytes.byteLength !== bytes.buffer.byteLength ? new Uint8Array(bytes) : bytes;
}
