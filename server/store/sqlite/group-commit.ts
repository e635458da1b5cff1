// Group commit: everything queued within one event-loop turn is written by ONE call of `write`
// (one transaction) on the next turn, via setImmediate — microseconds later, not a timer's
// milliseconds. Each promise settles once that transaction committed (or failed).
import { StoreError } from "../store.js";

/** What the writer says about each item, in order: committed with a value, or refused alone. */
export type Settled<R> = { value: R } | { error: Error };

type Queued<T, R> = { item: T; resolve: (value: R) => void; reject: (error: Error) => void };

export class GroupCommit<T, R> {
  private queue: Queued<T, R>[] = [];
  private scheduled = false;
  private closed = false;
  /** Committed transactions and the items they carried (for metrics and tests). */
  transactions = 0;
  items = 0;

  constructor(
    private readonly write: (items: T[]) => Settled<R>[],
    private readonly onFailure: (error: Error, count: number) => void,
  ) {}

  enqueue(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new StoreError("closed", "the store is closed"));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let results: Settled<R>[];
    try {
      results = this.write(batch.map((queued) => queued.item));
    } catch (thrown) {
      const error = writeFailed(thrown);
      this.onFailure(error, batch.length);
      for (const queued of batch) queued.reject(error);
      return;
    }
    this.transactions++;
    this.items += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const result = results[i];
      if ("error" in result) batch[i].reject(result.error);
      else batch[i].resolve(result.value);
    }
  };

  /** Writes what is queued now; later enqueues are refused. */
  close(): void {
    this.closed = true;
    this.flush();
  }
}

export function writeFailed(thrown: unknown): StoreError {
  if (thrown instanceof StoreError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new StoreError("write_failed", `the store could not write: ${message}`, { cause: thrown });
}
