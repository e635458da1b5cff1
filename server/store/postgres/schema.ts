// Versioned PostgreSQL migrations: the same logical schema as SQLite's (../sqlite/schema.ts), with
// BIGINT for every epoch-ms time, token count and nano-USD amount (read back as bigint or via
// decimal strings, never floats). Each version runs once, in one transaction; append new versions,
// never edit a released one.
import { HISTOGRAM_BUCKETS } from "../histogram.js";

const histogramColumns = (prefix: string): string =>
  Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `${prefix}_${i} BIGINT NOT NULL DEFAULT 0`).join(",\n  ");

const TOKEN_COLUMNS = `uncached_input BIGINT NOT NULL,
  cache_read BIGINT NOT NULL,
  cache_write BIGINT NOT NULL,
  output BIGINT NOT NULL,
  reasoning BIGINT NOT NULL`;

const rollupTable = (name: string): string => `CREATE TABLE ${name} (
  bucket_start BIGINT NOT NULL,
  team TEXT NOT NULL,
  key_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  key_name TEXT NOT NULL,
  calls BIGINT NOT NULL,
  errors BIGINT NOT NULL,
  ${TOKEN_COLUMNS},
  cost_nano BIGINT NOT NULL,
  latency_sum DOUBLE PRECISION NOT NULL,
  ttft_count BIGINT NOT NULL,
  ttft_sum DOUBLE PRECISION NOT NULL,
  ${histogramColumns("lat")},
  ${histogramColumns("ttft")},
  PRIMARY KEY (bucket_start, team, key_id, alias, provider, model)
)`;

export const POSTGRES_MIGRATIONS: readonly (readonly string[])[] = [
  // 1: ledger, rollups, keys, audit log
  [
    `CREATE TABLE ledger (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time BIGINT NOT NULL,
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
  estimated SMALLINT NOT NULL CHECK (estimated IN (0, 1)),
  priced SMALLINT NOT NULL CHECK (priced IN (0, 1)),
  cost_nano BIGINT NOT NULL,
  latency_ms DOUBLE PRECISION NOT NULL,
  ttft_ms DOUBLE PRECISION,
  status TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  metadata TEXT NOT NULL
)`,
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
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  restrictions TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('config', 'admin'))
)`,
    `CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  time BIGINT NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  request_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  model_version TEXT NOT NULL,
  region TEXT NOT NULL,
  ${TOKEN_COLUMNS},
  cost_nano BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  prompt TEXT,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
)`,
    // These guard against accidents in code; the hash chain is what detects deliberate tampering.
    `CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$`,
    "CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
  ],
  // 2: budget alerts already sent, so a restart does not fire them again in the same window
  [
    `CREATE TABLE budget_alerts (
  budget_id TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  fraction DOUBLE PRECISION NOT NULL,
  sent_at BIGINT NOT NULL,
  PRIMARY KEY (budget_id, window_start, fraction)
)`,
  ],
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;
