// Writes one group-commit batch in one IMMEDIATE transaction: ledger rows (a request id already
// stored is skipped, rollups and audit included), their rollups, and the audit records chained
// onto the current head. Statements are prepared once. No savepoint per row: when an item makes
// the batch throw, the batch rolls back and is written again item by item, each in its own
// transaction, so that one bad item still fails alone.
import type Database from "better-sqlite3";
import { GENESIS_HASH, chainAuditRecord, type UnchainedAuditRecord } from "../audit-chain.js";
import { AUDIT_COLUMNS, adminRecord, auditParameters, callRecord } from "../audit-codec.js";
import { LEDGER_COLUMNS, invalidRow, rowParameters } from "../ledger-codec.js";
import type { AuditRecord } from "../store.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import { writeFailed, type Settled } from "../group-commit.js";
import { RollupBatch, prepareRollupStatements, writeRollups, type RollupStatements } from "./rollups.js";

/** Thrown out of the batch transaction when writing its items failed (not its BEGIN or COMMIT). */
class ItemFailed extends Error {
  constructor(readonly thrown: unknown) {
    super("an item of the batch failed");
  }
}

export class BatchWriter {
  private readonly insertRow: Database.Statement<unknown[]>;
  private readonly insertAudit: Database.Statement<unknown[]>;
  private readonly auditHead: Database.Statement<[], { seq: number; hash: string }>;
  private readonly rollups: RollupStatements;
  private readonly transaction: Database.Transaction<(items: QueuedWrite[]) => WriteResult[]>;
  /** The audit chain's head while a batch is being written. */
  private seq = 0;
  private prevHash = GENESIS_HASH;

  /** `beforeTransaction` runs before each BEGIN (the writer thread yields to main-thread writes there). */
  constructor(
    db: Database.Database,
    private readonly beforeTransaction: () => void = () => {},
  ) {
    this.insertRow = db.prepare(
      `INSERT INTO ledger (${LEDGER_COLUMNS.join(", ")}) VALUES (${LEDGER_COLUMNS.map(() => "?").join(", ")})
ON CONFLICT (request_id) DO NOTHING`,
    );
    this.insertAudit = db.prepare(`INSERT INTO audit (${AUDIT_COLUMNS.join(", ")}) VALUES (${AUDIT_COLUMNS.map(() => "?").join(", ")})`);
    this.auditHead = db.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    this.rollups = prepareRollupStatements(db);
    this.transaction = db.transaction((items: QueuedWrite[]) => {
      try {
        return this.writeAll(items);
      } catch (thrown) {
        throw new ItemFailed(thrown);
      }
    });
  }

  /**
   * Per item: committed, or refused alone (TypeError for an invalid row, StoreError write_failed
   * for what the database refused). Throws when the transaction itself failed (locked, disk
   * full at commit, …): then no item was written.
   */
  write(items: QueuedWrite[]): Settled<WriteResult>[] {
    const results: Settled<WriteResult>[] = new Array(items.length);
    const valid: number[] = [];
    items.forEach((item, index) => {
      const invalid = item.kind === "call" ? invalidRow(item.entry.row) : undefined;
      if (invalid && item.kind === "call") results[index] = { error: new TypeError(`ledger row ${item.entry.row.requestId}: ${invalid}`) };
      else valid.push(index);
    });
    if (valid.length === 0) return results;
    const batch = valid.map((index) => items[index]);
    try {
      // IMMEDIATE takes the write lock first, so the audit head read inside cannot go stale.
      this.beforeTransaction();
      const values = this.transaction.immediate(batch);
      valid.forEach((index, i) => (results[index] = { value: values[i] }));
    } catch (thrown) {
      if (!(thrown instanceof ItemFailed)) throw thrown;
      if (batch.length === 1) results[valid[0]] = refusal(thrown.thrown);
      else valid.forEach((index) => (results[index] = this.writeAlone(items[index])));
    }
    return results;
  }

  private writeAlone(item: QueuedWrite): Settled<WriteResult> {
    try {
      this.beforeTransaction();
      return { value: this.transaction.immediate([item])[0] };
    } catch (thrown) {
      return refusal(thrown instanceof ItemFailed ? thrown.thrown : thrown);
    }
  }

  private writeAll(items: QueuedWrite[]): WriteResult[] {
    const rollups = new RollupBatch();
    // The head is read inside the transaction, so another writer of the same file cannot fork the chain.
    const head = this.auditHead.get();
    this.seq = head?.seq ?? 0;
    this.prevHash = head?.hash ?? GENESIS_HASH;
    const values = items.map((item) => this.writeItem(item, rollups));
    writeRollups(rollups, this.rollups);
    return values;
  }

  private writeItem(item: QueuedWrite, rollups: RollupBatch): WriteResult {
    if (item.kind === "admin") return this.chain(adminRecord(item.event, this.seq + 1));
    const { row, audit } = item.entry;
    if (this.insertRow.run(rowParameters(row)).changes === 0) return undefined; // already stored: idempotent
    const record = audit ? this.chain(callRecord(row, audit, this.seq + 1)) : undefined;
    rollups.add(row);
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

function refusal(thrown: unknown): { error: Error } {
  return { error: thrown instanceof TypeError ? thrown : writeFailed(thrown) };
}
