// WAL checkpoints on a worker thread. A checkpoint copies the WAL into the database file and
// fsyncs it; SQLite's automatic checkpoint would do that inside whichever commit crossed the
// threshold — on the event loop, stalling every call for as long as the disk takes. The worker's
// own connection runs PASSIVE checkpoints instead, which never block the writer.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// Plain CommonJS evaluated in the worker, so it needs no TypeScript loader there.
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message === "close") {
    clearInterval(timer);
    checkpoint();
    db.close();
    parentPort.close();
  }
});
`;

const driver = createRequire(import.meta.url).resolve("better-sqlite3");

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  /** `onFailure` is told when the worker cannot checkpoint (the caller then checkpoints inline). */
  constructor(path: string, intervalMs: number, onFailure: (error: Error) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, intervalMs } });
    this.worker.unref();
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      onFailure(error);
    };
    this.worker.on("message", (message: { error?: string }) => {
      if (message.error) fail(new Error(`WAL checkpoint failed: ${message.error}`));
    });
    this.worker.on("error", fail);
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
  }

  /** A last checkpoint, then the worker ends. */
  async close(): Promise<void> {
    this.worker.ref(); // awaited: the process must not exit while the worker finishes
    this.worker.postMessage("close");
    await this.exited;
  }
}
