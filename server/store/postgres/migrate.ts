// Applies pending migrations under a session advisory lock, so replicas starting at the same time
// against one database apply each version exactly once; a schema newer than this code is refused.
import type pg from "pg";
import { StoreError } from "../store.js";
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from "./schema.js";
import { LOCK } from "./sql.js";

export type MigrationResult = { from: number; to: number };

export async function migratePostgres(pool: pg.Pool): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK.migrate]);
    try {
      await client.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)");
      const { rows } = await client.query<{ version: number | null }>("SELECT MAX(version) AS version FROM schema_version");
      const current = rows[0]?.version ?? 0;
      if (current > POSTGRES_SCHEMA_VERSION) {
        throw new StoreError(
          "schema_too_new",
          `the PostgreSQL database has schema version ${current}, newer than this gateway knows (${POSTGRES_SCHEMA_VERSION}): run a newer gateway`,
        );
      }
      for (let version = current + 1; version <= POSTGRES_SCHEMA_VERSION; version++) {
        await client.query("BEGIN");
        try {
          for (const statement of POSTGRES_MIGRATIONS[version - 1]) await client.query(statement);
          await client.query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", [version, Date.now()]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        }
      }
      return { from: current, to: POSTGRES_SCHEMA_VERSION };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK.migrate]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
