// Ledger entries cross to the writer thread as flat arrays: every shape of entry comes back equal,
// the flat form holds no object but the request's bytes (what makes its clone cheap), and a row
// written through the thread reads back as the same row written inline.
import test from "ava";
import { entryFromFlat, flattenEntry } from "../../server/store/sqlite/ledger-wire.js";
import type { LedgerEntry, LedgerRow } from "../../server/store/store.js";
import { ledgerRow, openTestStore, openThreadedStore } from "./fixtures.js";

const usage = { uncachedInput: 7, cacheRead: 3, cacheWrite: 2, output: 11, reasoning: 4 };

const ENTRIES: [string, LedgerEntry][] = [
  ["no audit, one attempt", { row: ledgerRow() }],
  ["refused before routing: no attempts, no metadata", { row: ledgerRow({ attempts: [], metadata: {}, provider: "", model: "", status: "RESOURCE_EXHAUSTED" }) }],
  [
    "hedged stream: attempts with and without usage and cost, time to first token",
    {
      row: ledgerRow({
        method: "stream_complete",
        ttftMs: 12.5,
        estimated: true,
        priced: false,
        attempts: [
          { provider: "a", model: "m1", outcome: "CANCELED_HEDGE_LOST", durationMs: 3.25, usage, costNanoUsd: 9n },
          { provider: "b", model: "m2", outcome: "UNAVAILABLE", durationMs: 1 },
          { provider: "c", model: "m3", outcome: "OK", durationMs: 20, usage: { ...usage, output: 99 } },
        ],
      }),
    },
  ],
  ["metadata with several pairs", { row: ledgerRow({ metadata: { tier: "free", "x-team": "ads", empty: "" } }) }],
  ["an empty audit", { row: ledgerRow(), audit: {} }],
  ["an audit with bytes, hash and prompt", { row: ledgerRow(), audit: { requestHash: "ab".repeat(32), requestBytes: new Uint8Array([1, 2, 3]), prompt: "[redacted]" } }],
  ["a cost beyond 2^53 nano-USD", { row: ledgerRow({ costNanoUsd: 2n ** 60n + 1n }) }],
];

for (const [name, entry] of ENTRIES) {
  test(`ledger-entry-crosses-flat-and-comes-back-equal: ${name}`, (t) => {
    const flat = flattenEntry(entry);
    const objects = flat.filter((value) => typeof value === "object" && value !== null && !(value instanceof Uint8Array));
    t.deepEqual(objects, [], "only primitives (and the request's bytes) in the flat form");
    t.deepEqual(entryFromFlat(structuredClone(flat)), entry);
  });
}

test("ledger-entry-flat-form-copies-bytes-that-view-a-pooled-buffer", (t) => {
  const pool = new Uint8Array(8192).fill(7);
  const bytes = pool.subarray(100, 104);
  const flat = flattenEntry({ row: ledgerRow(), audit: { requestBytes: bytes } });
  const crossed = flat.find((value): value is Uint8Array => value instanceof Uint8Array);
  t.is(crossed?.buffer.byteLength, 4, "the clone carries 4 bytes, not the pool");
  t.deepEqual(entryFromFlat(flat).audit?.requestBytes, new Uint8Array([7, 7, 7, 7]));
});

test("ledger-row-written-by-the-thread-reads-back-as-written-inline", async (t) => {
  const row = (requestId: string): LedgerRow =>
    ledgerRow({ requestId, ttftMs: 8, metadata: { tier: "free", region: "eu" }, attempts: ENTRIES[2][1].row.attempts });
  const threaded = await openThreadedStore(t);
  const inline = openTestStore(t, { threadedBatchMin: Number.MAX_SAFE_INTEGER });
  await threaded.store.append({ row: row("same"), audit: { requestBytes: new Uint8Array([1, 2]) } });
  await inline.store.append({ row: row("same"), audit: { requestBytes: new Uint8Array([1, 2]) } });
  t.true(threaded.store.commitStats.threadedItems > 0, "the row went through the writer thread");
  const read = async (store: typeof inline.store) => {
    const rows: LedgerRow[] = [];
    for await (const stored of store.exportLedger()) rows.push(stored);
    return rows;
  };
  const [fromThread, fromInline] = [await read(threaded.store), await read(inline.store)];
  t.is(fromThread.length, 1);
  t.deepEqual(fromThread, fromInline);
  const [a, b] = [await threaded.store.exportAudit()[Symbol.asyncIterator]().next(), await inline.store.exportAudit()[Symbol.asyncIterator]().next()];
  t.is(a.value?.requestHash, b.value?.requestHash, "the audit hash of the bytes that crossed");
});
