// Writes one group-commit batch in one IMMEDIATE transaction: ledger rows (a request id already
// stored is skipped, rollups and audit included), their rollups, and the audit records chained
// onto the current head. Statements are prepared once.
import type Database from "better-sqlite3";
import { GENESIS_HASH, chainAuditRecord, type UnchainedAuditRecord } from "../audit-chain.js";
import type { AdminAuditEvent, AuditRecord, LedgerEntry, LedgerRow, UsageBuckets } from "../store.js";
import { writeFailed, type Settled } from "./group-commit.js";
import { RollupBatch, prepareRollupStatements, type RollupStatements } from "./rollups.js";

export type QueuedWrite = { kind: "call"; entry: LedgerEntry } | { kind: "admin"; event: AdminAuditEvent };
/** A call's committed audit record, or undefined when not audited or already stored. */
export type WriteResult = AuditRecord | undefined;

const LEDGER_COLUMNS = [
  "time", "request_id", "key_id", "key_name", "team", "protocol", "method", "alias", "provider", "model",
  "model_version", "region", "attempts", "uncached_input", "cache_read", "cache_write", "output", "reasoning",
  "estimated", "priced", "cost_nano", "latency_ms", "ttft_ms", "status", "trace_id", "metadata",
];
const AUDIT_COLUMNS = [
  "seq", "time", "kind", "actor", "request_id", "alias", "provider", "model", "model_version", "region",
  "uncached_input", "cache_read", "cache_write", "output", "reasoning", "cost_nano", "outcome", "trace_id",
  "request_hash", "prompt", "detail", "prev_hash", "hash",
];
const ZERO_TOKENS: UsageBuckets = { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 };

export class BatchWriter {
  private readonly insertRow: Database.Statement<unknown[]>;
  private readonly insertAudit: Database.Statement<unknown[]>;
  private readonly auditHead: Database.Statement<[], { seq: number; hash: string }>;
  private readonly rollups: RollupStatements;
  private readonly transaction: Database.Transaction<(items: QueuedWrite[]) => Settled<WriteResult>[]>;
  private readonly writeOne: Database.Transaction<(item: QueuedWrite, rollups: RollupBatch) => WriteResult>;
  /** The audit chain's head while a batch is being written. */
  private seq = 0;
  private prevHash = GENESIS_HASH;

  constructor(db: Database.Database) {
    this.insertRow = db.prepare(
      `INSERT INTO ledger (${LEDGER_COLUMNS.join(", ")}) VALUES (${LEDGER_COLUMNS.map(() => "?").join(", ")})
ON CONFLICT (request_id) DO NOTHING`,
    );
    this.insertAudit = db.prepare(`INSERT INTO audit (${AUDIT_COLUMNS.join(", ")}) VALUES (${AUDIT_COLUMNS.map(() => "?").join(", ")})`);
    this.auditHead = db.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    this.rollups = prepareRollupStatements(db);
    this.transaction = db.transaction((items: QueuedWrite[]) => this.writeAll(items));
    this.writeOne = db.transaction((item: QueuedWrite, rollups: RollupBatch) => this.writeItem(item, rollups));
  }

  write(items: QueuedWrite[]): Settled<WriteResult>[] {
    // IMMEDIATE takes the write lock first, so the audit head read inside cannot go stale.
    return this.transaction.immediate(items);
  }

  private writeAll(items: QueuedWrite[]): Settled<WriteResult>[] {
    const rollups = new RollupBatch();
    // The head is read inside the transaction, so another writer of the same file cannot fork the chain.
    const head = this.auditHead.get();
    this.seq = head?.seq ?? 0;
    this.prevHash = head?.hash ?? GENESIS_HASH;
    const results: Settled<WriteResult>[] = [];
    for (const item of items) {
      try {
        // A nested transaction is a savepoint: an item that fails rolls back alone.
        results.push({ value: this.writeOne(item, rollups) });
      } catch (thrown) {
        results.push({ error: thrown instanceof TypeError ? thrown : writeFailed(thrown) });
      }
    }
    rollups.write(this.rollups);
    return results;
  }

