// Spend per key and team in the UTC day and month windows (clock injected, rows on both sides of
// each boundary), and retention of raw rows with the rollups kept, for every store.
import test from "ava";
import { ledgerRow } from "../fixtures.js";
import type { StoreHarness } from "../harness.js";

const at = (month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0) => Date.UTC(2026, month - 1, day, hour, minute, second, ms);

export function spendRetentionContract(h: StoreHarness): void {
  test(`${h.name}: spend-since-counts-utc-day-and-month-windows`, async (t) => {
    let now = at(12, 1, 10);
    const { store } = await h.open(t, { now: () => now });
    const rows = [
      ledgerRow({ time: at(11, 15), keyId: "k3", costNanoUsd: 5n }),
      ledgerRow({ time: at(11, 30, 23, 59, 59, 999), keyId: "k1", costNanoUsd: 1n }), // last instant of November
      ledgerRow({ time: at(12, 1), keyId: "k1", costNanoUsd: 10n }), // first instant of December
      ledgerRow({ time: at(12, 1, 9), keyId: "k1", costNanoUsd: 100n }),
      ledgerRow({ time: at(12, 1, 5), keyId: "k2", team: "ads", costNanoUsd: 1000n }),
      ledgerRow({ time: at(12, 14, 23, 59, 59, 999), keyId: "k1", costNanoUsd: 20_000n }),
      ledgerRow({ time: at(12, 15), keyId: "k1", costNanoUsd: 300_000n }),
      ledgerRow({ time: at(12, 15, 1), keyId: "k4", costNanoUsd: 9_000_000_000_000_000_000n }), // ≈ $9bn: still exact
    ];
    await Promise.all(rows.map((row) => store.append({ row })));

    const first = await store.spendSince();
    t.is(first.dayStart, at(12, 1));
    t.is(first.monthStart, at(12, 1));
    t.deepEqual(Object.fromEntries(first.keys), { k1: { day: 110n, month: 110n }, k2: { day: 1000n, month: 1000n } });
    t.deepEqual(Object.fromEntries(first.teams), { search: { day: 110n, month: 110n }, ads: { day: 1000n, month: 1000n } });

    now = at(12, 15, 0, 30);
    const mid = await store.spendSince();
    t.is(mid.dayStart, at(12, 15));
    t.deepEqual(mid.keys.get("k1"), { day: 300_000n, month: 320_110n });
    t.deepEqual(mid.keys.get("k4"), { day: 9_000_000_000_000_000_000n, month: 9_000_000_000_000_000_000n });
    t.deepEqual(mid.teams.get("search"), { day: 9_000_000_000_000_300_000n, month: 9_000_000_000_000_320_110n });

    now = at(11, 30, 23, 59, 59, 999);
    const november = await store.spendSince();
    t.is(november.monthStart, at(11, 1));
    t.deepEqual(Object.fromEntries(november.keys), { k3: { day: 0n, month: 5n }, k1: { day: 1n, month: 1n } });

    now = at(12, 15, 2);
    const scoped = await store.spendSince({ keyIds: ["k1"], teams: ["ads"] });
    t.deepEqual([...scoped.keys.keys()], ["k1"]);
    t.deepEqual([...scoped.teams.keys()], ["ads"]);
  });

  test(`${h.name}: retention-deletes-old-raw-rows-and-keeps-rollups`, async (t) => {
    let now = at(12, 20, 12);
    const { store, sql } = await h.open(t, { now: () => now, retentionDays: 7 });
    const old = Array.from({ length: 4500 }, (_, i) => ledgerRow({ time: now - 8 * 86_400_000 - i }));
    const recent = ledgerRow({ time: now - 6 * 86_400_000 });
    await Promise.all([...old, recent].map((row) => store.append({ row })));

    t.is(await store.applyRetention(), 4500, "deleted in several chunks");
    t.deepEqual(await sql("SELECT request_id FROM ledger"), [{ request_id: recent.requestId }]);
    t.is((await store.usage({})).totals.calls, 4501, "the rollups still count every call");
    now += 2 * 86_400_000;
    t.is(await store.applyRetention(), 1);
  });

  test(`${h.name}: retention runs periodically off the request path`, async (t) => {
    const now = at(12, 20, 12);
    const { store, sql } = await h.open(t, { now: () => now, retentionDays: 1, retentionIntervalMs: 20 });
    await store.append({ row: ledgerRow({ time: now - 2 * 86_400_000 }) });
    const count = async () => Number((await sql("SELECT COUNT(*) AS n FROM ledger"))[0].n);
    const deadline = Date.now() + 10_000;
    while ((await count()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    t.is(await count(), 0);
  });

  test(`${h.name}: no retention setting keeps every row`, async (t) => {
    const { store } = await h.open(t);
    await store.append({ row: ledgerRow({ time: 0 }) });
    t.is(await store.applyRetention(), 0);
    t.is((await store.usage({})).totals.calls, 1);
  });
}
