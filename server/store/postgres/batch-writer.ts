// Writes one group-commit batch in one PostgreSQL transaction:
//   1. when the batch carries audit records, pg_advisory_xact_lock(LOCK.audit) — held to COMMIT;
//   2. the ledger rows in multi-row INSERTs, ON CONFLICT (request_id) DO NOTHING RETURNING request_id;
//   3. audit records for admin actions and for the rows actually inserted, chained onto the head;
//   4. rollups upserted for the rows actually inserted, in key order.
// A flush retried after an unknown outcome (or a request id written by another replica) therefore
// stores and counts each call once. The audit chain is database-ordered: the lock makes the head
// read and the insert of the next records one step across every replica, so the chain is one total
// order and `verifyAudit` is the same walk as on SQLite.
import type pg from "pg";
import { GENESIS_HASH, chainAuditRecord, type UnchainedAuditRecord } from "../audit-chain.js";
import { AUDIT_COLUMNS, adminRecord, auditParameters, callRecord } from "../audit-codec.js";
import type { Settled } from "../group-commit.js";
import { LEDGER_COLUMNS, invalidRow, rowParameters } from "../ledger-codec.js";
import { ROLLUP_COLUMNS, RollupBatch, rollupUpsertSql } from "../rollup-batch.js";
import type { AuditRecord, LedgerEntry } from "../store.js";
import type { QueuedWrite, WriteResult } from "../writes.js";
import { LOCK, inTransaction, valuesChunks } from "./sql.js";

type Valid = { index: number; item: QueuedWrite };

export async function writeBatch(pool: pg.Pool, items: QueuedWrite[]): Promise<Settled<WriteResult>[]> {
  const results: Settled<WriteResult>[] = new Array(items.length);
  const valid: Valid[] = [];
  items.forEach((item, index) => {
    const invalid = item.kind === "call" ? invalidRow(item.entry.row) : undefined;
    if (invalid && item.kind === "call") results[index] = { error: new TypeError(`ledger row ${item.entry.row.requestId}: ${invalid}`) };
    else valid.push({ index, item });
  });
  if (valid.length === 0) return results;
  const values = await inTransaction(pool, (client) => writeValid(client, valid));
  for (const { index } of valid) results[index] = { value: values.get(index) };
  return results;
}

async function writeValid(client: pg.PoolClient, valid: Valid[]): Promise<Map<number, WriteResult>> {
  const audited = valid.some(({ item }) => item.kind === "admin" || item.entry.audit !== undefined);
  if (audited) await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK.audit]);

  const calls = valid.filter((v): v is Valid & { item: { kind: "call"; entry: LedgerEntry } } => v.item.kind === "call");
  const inserted = await insertLedger(client, calls.map((c) => c.item.entry));
  const rollups = new RollupBatch();
  const claimed = new Set<string>();
  const newRows = new Set<number>();
  for (const { index, item } of calls) {
    const { requestId } = item.entry.row;
    // The first of two queued rows with one request id is the one stored.
    if (inserted.has(requestId) && !claimed.has(requestId)) {
      claimed.add(requestId);
      newRows.add(index);
      rollups.add(item.entry.row);
    }
  }

  const values = new Map<number, WriteResult>();
  if (audited) {
    const records = await chainRecords(client, valid, newRows);
    for (const [index, record] of records) values.set(index, record);
  }
  for (const { table, rows } of rollups.parameters()) {
    for (const chunk of valuesChunks(rows, ROLLUP_COLUMNS.length)) await client.query(rollupUpsertSql(table, chunk.values), chunk.parameters);
  }
  return values;
}

async function insertLedger(client: pg.PoolClient, entries: LedgerEntry[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (const chunk of valuesChunks(entries.map((e) => rowParameters(e.row)), LEDGER_COLUMNS.length)) {
    const { rows } = await client.query<{ request_id: string }>(
      `INSERT INTO ledger (${LEDGER_COLUMNS.join(", ")}) VALUES ${chunk.values} ON CONFLICT (request_id) DO NOTHING RETURNING request_id`,
      chunk.parameters,
    );
    for (const row of rows) inserted.add(row.request_id);
  }
  return inserted;
}

/** Chains admin actions and the newly stored audited calls, in queue order, onto the head. */
async function chainRecords(client: pg.PoolClient, valid: Valid[], newRows: Set<number>): Promise<Map<number, AuditRecord>> {
  const head = await client.query<{ seq: string; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
  let seq = Number(head.rows[0]?.seq ?? 0);
  let prevHash = head.rows[0]?.hash ?? GENESIS_HASH;
  const records = new Map<number, AuditRecord>();
  for (const { index, item } of valid) {
    let unchained: UnchainedAuditRecord | undefined;
    if (item.kind === "admin") unchained = adminRecord(item.event, seq + 1);
    else if (item.entry.audit && newRows.has(index)) unchained = callRecord(item.entry.row, item.entry.audit, seq + 1);
    if (!unchained) continue;
    const record = chainAuditRecord(prevHash, unchained);
    records.set(index, record);
    seq = record.seq;
    prevHash = record.hash;
  }
  const chunks = valuesChunks([...records.values()].map(auditParameters), AUDIT_COLUMNS.length);
  for (const chunk of chunks) await client.query(`INSERT INTO audit (${AUDIT_COLUMNS.join(", ")}) VALUES ${chunk.values}`, chunk.parameters);
  return records;
}
