// Group commit: everything queued within one event-loop turn is written by ONE call of `write`
// (one transaction) on the next turn, via setImmediate — microseconds later, not a timer's
// milliseconds. Each promise settles once that transaction committed (or failed).
// A synchronous writer (SQLite) settles the batch inside the flush. An asynchronous one (a network
// database) has one transaction in flight at a time: what is queued meanwhile becomes the next
// batch as soon as it commits, so batches grow with load instead of transactions piling up.
import { StoreError } from "./store.js";

/** What the writer says about each item, in order: committed with a value, or refused alone. */
export type Settled<R> = { value: R } | { error: Error };

type Queued<T, R> = { item: T; resolve: (value: R) => void; reject: (error: Error) => void };

export class GroupCommit<T, R> {
  private queue: Queued<T, R>[] = [];
  private scheduled = false;
  private closed = false;
  private inFlight: Promise<void> | undefined;
  /** Committed transactions and the items they carried (for metrics and tests). */
  transactions = 0;
  items = 0;

  constructor(
    private readonly write: (items: T[]) => Settled<R>[] | Promise<Settled<R>[]>,
    private readonly onFailure: (error: Error, count: number) => void,
  ) {}

  enqueue(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new StoreError("closed", "the store is closed"));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.inFlight) return; // the batch in flight schedules the next one when it ends
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let results: Settled<R>[] | Promise<Settled<R>[]>;
    try {
      results = this.write(batch.map((queued) => queued.item));
    } catch (thrown) {
      this.fail(batch, thrown);
      return;
    }
    if (!(results instanceof Promise)) {
      this.settle(batch, results);
      return;
    }
    this.inFlight = results.then(
      (settled) => this.settle(batch, settled),
      (thrown: unknown) => this.fail(batch, thrown),
    ).finally(() => {
      this.inFlight = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  };

  /** Writes what is queued now (and waits for a transaction in flight); later enqueues are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.queue.length > 0) {
      if (this.inFlight) await this.inFlight;
      else this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private settle(batch: Queued<T, R>[], results: Settled<R>[]): void {
    this.transactions++;
    this.items += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const result = results[i];
      if ("error" in result) batch[i].reject(result.error);
      else batch[i].resolve(result.value);
    }
  }

  private fail(batch: Queued<T, R>[], thrown: unknown): void {
    const error = writeFailed(thrown);
    this.onFailure(error, batch.length);
    for (const queued of batch) queued.reject(error);
  }
}

export function writeFailed(thrown: unknown): StoreError {
  if (thrown instanceof StoreError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new StoreError("write_failed", `the store could not write: ${message}`, { cause: thrown });
}
