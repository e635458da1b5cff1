// The store behind the ledger, rollups, keys and audit log. Plain values only: the SQLite
// implementation (server/store/sqlite) is one of several (PostgreSQL later), so nothing here names
// a database type, and every method is async.

/** Token counts in disjoint pricing buckets. Reasoning is part of `output` and also reported alone. */
export type UsageBuckets = {
  uncachedInput: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
};

export type LedgerMethod = "complete" | "stream_complete" | "embed";

/** One upstream attempt of a call (hedge losers and failed attempts included). */
export type LedgerAttempt = {
  provider: string;
  model: string;
  outcome: string;
  durationMs: number;
  usage?: UsageBuckets;
  costNanoUsd?: bigint;
};

/**
 * One accepted call. Text fields that do not apply (no provider for a call refused before routing,
 * no region, no trace) are "" rather than absent, so rollup keys stay comparable.
 */
export type LedgerRow = {
  /** Epoch milliseconds when the call was accepted. */
  time: number;
  /** The gateway's own request id; a row appended twice is stored once. */
  requestId: string;
  keyId: string;
  keyName: string;
  team: string;
  /** grpc | connect | grpc-web | openai */
  protocol: string;
  method: LedgerMethod;
  alias: string;
  provider: string;
  /** The upstream model that served (or was last tried). */
  model: string;
  /** The model version the provider reported. */
  modelVersion: string;
  region: string;
  attempts: LedgerAttempt[];
  usage: UsageBuckets;
  estimated: boolean;
  priced: boolean;
  costNanoUsd: bigint;
  latencyMs: number;
  /** Time to first token; undefined for unary calls and streams that produced nothing. */
  ttftMs?: number;
  /** gRPC status code name: OK, UNAVAILABLE, RESOURCE_EXHAUSTED, … */
  status: string;
  traceId: string;
  metadata: Record<string, string>;
};

/** What the caller adds to a call's audit record; the rest is taken from the ledger row. */
export type CallAudit = {
  /** SHA-256 hex of the neutral request's canonical protobuf encoding; computed from `requestBytes` when absent. */
  requestHash?: string;
  /**
   * The neutral request's canonical protobuf encoding: the store's writer hashes it (off the event
   * loop where the store has a writer thread). Absent with no `requestHash`: the hash of no bytes.
   */
  requestBytes?: Uint8Array;
  /** Captured prompt, only when capture is enabled, already redacted by the caller. */
  prompt?: string;
};

/** A call's ledger row and, when auditing, its audit record: both land in the same transaction. */
export type LedgerEntry = { row: LedgerRow; audit?: CallAudit };

export type AuditKind = "call" | "key_created" | "key_revoked" | "config_reloaded";

/** An admin action for the audit log (calls are audited through `append`). */
export type AdminAuditEvent = {
  time: number;
  kind: Exclude<AuditKind, "call">;
  /** Who acted: "admin", or an admin key's name. */
  actor: string;
  /** What was acted on, e.g. { key_id, name, team }. Never a secret. */
  detail: Record<string, string>;
  traceId?: string;
};

export type AuditRecord = {
  seq: number;
  time: number;
  kind: AuditKind;
  actor: string;
  requestId: string;
  alias: string;
  provider: string;
  model: string;
  modelVersion: string;
  region: string;
  tokens: UsageBuckets;
  costNanoUsd: bigint;
  /** gRPC status code name for calls, "OK" for admin actions. */
  outcome: string;
  traceId: string;
  requestHash: string;
  prompt?: string;
  detail: Record<string, string>;
  prevHash: string;
  hash: string;
};

/** An audit record as a JSON line: the cost as a decimal string, as protobuf JSON writes 64-bit values. */
export type AuditJsonLine = Omit<AuditRecord, "costNanoUsd"> & { costNanoUsd: string };

export type AuditVerdict = {
  ok: boolean;
  count: number;
  /** Hash of the last record (64 zeros for an empty log). */
  head: string;
  firstBroken?: { seq: number; reason: string };
};

export type UsageDimension = "team" | "key" | "alias" | "provider" | "model";
export type UsageBucketSize = "hour" | "day";

/** Filters and grouping over the rollups. Times are epoch ms, resolved to whole hours (or days). */
export type UsageQuery = {
  from?: number;
  to?: number;
  team?: string;
  keyId?: string;
  alias?: string;
  provider?: string;
  model?: string;
  groupBy?: UsageDimension[];
  bucket?: UsageBucketSize;
};

