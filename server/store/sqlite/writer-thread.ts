// The main thread's side of the writer thread. The process has one such thread, started with its
// first SQLite store and shared by all of them (each opens its own connection there); a store's
// WriterThread posts its group-commit batches and resolves each item's outcome once the thread's
// transaction COMMITTED. When the thread fails to start or dies, what every store had in flight
// rejects (write_failed: it may or may not have committed) and each store's `onStop` is told, so
// they write inline from then on; a store opened later starts a new thread.
import { startThread, threadEntry } from "../../core/thread-script.js";
import type { Settled } from "../group-commit.js";
import { StoreError } from "../store.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import type { WriteGate } from "./write-gate.js";
import { rebuildError, settledFrom, toWire, type WriterReply, type WriterRequest } from "./writer-protocol.js";

type Pending = { count: number; resolve: (results: Settled<WriteResult>[]) => void; reject: (error: Error) => void };

export type WriterThreadState = "starting" | "running" | "closing" | "stopped";

/** The process's writer thread. It keeps the process alive only while some store needs it. */
class WriterHost {
  readonly worker = startThread(threadEntry("writer-worker", import.meta.url));
  readonly exited: Promise<void>;
  private readonly stores = new Map<number, WriterThread>();
  private holds = 0;
  private stopped = false;

  constructor() {
    this.worker.unref();
    this.worker.on("message", (message: WriterReply) => this.stores.get(message.store)?.receive(message));
    this.worker.on("error", (error) => this.stop(new StoreError("write_failed", `the store's writer thread failed: ${error.message}`, { cause: error })));
    this.exited = new Promise((resolve) =>
      this.worker.once("exit", (code) => {
        this.stop(new StoreError("write_failed", `the store's writer thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  attach(store: number, thread: WriterThread): void {
    this.stores.set(store, thread);
  }

  detach(store: number): void {
    this.stores.delete(store);
  }

  post(request: WriterRequest): void {
    this.worker.postMessage(request);
  }

  hold(held: boolean): void {
    this.holds += held ? 1 : -1;
    if (held && this.holds === 1) this.worker.ref();
    if (!held && this.holds === 0) this.worker.unref();
  }

  private stop(error: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (shared === this) shared = undefined;
    for (const thread of [...this.stores.values()]) thread.stop(error);
  }
}

let shared: WriterHost | undefined;
let nextStore = 1;

export class WriterThread {
  private readonly host: WriterHost;
  private readonly store = nextStore++;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stateNow: WriterThreadState = "starting";
  /** Whether this store holds the thread (and the process) alive: starting, closing or in flight. */
  private holding = false;
  private markStarted!: () => void;
  private markClosed!: () => void;
  private readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  /** Settles once the thread runs this store's writes, or has stopped before it could. */
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  constructor(
    path: string,
    gate: WriteGate,
    private readonly onStop: (error: Error) => void,
  ) {
    this.host = shared ??= new WriterHost();
    this.host.attach(this.store, this);
    this.updateHold();
    this.host.post({ kind: "open", store: this.store, path, gate: gate.shared });
  }

  get state(): WriterThreadState {
    return this.stateNow;
  }

  get threadId(): number {
    return this.host.worker.threadId;
  }

  /** Throws (synchronously) only when the items cannot be cloned; then nothing was posted. */
  write(items: QueuedWrite[]): Promise<Settled<WriteResult>[]> {
    if (this.stateNow !== "running") return Promise.reject(new StoreError("write_failed", `the store's writer thread is ${this.stateNow}`));
    const id = this.nextId++;
    this.host.post({ kind: "batch", store: this.store, id, items: items.map(toWire) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { count: items.length, resolve, reject });
      this.updateHold();
    });
  }

  /** Lets SQLite checkpoint in this store's thread connection (the checkpoint thread is gone). */
  autocheckpoint(pages: number): void {
    if (this.stateNow === "starting" || this.stateNow === "running") this.host.post({ kind: "autocheckpoint", store: this.store, pages });
  }

  /** Closes this store's connection on the thread after what was posted before (the store flushed its queue first). */
  async close(): Promise<void> {
    if (this.stateNow === "stopped") return;
    this.stateNow = "closing";
    this.updateHold(); // the process must not exit while the thread finishes
    this.host.post({ kind: "close", store: this.store });
    await this.closed;
  }

  /** Ends the process's thread at once, as a crash would: every store then writes inline. */
  async terminate(): Promise<void> {
    await this.host.worker.terminate();
    await this.host.exited;
  }

  /** A reply for this store from the thread. */
  receive(message: WriterReply): void {
    switch (message.kind) {
      case "opened":
        if (this.stateNow === "starting") this.stateNow = "running";
        this.updateHold();
        this.markStarted();
        return;
      case "open-failed":
        this.stop(new StoreError("write_failed", `the store's writer thread could not open the database: ${message.error.message}`));
        return;
      case "closed":
        this.stop(new StoreError("closed", "the store is closed"));
        return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    this.updateHold();
    if (message.kind === "failed") pending.reject(rebuildError(message.error));
    else pending.resolve(settledFrom(message, pending.count));
  }

  /** The thread no longer writes for this store: what is in flight rejects with `error`. */
  stop(error: Error): void {
    if (this.stateNow === "stopped") return;
    const expected = this.stateNow === "closing";
    this.stateNow = "stopped";
    this.host.detach(this.store);
    this.markStarted();
    this.markClosed();
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.updateHold();
    if (!expected) this.onStop(error);
  }

  private updateHold(): void {
    const needed = this.stateNow === "starting" || this.stateNow === "closing" || this.pending.size > 0;
    if (needed === this.holding) return;
    this.holding = needed;
    this.host.hold(needed);
  }
}
