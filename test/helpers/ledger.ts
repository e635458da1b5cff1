// Reading a gateway's ledger in a test: every row, or waiting until a row that lands after the caller
// left (a cancelled call's) is there.
import type { LedgerRow, Store } from "../../server/store/store.js";

export async function ledgerRows(store: Store): Promise<LedgerRow[]> {
  const all: LedgerRow[] = [];
  for await (const row of store.exportLedger()) all.push(row);
  return all;
}

/** Waits for the store to hold `count` rows, yielding to the event loop between reads. */
export async function waitForLedgerRows(store: Store, count: number, timeoutMs = 5000): Promise<LedgerRow[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await ledgerRows(store);
    if (found.length >= count || Date.now() > until) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
