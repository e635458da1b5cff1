// Versioned schema migrations. Each version's statements run once, in order, in one transaction;
// append new versions, never edit a released one.
import { HISTOGRAM_BUCKETS } from "../histogram.js";

const histogramColumns = (prefix: string): string =>
  Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `${prefix}_${i} INTEGER NOT NULL DEFAULT 0`).join(",\n  ");

const TOKEN_COLUMNS = `uncached_input INTEGER NOT NULL,
  cache_read INTEGER NOT NULL,
  cache_write INTEGER NOT NULL,
  output INTEGER NOT NULL,
  reasoning INTEGER NOT NULL`;

const rollupTable = (name: string): string => `CREATE TABLE ${name} (
  bucket_start INTEGER NOT NULL,
  team TEXT NOT NULL,
  key_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  key_name TEXT NOT NULL,
  calls INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  ${TOKEN_COLUMNS},
  cost_nano INTEGER NOT NULL,
  latency_sum REAL NOT NULL,
  ttft_count INTEGER NOT NULL,
  ttft_sum REAL NOT NULL,
  ${histogramColumns("lat")},
  ${histogramColumns("ttft")},
  PRIMARY KEY (bucket_start, team, key_id, alias, provider, model)
) STRICT, WITHOUT ROWID`;

export const MIGRATIONS: readonly (readonly string[])[] = [
  // 1: ledger, rollups, keys, audit log
  [
    `CREATE TABLE ledger (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  request_id TEXT NOT NULL UNIQUE,
  key_id TEXT NOT NULL,
  key_name TEXT NOT NULL,
  team TEXT NOT NULL,
  protocol TEXT NOT NULL,
  method TEXT NOT NULL,
  alias TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  model_version TEXT NOT NULL,
  region TEXT NOT NULL,
  attempts TEXT NOT NULL,
  ${TOKEN_COLUMNS},
  estimated INTEGER NOT NULL,
  priced INTEGER NOT NULL,
  cost_nano INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  ttft_ms REAL,
  status TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  metadata TEXT NOT NULL
) STRICT`,
    "CREATE INDEX ledger_key_time ON ledger (key_id, time)",
    "CREATE INDEX ledger_team_time ON ledger (team, time)",
    "CREATE INDEX ledger_time ON ledger (time)",
    rollupTable("rollup_hour"),
    rollupTable("rollup_day"),
    `CREATE TABLE keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  team TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  restrictions TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('config', 'admin'))
) STRICT`,
    `CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  request_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  model_version TEXT NOT NULL,
  region TEXT NOT NULL,
  ${TOKEN_COLUMNS},
  cost_nano INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  prompt TEXT,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT`,
    // These guard against accidents in code; the hash chain is what detects deliberate tampering.
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  ],
  // 2: budget alerts already sent, so a restart does not fire them again in the same window
  [
    `CREATE TABLE budget_alerts (
  budget_id TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  fraction REAL NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (budget_id, window_start, fraction)
) STRICT, WITHOUT ROWID`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;
