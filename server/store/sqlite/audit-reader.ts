// Audit records read back in seq order, page by page.
import { setImmediate as nextTurn } from "node:timers/promises";
import type Database from "better-sqlite3";
import { auditRecordFrom, type RawAuditRecord } from "../audit-codec.js";
import type { AuditRecord } from "../store.js";

const PAGE_RECORDS = 1000;

export async function* readAudit(db: Database.Database): AsyncIterable<AuditRecord> {
  const page = db.prepare<[number], RawAuditRecord>(
    `SELECT *, CAST(cost_nano AS TEXT) AS cost_text FROM audit WHERE seq > ? ORDER BY seq LIMIT ${PAGE_RECORDS}`,
  );
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const records = page.all(after);
    for (const raw of records) yield auditRecordFrom(raw);
    if (records.length < PAGE_RECORDS) return;
    after = Number(records[records.length - 1].seq);
    await nextTurn();
  }
}
