// The embedded store: one SQLite file (WAL) holding the ledger, its rollups, the keys and the
// audit log, written through one group-commit queue. Batches of THREADED_BATCH_MIN rows or more are
// written on the process's writer thread, through the store's own connection there, off the event
// loop. This thread's connection serves the reads and the rare other writes, writes the smaller
// batches, and writes every batch while the writer thread cannot run.
import type Database from "better-sqlite3";
import { auditJsonLine, verifyAuditChain } from "../audit-chain.js";
import type {
  AdminAuditEvent, AuditJsonLine, AuditRecord, AuditVerdict, KeyInfo, LedgerEntry, LedgerFilter, LedgerRow, NewKey,
  SpendScopes, SpendSnapshot, Store, StoredKey, UsageQuery, UsageReport,
} from "../store.js";
import { StoreError } from "../store.js";
import { readAudit } from "./audit-reader.js";
import { WalCheckpointer } from "./checkpointer.js";
import { BatchWriter } from "./batch-writer.js";
import { WriteQueue, reportWriteError, retentionTimer, type QueuedWrite, type WriteResult } from "../writes.js";
import type { Settled } from "../group-commit.js";
import { KeyTable } from "./keys.js";
import { pruneLedger, readLedger } from "./ledger-reader.js";
import { DEFAULT_SQLITE_PATH, openDatabase } from "./open.js";
import { DAY_MS } from "./rollups.js";
import { prepareSpendQuery, queryUsage } from "./usage.js";
import { WriteGate } from "./write-gate.js";
import { WriterThread } from "./writer-thread.js";

export type SqliteStoreOptions = {
  /** Database file; its directory is created. Default data/switchboard.db. */
  path?: string;
  /** Raw ledger rows older than this many days are deleted (rollups are kept). Unset: keep all. */
  retentionDays?: number;
  /** How often retention runs, off the request path. Default hourly. */
  retentionIntervalMs?: number;
  /** How often a worker thread checkpoints the WAL into the database file. Default 1 s. */
  checkpointIntervalMs?: number;
  /** Epoch ms; injectable for tests of windows and retention. */
  now?: () => number;
  /**
   * A write that failed, with how many queued items it carried (0 for background work: retention,
   * checkpoints). The items' promises reject too. Default: a process warning.
   */
  onWriteError?: (error: Error, items: number) => void;
  /**
   * Smallest group-commit batch sent to the writer thread; smaller ones are written on this thread.
   * Default THREADED_BATCH_MIN.
   */
  threadedBatchMin?: number;
};

/**
 * A batch goes to the writer thread only when it is this large. Each trip there and back wakes two
 * threads; one call at a time, that cost more than the write itself (bench:quick -- --serial: p50
 * 2.3–3.7 ms through the thread, 1.7–2.2 ms inline). Under load a turn's batch carries 10–20 rows,
 * and then the thread frees the event loop (RESULTS.md, the writer thread).
 */
