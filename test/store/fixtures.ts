// Shared pieces for the store tests: a fresh SQLite file per test, ledger rows, and seeded row sets.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionContext } from "ava";
import Database from "better-sqlite3";
import { SqliteStore, type SqliteStoreOptions } from "../../server/store/sqlite/sqlite-store.js";
import type { LedgerRow } from "../../server/store/store.js";
import { seededRandom } from "../fakes/script.js";

/** A directory removed when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-store-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A store on a fresh file (closed when the test ends) and that file's path. */
export function openTestStore(t: ExecutionContext, options: SqliteStoreOptions = {}): { store: SqliteStore; path: string } {
  const path = options.path ?? join(tempDir(t), "nested", "switchboard.db");
  const store = new SqliteStore({ ...options, path });
  t.teardown(() => store.close());
  return { store, path };
}

/**
 * As openTestStore, once its writer thread runs, and with every batch (one row too) sent there:
 * group commits then take the thread's path, not the inline one of start-up and small batches.
 */
export async function openThreadedStore(t: ExecutionContext, options: SqliteStoreOptions = {}): Promise<{ store: SqliteStore; path: string }> {
  const opened = openTestStore(t, { threadedBatchMin: 1, ...options });
  if (!(await opened.store.writerThreadReady())) throw new Error("the store's writer thread did not start");
  return opened;
}

/** A second, independent connection to the same file: what another process would see. */
export function secondConnection(t: ExecutionContext, path: string): Database.Database {
  const db = new Database(path);
  t.teardown(() => db.close());
  return db;
}

let counter = 0;

export function ledgerRow(overrides: Partial<LedgerRow> = {}): LedgerRow {
  counter++;
  return {
    time: Date.UTC(2026, 11, 1, 12, 0, 0),
    requestId: `req-${process.pid}-${counter}`,
    keyId: "key_a",
    keyName: "search-api",
    team: "search",
    protocol: "grpc",
    method: "complete",
    alias: "chat",
    provider: "openai-main",
    model: "gpt-4o",
    modelVersion: "gpt-4o-2024-08-06",
    region: "us-east-1",
    attempts: [{ provider: "openai-main", model: "gpt-4o", outcome: "OK", durationMs: 42, costNanoUsd: 1_500n }],
    usage: { uncachedInput: 100, cacheRead: 20, cacheWrite: 0, output: 50, reasoning: 10 },
    estimated: false,
    priced: true,
    costNanoUsd: 1_500n,
    latencyMs: 42,
    status: "OK",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    metadata: { tier: "free" },
    ...overrides,
  };
}

const TEAMS = ["search", "ads", "support"];
const KEYS: Record<string, string[]> = { search: ["key_s1", "key_s2"], ads: ["key_a1"], support: ["key_p1", "key_p2"] };
const ROUTES = [
  { alias: "chat", provider: "openai-main", model: "gpt-4o" },
  { alias: "chat", provider: "claude", model: "claude-sonnet-4-5" },
  { alias: "embed", provider: "openai-main", model: "text-embedding-3-small" },
  { alias: "chat-cheap", provider: "gemini", model: "gemini-2.5-flash" },
];
const STATUSES = ["OK", "OK", "OK", "OK", "UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"];

/** `count` varied rows over `days` days from `start`, the same for the same seed. */
export function seededRows(seed: number, count: number, start: number, days: number): LedgerRow[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const int = (max: number) => Math.floor(random() * max);
  const rows: LedgerRow[] = [];
  for (let i = 0; i < count; i++) {
    const team = pick(TEAMS);
    const keyId = pick(KEYS[team]);
    const route = pick(ROUTES);
    const output = int(2000);
    const stream = random() < 0.5;
    rows.push(
      ledgerRow({
        time: start + int(days * 86_400_000),
        requestId: `seed-${seed}-${i}`,
        team,
        keyId,
        keyName: `name-of-${keyId}`,
        method: stream ? "stream_complete" : "complete",
        ...route,
        usage: { uncachedInput: int(5000), cacheRead: int(1000), cacheWrite: int(300), output, reasoning: int(output + 1) },
        costNanoUsd: BigInt(int(1_000_000_000)) * 1_000n + BigInt(int(1000)),
        latencyMs: Math.round(random() ** 3 * 70_000 * 10) / 10,
        ...(stream ? { ttftMs: Math.round(random() ** 2 * 5_000) } : {}),
        status: pick(STATUSES),
      }),
    );
  }
  return rows;
}
