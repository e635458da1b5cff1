// Small helpers for SQL on PostgreSQL: `?` placeholders (as the shared SQL writes them) to `$n`,
// multi-row VALUES lists within the protocol's 65,535-parameter limit, and the advisory lock ids.
import type pg from "pg";

/** Advisory lock ids (one 64-bit key space per database): fixed, so every replica agrees. */
export const LOCK = {
  /** Held for the whole of a migration run, so replicas starting together apply each version once. */
  migrate: 0x5357_4d49_0001n,
  /** Held by a write transaction from the audit head read to its COMMIT: one chain order across replicas. */
  audit: 0x5357_4155_0001n,
  /** Held while config keys are synced, so replicas loading the same file do not collide on names. */
  keys: 0x5357_4b45_0001n,
} as const;

const MAX_PARAMETERS = 65_535;

/** `?` → `$1`, `$2`, … (the shared SQL never has `?` inside literals). */
export function numbered(sql: string, offset = 0): string {
  let n = offset;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** `rows` split into chunks whose parameters fit one statement, each with its VALUES list. */
export function valuesChunks(rows: unknown[][], width: number): { values: string; parameters: unknown[] }[] {
  const perChunk = Math.max(1, Math.floor(MAX_PARAMETERS / width));
  const chunks: { values: string; parameters: unknown[] }[] = [];
  for (let start = 0; start < rows.length; start += perChunk) {
    const slice = rows.slice(start, start + perChunk);
    const tuples = slice.map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(", ")})`);
    chunks.push({ values: tuples.join(", "), parameters: slice.flat() });
  }
  return chunks;
}

/** Runs `work` in one transaction on one pooled connection. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** SQLSTATE 23505: a UNIQUE constraint refused the row. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "23505";
}
