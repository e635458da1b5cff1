// switchboard migrate --config FILE: brings the configured store's schema to the version this
// gateway knows (start-up does the same), prints the version and exits. The database itself (for
// PostgreSQL) is created by the operator.
import pg from "pg";
import type { GatewayConfig } from "../config/schema.js";
import { migratePostgres } from "../store/postgres/migrate.js";
import { DEFAULT_SQLITE_PATH, openDatabase, schemaVersion } from "../store/sqlite/open.js";

export async function migrateStore(config: GatewayConfig): Promise<string> {
  const { postgres, sqlite } = config.store;
  if (postgres) {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
    try {
      const { from, to } = await migratePostgres(pool);
      return from === to ? `postgres: schema version ${to} (up to date)` : `postgres: schema version ${to} (migrated from ${from})`;
    } finally {
      await pool.end();
    }
  }
  const path = sqlite?.path ?? DEFAULT_SQLITE_PATH;
  const db = openDatabase(path);
  try {
    return `sqlite ${path}: schema version ${schemaVersion(db)}`;
  } finally {
    db.close();
  }
}