export type UsageTotals = {
  calls: number;
  errors: number;
  tokens: UsageBuckets;
  costNanoUsd: bigint;
  /** Estimated from histogram buckets; undefined when nothing was measured. */
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  ttftP50Ms?: number;
  ttftP95Ms?: number;
};

/** One group: the grouped dimensions (and bucket start) are set, the others absent. */
export type UsageGroup = UsageTotals & {
  bucketStart?: number;
  team?: string;
  keyId?: string;
  keyName?: string;
  alias?: string;
  provider?: string;
  model?: string;
};

export type UsageReport = { totals: UsageTotals; rows: UsageGroup[] };

/** Which spend to seed; absent lists mean every key / team. */
export type SpendScopes = { keyIds?: string[]; teams?: string[] };
export type WindowSpend = { day: bigint; month: bigint };
export type SpendSnapshot = {
  /** The UTC windows the figures cover, both ending now. */
  dayStart: number;
  monthStart: number;
  keys: Map<string, WindowSpend>;
  teams: Map<string, WindowSpend>;
};

export type LedgerFilter = {
  from?: number;
  to?: number;
  team?: string;
  keyId?: string;
  alias?: string;
  provider?: string;
  model?: string;
};

/** Opaque to the store: the auth layer owns the shape (models, providers, regions, limits, …). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type KeyRestrictions = { [key: string]: JsonValue };
export type KeySource = "config" | "admin";

/** A key as listed: everything but its hash. */
export type KeyInfo = {
  id: string;
  name: string;
  team: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  restrictions: KeyRestrictions;
  source: KeySource;
};

/** A key with its SHA-256 hash (hex), for authentication. The secret itself is never stored. */
export type StoredKey = KeyInfo & { hash: string };

export type NewKey = {
  name: string;
  team: string;
  hash: string;
  expiresAt?: number;
  restrictions?: KeyRestrictions;
  /** Defaults to the store's clock. */
  createdAt?: number;
};

export type StoreErrorCode =
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "closed"
  | "schema_too_new"
  /** The database refused a write (locked, disk full, …); the rows it carried are not stored. */
  | "write_failed";

/** A refusal the caller can map to a gRPC status (not_found → NOT_FOUND, …). */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

export interface Store {
  /** Queues a call's row (and audit record); resolves once their group transaction committed. */
  append(entry: LedgerEntry): Promise<void>;
  /** Queues an admin action's audit record; resolves with it once committed. */
  appendAudit(event: AdminAuditEvent): Promise<AuditRecord>;

  usage(query: UsageQuery): Promise<UsageReport>;
  /** Spend per key and per team in the current UTC day and month, in one query over the rollups. */
  spendSince(scopes?: SpendScopes): Promise<SpendSnapshot>;
  /** Raw rows in insertion order, read page by page. */
  exportLedger(filter?: LedgerFilter): AsyncIterable<LedgerRow>;
  /** Deletes raw rows older than the retention setting (rollups are kept); returns how many. */
  applyRetention(): Promise<number>;

  /** Refuses a name or hash already present (already_exists). */
  createKey(key: NewKey): Promise<KeyInfo>;
  /** Idempotent; not_found for an unknown id, failed_precondition for a config key. */
  revokeKey(id: string): Promise<KeyInfo>;
  listKeys(filter?: { team?: string }): Promise<KeyInfo[]>;
  findKeyByHash(hash: string): Promise<StoredKey | undefined>;
  /** Every key (revoked and expired included, so the cache can tell why a key fails). */
  loadKeys(): Promise<StoredKey[]>;
  /**
   * Makes the config-sourced keys exactly `keys` (matched by name): new ones are added, changed ones
   * updated, ones no longer listed revoked. already_exists when a name belongs to an admin key.
   */
  syncConfigKeys(keys: NewKey[]): Promise<void>;

  /** Whether a budget alert was already sent for this window (`budgetId` as "team:search:month"). */
  wasAlertSent(budgetId: string, windowStart: number, fraction: number): Promise<boolean>;
  /** Records a budget alert as sent; idempotent. */
  markAlertSent(budgetId: string, windowStart: number, fraction: number): Promise<void>;

  verifyAudit(options?: { expectHead?: string }): Promise<AuditVerdict>;
  exportAudit(): AsyncIterable<AuditJsonLine>;

  /** Commits what is queued, then closes. Later appends reject with `closed`. */
  close(): Promise<void>;
}
