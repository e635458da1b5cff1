// The ledger export, for every store: every matching row, exactly as appended, read in pages.
import test from "ava";
import type { LedgerRow } from "../../../server/store/store.js";
import { seededRows } from "../fixtures.js";
import type { StoreHarness } from "../harness.js";

const START = Date.UTC(2026, 11, 1);

export function exportContract(h: StoreHarness): void {
  test(`${h.name}: export-ledger-streams-every-matching-row-in-pages`, async (t) => {
    const { store } = await h.open(t);
    const rows = seededRows(7, 1800, START, 2);
    rows[3] = { ...rows[3], attempts: [
      { provider: "openai-main", model: "gpt-4o", outcome: "UNAVAILABLE", durationMs: 12.5, usage: { uncachedInput: 5, cacheRead: 0, cacheWrite: 0, output: 1, reasoning: 0 }, costNanoUsd: 9_007_199_254_740_993n },
      { provider: "claude", model: "claude-sonnet-4-5", outcome: "OK", durationMs: 80 },
    ] };
    await Promise.all(rows.map((row) => store.append({ row })));

    const all: LedgerRow[] = [];
    for await (const row of store.exportLedger()) all.push(row);
    t.deepEqual(all, rows, "every field round-trips, 64-bit costs in attempts included, in append order");

    const filter = { team: "search", provider: "claude", from: START + 3_600_000, to: START + 86_400_000 };
    const matching: LedgerRow[] = [];
    for await (const row of store.exportLedger(filter)) matching.push(row);
    const expected = rows.filter((r) => r.team === "search" && r.provider === "claude" && r.time >= filter.from && r.time < filter.to);
    t.true(expected.length > 0);
    t.deepEqual(matching, expected);
  });
}
