// The writer thread: its own connection to the store's file, the group-commit batches written by
// BatchWriter there, off the main thread's event loop. Each reply is posted after COMMIT.
import { parentPort, workerData } from "node:worker_threads";
import { BatchWriter } from "./batch-writer.js";
import { openWriterConnection } from "./open.js";
import { WriteGate } from "./write-gate.js";
import { writeFailed, type Settled } from "../group-commit.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import { batchReply, describeError, type WriterData, type WriterReply, type WriterRequest } from "./writer-protocol.js";

/**
 * Items per transaction. The main thread's connection waits for the write lock (busy_timeout 1 s)
 * on the event loop; a burst queued in one turn is committed in transactions this small, so such
 * a wait stays within a few tens of milliseconds.
 */
const ITEMS_PER_TRANSACTION = 250;

const port = parentPort;
if (!port) throw new Error("writer-worker.ts runs as a worker thread of the SQLite store");

const data = workerData as WriterData;
const db = openWriterConnection(data.path);
const gate = new WriteGate(data.gate);
const writer = new BatchWriter(db, () => gate.yieldToMain());
const reply = (message: WriterReply) => port.postMessage(message);

port.on("message", (request: WriterRequest) => {
  switch (request.kind) {
    case "batch":
      reply(writeInChunks(request.id, request.items));
      return;
    case "autocheckpoint":
      db.pragma(`wal_autocheckpoint = ${Math.trunc(request.pages)}`);
      return;
    case "close":
      db.close();
      port.close(); // nothing else holds the thread: it exits
      return;
  }
});
reply({ kind: "ready" });

function writeInChunks(id: number, items: QueuedWrite[]): WriterReply {
  const results: Settled<WriteResult>[] = [];
  for (let start = 0; start < items.length; start += ITEMS_PER_TRANSACTION) {
    const chunk = items.slice(start, start + ITEMS_PER_TRANSACTION);
    try {
      results.push(...writer.write(chunk));
    } catch (thrown) {
      if (start === 0) return { kind: "failed", id, error: describeError(thrown) };
      // Earlier chunks committed: the rest is refused item by item.
      const error = writeFailed(thrown);
      while (results.length < items.length) results.push({ error });
      break;
    }
  }
  return batchReply(id, items, results);
}