  private writeItem(item: QueuedWrite, rollups: RollupBatch): WriteResult {
    if (item.kind === "admin") return this.chain(adminRecord(item.event, this.seq + 1));
    const { row, audit } = item.entry;
    const invalid = invalidRow(row);
    if (invalid) throw new TypeError(`ledger row ${row.requestId}: ${invalid}`);
    if (this.insertRow.run(rowParameters(row)).changes === 0) return undefined; // already stored: idempotent
    const record = audit
      ? this.chain({
          ...callRecord(row),
          seq: this.seq + 1,
          requestHash: audit.requestHash,
          ...(audit.prompt === undefined ? {} : { prompt: audit.prompt }),
        })
      : undefined;
    rollups.add(row); // last: a failure above rolls the savepoint back without counting the row
    return record;
  }

  private chain(unchained: UnchainedAuditRecord): AuditRecord {
    const record = chainAuditRecord(this.prevHash, unchained);
    this.insertAudit.run(auditParameters(record));
    this.seq = record.seq;
    this.prevHash = record.hash;
    return record;
  }
}

function invalidRow(row: LedgerRow): string | undefined {
  if (typeof row.costNanoUsd !== "bigint" || row.costNanoUsd < 0n) return "costNanoUsd must be a non-negative bigint";
  if (!Number.isSafeInteger(row.time)) return "time must be integer epoch milliseconds";
  for (const [bucket, count] of Object.entries(row.usage)) {
    if (!Number.isSafeInteger(count) || count < 0) return `usage.${bucket} must be a non-negative integer`;
  }
  if (!Number.isFinite(row.latencyMs) || row.latencyMs < 0) return "latencyMs must be a non-negative number";
  if (row.ttftMs !== undefined && (!Number.isFinite(row.ttftMs) || row.ttftMs < 0)) return "ttftMs must be a non-negative number";
  return undefined;
}

function rowParameters(row: LedgerRow): unknown[] {
  const attempts = row.attempts.map((a) => ({ ...a, costNanoUsd: a.costNanoUsd?.toString() }));
  return [
    row.time, row.requestId, row.keyId, row.keyName, row.team, row.protocol, row.method, row.alias, row.provider,
    row.model, row.modelVersion, row.region, JSON.stringify(attempts), row.usage.uncachedInput, row.usage.cacheRead,
    row.usage.cacheWrite, row.usage.output, row.usage.reasoning, row.estimated ? 1 : 0, row.priced ? 1 : 0,
    row.costNanoUsd, row.latencyMs, row.ttftMs ?? null, row.status, row.traceId, JSON.stringify(row.metadata),
  ];
}

function callRecord(row: LedgerRow): Omit<UnchainedAuditRecord, "seq" | "requestHash"> {
  return {
    time: row.time, kind: "call", actor: row.keyName, requestId: row.requestId, alias: row.alias,
    provider: row.provider, model: row.model, modelVersion: row.modelVersion, region: row.region,
    tokens: { ...row.usage }, costNanoUsd: row.costNanoUsd, outcome: row.status, traceId: row.traceId, detail: {},
  };
}

function adminRecord(event: AdminAuditEvent, seq: number): UnchainedAuditRecord {
  return {
    seq, time: event.time, kind: event.kind, actor: event.actor, requestId: "", alias: "", provider: "", model: "",
    modelVersion: "", region: "", tokens: ZERO_TOKENS, costNanoUsd: 0n, outcome: "OK", traceId: event.traceId ?? "",
    requestHash: "", detail: { ...event.detail },
  };
}

function auditParameters(r: AuditRecord): unknown[] {
  return [
    r.seq, r.time, r.kind, r.actor, r.requestId, r.alias, r.provider, r.model, r.modelVersion, r.region,
    r.tokens.uncachedInput, r.tokens.cacheRead, r.tokens.cacheWrite, r.tokens.output, r.tokens.reasoning,
    r.costNanoUsd, r.outcome, r.traceId, r.requestHash, r.prompt ?? null, JSON.stringify(r.detail), r.prevHash, r.hash,
  ];
}
