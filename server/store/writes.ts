// What every store's write path shares: the group-commit queue of ledger rows and admin audit
// events, the retention timer, and the default report of a failed write.
import { GroupCommit, type Settled } from "./group-commit.js";
import type { AdminAuditEvent, AuditRecord, LedgerEntry } from "./store.js";

export type QueuedWrite = { kind: "call"; entry: LedgerEntry } | { kind: "admin"; event: AdminAuditEvent };
/** A call's committed audit record, or undefined when not audited or already stored. */
export type WriteResult = AuditRecord | undefined;

export type OnWriteError = (error: Error, items: number) => void;

export class WriteQueue {
  private readonly queue: GroupCommit<QueuedWrite, WriteResult>;

  constructor(write: (items: QueuedWrite[]) => Settled<WriteResult>[] | Promise<Settled<WriteResult>[]>, onWriteError: OnWriteError) {
    this.queue = new GroupCommit(write, onWriteError);
  }

  /** Committed group transactions and the items they carried. */
  get stats(): { transactions: number; items: number } {
    return { transactions: this.queue.transactions, items: this.queue.items };
  }

  async append(entry: LedgerEntry): Promise<void> {
    await this.queue.enqueue({ kind: "call", entry });
  }

  async appendAudit(event: AdminAuditEvent): Promise<AuditRecord> {
    const record = await this.queue.enqueue({ kind: "admin", event });
    // An admin item always yields its record; this guards the type, not a real path.
    if (!record) throw new Error("audit record was not written");
    return record;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** Runs retention every `intervalMs` off the request path when `retentionDays` is set. */
export function retentionTimer(
  retentionDays: number | undefined,
  intervalMs: number | undefined,
  run: () => Promise<number>,
  onWriteError: OnWriteError,
): NodeJS.Timeout | undefined {
  if (retentionDays === undefined || retentionDays <= 0) return undefined;
  const timer = setInterval(() => {
    run().catch((error: unknown) => onWriteError(error instanceof Error ? error : new Error(String(error)), 0));
  }, intervalMs ?? 3_600_000);
  timer.unref();
  return timer;
}

export function reportWriteError(error: Error, items: number): void {
  const what = items > 0 ? `a write of ${items} ledger/audit item(s)` : "background store work";
  process.emitWarning(`${what} failed: ${error.message}`, { code: "SWITCHBOARD_STORE_WRITE" });
}
