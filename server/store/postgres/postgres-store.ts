// The shared store for many replicas: one PostgreSQL database (pg.Pool) holding the ledger, its
// rollups, the keys and the audit log. Ledger and audit writes go through one group-commit queue
// per process (writes.ts → batch-writer.ts); several processes may write the same database.
import { setImmediate as nextTurn } from "node:timers/promises";
import pg from "pg";
import { auditJsonLine, verifyAuditChain } from "../audit-chain.js";
import { auditRecordFrom, type RawAuditRecord } from "../audit-codec.js";
import { ledgerFilterSql, ledgerRowFrom, type RawLedgerRow } from "../ledger-codec.js";
import { DAY_MS } from "../rollup-batch.js";
import type {
  AdminAuditEvent, AuditJsonLine, AuditRecord, AuditVerdict, KeyInfo, LedgerEntry, LedgerFilter, LedgerRow, NewKey,
  SpendScopes, SpendSnapshot, Store, StoredKey, UsageQuery, UsageReport,
} from "../store.js";
import { StoreError } from "../store.js";
import { SPEND_SQL, spendParameters, spendSnapshot, usageSql, type SpendRow, type SummedRow } from "../usage-query.js";
import { WriteQueue, reportWriteError, retentionTimer } from "../writes.js";
import { writeBatch } from "./batch-writer.js";
import { PostgresKeyTable } from "./keys.js";
import { migratePostgres } from "./migrate.js";
import { numbered } from "./sql.js";

const PAGE_ROWS = 500;
const PRUNE_CHUNK_ROWS = 2000;

export type PostgresStoreOptions = {
  /** postgres://user:password@host:port/database — the database must exist (the operator creates it). */
  url: string;
  /** Pool size. Default 10. */
  maxConnections?: number;
  retentionDays?: number;
  retentionIntervalMs?: number;
  now?: () => number;
  onWriteError?: (error: Error, items: number) => void;
};

export class PostgresStore implements Store {
  private readonly queue: WriteQueue;
  private readonly keys: PostgresKeyTable;
  private readonly now: () => number;
  private readonly retentionDays: number | undefined;
  private readonly retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** Connects, applies pending migrations (under an advisory lock) and returns the open store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
    // An idle connection the server drops must not crash the process; the pool replaces it.
    pool.on("error", (error) => (options.onWriteError ?? reportWriteError)(error, 0));
    try {
      await migratePostgres(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresStore(pool, options);
  }

  private constructor(
    private readonly pool: pg.Pool,
    options: PostgresStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    const onWriteError = options.onWriteError ?? reportWriteError;
    this.queue = new WriteQueue((items) => writeBatch(pool, items), onWriteError);
    this.keys = new PostgresKeyTable(pool, this.now);
    this.retentionDays = options.retentionDays;
    this.retentionTimer = retentionTimer(this.retentionDays, options.retentionIntervalMs, () => this.applyRetention(), onWriteError);
  }

  /** Committed group transactions and the items they carried. */
  get commitStats(): { transactions: number; items: number } {
    return this.queue.stats;
  }

  append(entry: LedgerEntry): Promise<void> {
    return this.queue.append(entry);
  }

  appendAudit(event: AdminAuditEvent): Promise<AuditRecord> {
    return this.queue.appendAudit(event);
  }

  async usage(query: UsageQuery): Promise<UsageReport> {
    this.checkOpen();
    const { sql, parameters, fold } = usageSql(query);
    return fold((await this.pool.query<SummedRow>(numbered(sql), parameters)).rows);
  }

  async spendSince(scopes?: SpendScopes): Promise<SpendSnapshot> {
    this.checkOpen();
    const now = this.now();
    const { rows } = await this.pool.query<SpendRow>(numbered(SPEND_SQL), spendParameters(now));
    return spendSnapshot(rows, now, scopes);
  }

  async *exportLedger(filter: LedgerFilter = {}): AsyncIterable<LedgerRow> {
    this.checkOpen();
    const { where, parameters } = ledgerFilterSql(filter);
    const sql = numbered(
      `SELECT *, CAST(cost_nano AS TEXT) AS cost_text FROM ledger WHERE ${["id > ?", ...where].join(" AND ")} ORDER BY id LIMIT ${PAGE_ROWS}`,
    );
    let after = "0";
    for (;;) {
      const { rows } = await this.pool.query<RawLedgerRow>(sql, [after, ...parameters]);
      for (const row of rows) yield ledgerRowFrom(row);
      if (rows.length < PAGE_ROWS) return;
      after = String(rows[rows.length - 1].id);
    }
  }

  async applyRetention(): Promise<number> {
    if (this.retentionDays === undefined || this.retentionDays <= 0 || this.closed) return 0;
    const before = this.now() - this.retentionDays * DAY_MS;
    let deleted = 0;
    while (!this.closed) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE time < $1 LIMIT ${PRUNE_CHUNK_ROWS})`,
        [before],
      );
      deleted += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_CHUNK_ROWS) break;
      await nextTurn();
    }
    return deleted;
  }

  async createKey(key: NewKey): Promise<KeyInfo> {
    this.checkOpen();
    return this.keys.create(key);
  }

  async revokeKey(id: string): Promise<KeyInfo> {
    this.checkOpen();
    return this.keys.revokeById(id);
  }

  async listKeys(filter?: { team?: string }): Promise<KeyInfo[]> {
    this.checkOpen();
    return this.keys.list(filter?.team);
  }

  async findKeyByHash(hash: string): Promise<StoredKey | undefined> {
    this.checkOpen();
    return this.keys.findByHash(hash);
  }

  async loadKeys(): Promise<StoredKey[]> {
    this.checkOpen();
    return this.keys.load();
  }

  async syncConfigKeys(keys: NewKey[]): Promise<void> {
    this.checkOpen();
    await this.keys.syncConfigKeys(keys);
  }

  async wasAlertSent(budgetId: string, windowStart: number, fraction: number): Promise<boolean> {
    this.checkOpen();
    const { rowCount } = await this.pool.query(
      "SELECT 1 FROM budget_alerts WHERE budget_id = $1 AND window_start = $2 AND fraction = $3",
      [budgetId, windowStart, fraction],
    );
    return (rowCount ?? 0) > 0;
  }

  async markAlertSent(budgetId: string, windowStart: number, fraction: number): Promise<void> {
    this.checkOpen();
    await this.pool.query(
      "INSERT INTO budget_alerts (budget_id, window_start, fraction, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [budgetId, windowStart, fraction, this.now()],
    );
  }

  async verifyAudit(options: { expectHead?: string } = {}): Promise<AuditVerdict> {
    this.checkOpen();
    return verifyAuditChain(this.readAudit(), options.expectHead);
  }

  async *exportAudit(): AsyncIterable<AuditJsonLine> {
    this.checkOpen();
    for await (const record of this.readAudit()) yield auditJsonLine(record);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.queue.close();
    await this.pool.end();
  }

  private async *readAudit(): AsyncIterable<AuditRecord> {
    let after = String(Number.MIN_SAFE_INTEGER);
    for (;;) {
      const { rows } = await this.pool.query<RawAuditRecord>(
        "SELECT *, CAST(cost_nano AS TEXT) AS cost_text FROM audit WHERE seq > $1 ORDER BY seq LIMIT 1000",
        [after],
      );
      for (const raw of rows) yield auditRecordFrom(raw);
      if (rows.length < 1000) return;
      after = String(rows[rows.length - 1].seq);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError("closed", "the store is closed");
  }
}
