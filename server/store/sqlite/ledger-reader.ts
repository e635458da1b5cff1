// Raw ledger rows read back in pages (export) and pruned in chunks (retention), so neither holds
// the event loop or a transaction for long.
import { setImmediate as nextTurn } from "node:timers/promises";
import type Database from "better-sqlite3";
import { ledgerFilterSql, ledgerRowFrom, type RawLedgerRow } from "../ledger-codec.js";
import type { LedgerFilter, LedgerRow } from "../store.js";

export const PAGE_ROWS = 500;
export const PRUNE_CHUNK_ROWS = 2000;

export async function* readLedger(db: Database.Database, filter: LedgerFilter = {}): AsyncIterable<LedgerRow> {
  const { where, parameters } = ledgerFilterSql(filter);
  const page = db.prepare<unknown[], RawLedgerRow>(
    `SELECT *, CAST(cost_nano AS TEXT) AS cost_text FROM ledger WHERE ${["id > ?", ...where].join(" AND ")} ORDER BY id LIMIT ${PAGE_ROWS}`,
  );
  let after = 0;
  for (;;) {
    const rows = page.all(after, ...parameters);
    for (const row of rows) yield ledgerRowFrom(row);
    if (rows.length < PAGE_ROWS) return;
    after = Number(rows[rows.length - 1].id);
    await nextTurn();
  }
}

/** Deletes raw rows older than `before` in small transactions, yielding between them; `hold` wraps each. */
export async function pruneLedger(db: Database.Database, before: number, hold: <T>(write: () => T) => T = (write) => write()): Promise<number> {
  const chunk = db.prepare(`DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE time < ? LIMIT ${PRUNE_CHUNK_ROWS})`);
  let deleted = 0;
  while (db.open) {
    const { changes } = hold(() => chunk.run(before));
    deleted += changes;
    if (changes < PRUNE_CHUNK_ROWS) return deleted;
    await nextTurn();
  }
  return deleted;
}
