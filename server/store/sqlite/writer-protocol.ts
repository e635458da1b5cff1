// The messages between the SQLite stores and the process's writer thread: flat, plain values
// (structured clone carries bigint), no class instances, each naming its store by a number the
// main thread gave it. Errors cross as a small description and are rebuilt on the main thread, so
// callers see the same classes and codes as from an inline writer.
import { StoreError, type AuditRecord, type StoreErrorCode } from "../store.js";
import type { Settled } from "../group-commit.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import { entryFromFlat, flattenEntry, type FlatEntry } from "./ledger-wire.js";

/** A queued write as it crosses: a call's ledger entry flat (ledger-wire.ts), an admin event as it is. */
export type WireWrite = FlatEntry | Extract<QueuedWrite, { kind: "admin" }>;

export function toWire(item: QueuedWrite): WireWrite {
  return item.kind === "call" ? flattenEntry(item.entry) : item;
}

export function fromWire(item: WireWrite): QueuedWrite {
  return Array.isArray(item) ? { kind: "call", entry: entryFromFlat(item) } : item;
}

/**
 * The writer thread's nice value. Posting a batch wakes the thread, and Linux tends to run a woken
 * thread on the waker's core at once, preempting the event loop for the whole transaction; at a
 * lower priority it waits for, or moves to, a core with room (bench/RESULTS.md, the writer thread).
 */
export const WRITER_NICE = 10;

export type WriterRequest =
  /** Opens the store's own connection; `gate` is its WriteGate's shared counter. */
  | { kind: "open"; store: number; path: string; gate: SharedArrayBuffer }
  | { kind: "batch"; store: number; id: number; items: WireWrite[] }
  /** SQLite's own checkpoints, for when the checkpoint thread is gone. */
  | { kind: "autocheckpoint"; store: number; pages: number }
  | { kind: "close"; store: number };

export type ErrorDescription = { name: string; message: string; code?: StoreErrorCode };

/**
 * A batch's outcome. Items not listed committed: only refusals and the admin items' audit records
 * travel back (a call's record is not returned to its caller).
 */
export type BatchReply = { kind: "batch"; store: number; id: number; failures: [number, ErrorDescription][]; records: [number, AuditRecord][] };

export type WriterReply =
  | { kind: "opened"; store: number }
  /** The store's connection could not be opened: its batches are written inline. */
  | { kind: "open-failed"; store: number; error: ErrorDescription }
  | { kind: "closed"; store: number }
  | BatchReply
  /** The batch's transaction itself failed (locked, disk full at commit): no item was written. */
  | { kind: "failed"; store: number; id: number; error: ErrorDescription };

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof StoreError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

export function rebuildError(description: ErrorDescription): Error {
  if (description.code !== undefined) return new StoreError(description.code, description.message);
  if (description.name === "TypeError") return new TypeError(description.message);
  return new Error(description.message);
}

export function batchReply(store: number, id: number, items: QueuedWrite[], results: Settled<WriteResult>[]): BatchReply {
  const reply: BatchReply = { kind: "batch", store, id, failures: [], records: [] };
  results.forEach((result, index) => {
    if ("error" in result) reply.failures.push([index, describeError(result.error)]);
    else if (items[index].kind === "admin" && result.value) reply.records.push([index, result.value]);
  });
  return reply;
}

const COMMITTED: Settled<WriteResult> = { value: undefined };

export function settledFrom(reply: BatchReply, count: number): Settled<WriteResult>[] {
  const results: Settled<WriteResult>[] = new Array(count).fill(COMMITTED);
  for (const [index, description] of reply.failures) results[index] = { error: rebuildError(description) };
  for (const [index, record] of reply.records) results[index] = { value: record };
  return results;
}
