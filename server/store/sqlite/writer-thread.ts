// The main thread's side of the writer thread: posts a group-commit batch, resolves with each
// item's outcome once the thread's transaction COMMITTED. When the thread fails to start or dies,
// what it had in flight rejects (write_failed: it may or may not have committed) and `onStop` is
// told, so the store writes inline from then on.
import { Worker } from "node:worker_threads";
import type { Settled } from "../group-commit.js";
import { StoreError } from "../store.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import type { WriteGate } from "./write-gate.js";
import { rebuildError, settledFrom, type WriterData, type WriterReply, type WriterRequest } from "./writer-protocol.js";

type Pending = { count: number; resolve: (results: Settled<WriteResult>[]) => void; reject: (error: Error) => void };

export type WriterThreadState = "starting" | "running" | "closing" | "stopped";

export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stateNow: WriterThreadState = "starting";
  private readonly exited: Promise<void>;
  /** Settles once the thread is running, or has stopped before it could. */
  readonly started: Promise<void>;

  constructor(path: string, gate: WriteGate, onStop: (error: Error) => void) {
    this.worker = startWorker({ path, gate: gate.shared }); // held while starting, then only while a batch is in flight
    let started!: () => void;
    this.started = new Promise((resolve) => (started = resolve));
    const stop = (error: Error) => {
      if (this.stateNow === "stopped") return;
      const expected = this.stateNow === "closing";
      this.stateNow = "stopped";
      started();
      this.rejectPending(error);
      if (!expected) onStop(error);
    };
    this.worker.on("message", (message: WriterReply) => {
      if (message.kind === "ready") {
        if (this.stateNow === "starting") this.stateNow = "running";
        if (this.pending.size === 0 && this.stateNow !== "closing") this.worker.unref();
        started();
        return;
      }
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.settled(message.id);
      if (message.kind === "failed") pending.reject(rebuildError(message.error));
      else pending.resolve(settledFrom(message, pending.count));
    });
    this.worker.on("error", (error) => stop(new StoreError("write_failed", `the store's writer thread failed: ${error.message}`, { cause: error })));
    this.exited = new Promise((resolve) =>
      this.worker.once("exit", (code) => {
        stop(new StoreError("write_failed", `the store's writer thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  get state(): WriterThreadState {
    return this.stateNow;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** Throws (synchronously) only when the items cannot be cloned; then nothing was posted. */
  write(items: QueuedWrite[]): Promise<Settled<WriteResult>[]> {
    if (this.stateNow !== "running") return Promise.reject(new StoreError("write_failed", `the store's writer thread is ${this.stateNow}`));
    const id = this.nextId++;
    this.post({ kind: "batch", id, items: items.map(ownBytes) });
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => this.pending.set(id, { count: items.length, resolve, reject }));
  }

  post(request: WriterRequest): void {
    this.worker.postMessage(request);
  }

  /** Ends the thread after what was posted before (the store flushed its queue first). */
  async close(): Promise<void> {
    if (this.stateNow === "stopped") return;
    this.stateNow = "closing";
    this.worker.ref(); // the process must not exit while the thread finishes
    this.post({ kind: "close" });
    await this.exited;
  }

  /** Ends the thread at once, as a crash would. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exited;
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private rejectPending(error: Error): void {
    for (const [id, pending] of this.pending) {
      this.settled(id);
      pending.reject(error);
    }
  }
}

/**
 * The worker thread, in either launch mode: compiled JavaScript loads directly; TypeScript (the
 * gateway runs under tsx) needs tsx inside the thread too, and on Node 20 tsx's `--import` hook,
 * which workers inherit through execArgv, does not register in worker threads. tsImport loads the
 * module graph through a tsx scoped to this import, whatever else the thread registered.
 */
function startWorker(data: WriterData): Worker {
  const entry = new URL(import.meta.url.endsWith(".ts") ? "./writer-worker.ts" : "./writer-worker.js", import.meta.url);
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData: data });
  const api = import.meta.resolve("tsx/esm/api");
  const source = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}));`;
  return new Worker(source, { eval: true, workerData: data });
}

/** A request's bytes that view a larger buffer (a pooled Buffer) are copied, so clone ships only them. */
function ownBytes(item: QueuedWrite): QueuedWrite {
  const bytes = item.kind === "call" ? item.entry.audit?.requestBytes : undefined;
  if (!bytes || item.kind !== "call" || bytes.byteLength === bytes.buffer.byteLength) return item;
  const audit = { ...item.entry.audit, requestBytes: new Uint8Array(bytes) };
  return { kind: "call", entry: { ...item.entry, audit } };
}
