// The process's writer thread: for each SQLite store of the process, its own connection to the
// store's file and the group-commit batches written there by BatchWriter, off the main thread's
// event loop. Each reply is posted after COMMIT. One thread serves every store, so a process with
// many stores (a test file, a gateway that reloads) loads this module graph once.
import { parentPort } from "node:worker_threads";
import type Database from "better-sqlite3";
import { lowerThisThreadsPriority } from "../../core/thread-priority.js";
import { BatchWriter } from "./batch-writer.js";
import { openWriterConnection } from "./open.js";
import { WriteGate } from "./write-gate.js";
import { writeFailed, type Settled } from "../group-commit.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import { batchReply, describeError, fromWire, WRITER_NICE, type WriterReply, type WriterRequest } from "./writer-protocol.js";

/**
 * Items per transaction. The main thread's connection waits for the write lock (busy_timeout 1 s)
 * on the event loop; a burst queued in one turn is committed in transactions this small, so such
 * a wait stays within a few tens of milliseconds.
 */
const ITEMS_PER_TRANSACTION = 250;

const port = parentPort;
if (!port) throw new Error("writer-worker.ts runs as the SQLite stores' worker thread");
lowerThisThreadsPriority(WRITER_NICE);

type OpenStore = { db: Database.Database; writer: BatchWriter };
const stores = new Map<number, OpenStore>();
const reply = (message: WriterReply) => port.postMessage(message);

port.on("message", (request: WriterRequest) => {
  switch (request.kind) {
    case "open": {
      try {
        const db = openWriterConnection(request.path);
        const gate = new WriteGate(request.gate);
        stores.set(request.store, { db, writer: new BatchWriter(db, () => gate.yieldToMain()) });
        reply({ kind: "opened", store: request.store });
      } catch (thrown) {
        reply({ kind: "open-failed", store: request.store, error: describeError(thrown) });
      }
      return;
    }
    case "batch": {
      const store = stores.get(request.store);
      if (store) reply(writeInChunks(store.writer, request.store, request.id, request.items.map(fromWire)));
      else reply({ kind: "failed", store: request.store, id: request.id, error: { name: "Error", message: "the store is not open on the writer thread" } });
      return;
    }
    case "autocheckpoint":
      stores.get(request.store)?.db.pragma(`wal_autocheckpoint = ${Math.trunc(request.pages)}`);
      return;
    case "close":
      stores.get(request.store)?.db.close();
      stores.delete(request.store);
      reply({ kind: "closed", store: request.store });
      return;
  }
});

function writeInChunks(writer: BatchWriter, store: number, id: number, items: QueuedWrite[]): WriterReply {
  const results: Settled<WriteResult>[] = [];
  for (let start = 0; start < items.length; start += ITEMS_PER_TRANSACTION) {
    const chunk = items.slice(start, start + ITEMS_PER_TRANSACTION);
    try {
      results.push(...writer.write(chunk));
    } catch (thrown) {
      if (start === 0) return { kind: "failed", store, id, error: describeError(thrown) };
      // Earlier chunks committed: the rest is refused item by item.
      const error = writeFailed(thrown);
      while (results.length < items.length) results.push({ error });
      break;
    }
  }
  return batchReply(store, id, items, results);
}
