// Writes one group-commit batch in one IMMEDIATE transaction: ledger rows (a request id already
// stored is skipped, rollups and audit included), their rollups, and the audit records chained
// onto the current head. Statements are prepared once.
import type Database from "better-sqlite3";
import { GENESIS_HASH, chainAuditRecord, type UnchainedAuditRecord } from "../audit-chain.js";
import { AUDIT_COLUMNS, adminRecord, auditParameters, callRecord } from "../audit-codec.js";
import { LEDGER_COLUMNS, invalidRow, rowParameters } from "../ledger-codec.js";
import type { AuditRecord } from "../store.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import { writeFailed, type Settled } from "../group-commit.js";
import { RollupBatch, prepareRollupStatements, writeRollups, type RollupStatements } from "./rollups.js";

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
    writeRollups(rollups, this.rollups);
    return results;
  }

  private writeItem(item: QueuedWrite, rollups: RollupBatch): WriteResult {
    if (item.kind === "admin") return this.chain(adminRecord(item.event, this.seq + 1));
    const { row, audit } = item.entry;
    const invalid = invalidRow(row);
    if (invalid) throw new TypeError(`ledger row ${row.requestId}: ${invalid}`);
    if (this.insertRow.run(rowParameters(row)).changes === 0) return undefined; // already stored: idempotent
    const record = audit ? this.chain(callRecord(row, audit, this.seq + 1)) : undefined;
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