export const THREADED_BATCH_MIN = 4;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly queue: WriteQueue;
  private readonly keys: KeyTable;
  private readonly spend: ReturnType<typeof prepareSpendQuery>;
  private readonly alerts: { sent: Database.Statement; mark: Database.Statement };
  private readonly now: () => number;
  private readonly retentionDays: number | undefined;
  private readonly retentionTimer: NodeJS.Timeout | undefined;
  private readonly checkpointer: WalCheckpointer;
  private readonly thread: WriterThread;
  /** Main-thread writes go first between the writer thread's transactions. */
  private readonly gate = new WriteGate();
  private inline: BatchWriter | undefined;
  private readonly threadedBatchMin: number;
  /** Items the writer thread committed, of all the group commits' (commitStats). */
  private threadedItems = 0;
  private closed = false;

  constructor(options: SqliteStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.threadedBatchMin = options.threadedBatchMin ?? THREADED_BATCH_MIN;
    const path = options.path ?? DEFAULT_SQLITE_PATH;
    this.db = openDatabase(path);
    const onWriteError = options.onWriteError ?? reportWriteError;
    this.db.pragma("wal_autocheckpoint = 0");
    this.checkpointer = new WalCheckpointer(path, options.checkpointIntervalMs ?? 1000, (error) => {
      // Without the worker, SQLite's own checkpoints (in whichever connection commits) keep the WAL bounded.
      if (this.db.open) this.db.pragma("wal_autocheckpoint = 1000");
      this.thread.autocheckpoint(1000);
      onWriteError(error, 0);
    });
    this.thread = new WriterThread(path, this.gate, (error) => {
      // Rows are not lost silently: what was in flight rejected; later batches are written here.
      onWriteError(new StoreError("write_failed", `${error.message}; writing on the main thread from now on`, { cause: error }), 0);
    });
    this.queue = new WriteQueue((items) => this.write(items), onWriteError);
    this.keys = new KeyTable(this.db, this.now);
    this.spend = prepareSpendQuery(this.db);
    this.alerts = {
      sent: this.db.prepare("SELECT 1 FROM budget_alerts WHERE budget_id = ? AND window_start = ? AND fraction = ?"),
      mark: this.db.prepare("INSERT OR IGNORE INTO budget_alerts (budget_id, window_start, fraction, sent_at) VALUES (?, ?, ?, ?)"),
    };
    this.retentionDays = options.retentionDays;
    this.retentionTimer = retentionTimer(this.retentionDays, options.retentionIntervalMs, () => this.applyRetention(), onWriteError);
  }

  /** The writer thread's id while it writes the group commits; undefined when they are written inline. */
  get writerThreadId(): number | undefined {
    return this.thread.state === "running" ? this.thread.threadId : undefined;
  }

  /** Resolves once the writer thread runs (true), or could not start (false: batches are written inline). */
  async writerThreadReady(): Promise<boolean> {
    await this.thread.started;
    return this.thread.state === "running";
  }

  /** Ends the process's writer thread as a crash would: what it had in flight rejects, later batches are written inline. */
  async terminateWriterThread(): Promise<void> {
    await this.thread.terminate();
  }

  /** Committed group transactions, the items they carried, and how many of those the writer thread wrote. */
  get commitStats(): { transactions: number; items: number; threadedItems: number } {
    return { ...this.queue.stats, threadedItems: this.threadedItems };
  }

  append(entry: LedgerEntry): Promise<void> {
    return this.queue.append(entry);
  }

  appendAudit(event: AdminAuditEvent): Promise<AuditRecord> {
    return this.queue.appendAudit(event);
  }

  async usage(query: UsageQuery): Promise<UsageReport> {
    this.checkOpen();
    return queryUsage(this.db, query);
  }

  async spendSince(scopes?: SpendScopes): Promise<SpendSnapshot> {
    this.checkOpen();
    return this.spend(this.now(), scopes);
  }

  async *exportLedger(filter?: LedgerFilter): AsyncIterable<LedgerRow> {
    this.checkOpen();
    yield* readLedger(this.db, filter);
  }

  async applyRetention(): Promise<number> {
    if (this.retentionDays === undefined || this.retentionDays <= 0 || this.closed) return 0;
    return pruneLedger(this.db, this.now() - this.retentionDays * DAY_MS, (write) => this.gate.hold(write));
  }

  async createKey(key: NewKey): Promise<KeyInfo> {
    this.checkOpen();
    return this.gate.hold(() => this.keys.create(key));
  }

  async revokeKey(id: string): Promise<KeyInfo> {
    this.checkOpen();
    return this.gate.hold(() => this.keys.revokeById(id));
  }

  async listKeys(filter?: { team?: string }): Promise<KeyInfo[]> {
    this.checkOpen();
    return this.keys.list(filter?.team);
  }

  async findKeyByHash(hash: string): Promise<StoredKey | undefined> {
    this.checkOpen();
    return this.keys.findByHash(hash);
  }

  async loadKeys(): Promise<StoredKey[]> {
    this.checkOpen();
    return this.keys.load();
  }

  async syncConfigKeys(keys: NewKey[]): Promise<void> {
    this.checkOpen();
    this.gate.hold(() => this.keys.syncConfigKeys(keys));
  }

  async wasAlertSent(budgetId: string, windowStart: number, fraction: number): Promise<boolean> {
    this.checkOpen();
    return this.alerts.sent.get(budgetId, windowStart, fraction) !== undefined;
  }

  async markAlertSent(budgetId: string, windowStart: number, fraction: number): Promise<void> {
    this.checkOpen();
    this.gate.hold(() => this.alerts.mark.run(budgetId, windowStart, fraction, this.now()));
  }

  async verifyAudit(options: { expectHead?: string } = {}): Promise<AuditVerdict> {
    this.checkOpen();
    return verifyAuditChain(readAudit(this.db), options.expectHead);
  }

  async *exportAudit(): AsyncIterable<AuditJsonLine> {
    this.checkOpen();
    for await (const record of readAudit(this.db)) yield auditJsonLine(record);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.queue.close();
    await this.thread.close();
    await this.checkpointer.close();
    this.db.close();
  }

  private write(items: QueuedWrite[]): Settled<WriteResult>[] | Promise<Settled<WriteResult>[]> {
    // Small batches, and all of them while the thread starts (well under a second), are written
    // here rather than held, so the first calls after start-up do not wait for it.
    const thread = this.thread;
    if (thread.state === "running" && items.length >= this.threadedBatchMin) {
      try {
        return thread.write(items).then((results) => {
          this.threadedItems += items.length;
          return results;
        });
      } catch {
        // Not cloneable (a value no valid row holds): the inline writer refuses the culprit alone.
      }
    }
    this.inline ??= new BatchWriter(this.db);
    return this.inline.write(items);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError("closed", "the store is closed");
  }
}
