// Opens the database file: directory created, WAL with synchronous=NORMAL (a committed
// transaction survives a process crash), and the schema migrated to the version this code knows.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { StoreError } from "../store.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

export const DEFAULT_SQLITE_PATH = "data/switchboard.db";

export function openDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    setConnectionPragmas(db);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Another connection to a file `openDatabase` already migrated, for the writer thread: the same
 * durability (synchronous is per connection), no automatic checkpoints (the checkpoint thread
 * runs them, PASSIVE), and a busy timeout for the rare writes of the main thread's connection.
 */
export function openWriterConnection(path: string): Database.Database {
  const db = new Database(path, { fileMustExist: true });
  try {
    setConnectionPragmas(db);
    db.pragma("wal_autocheckpoint = 0");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** What every connection to the file sets: these pragmas are per connection. */
function setConnectionPragmas(db: Database.Database): void {
  db.pragma("synchronous = NORMAL");
  // Writes wait for the other connection's transaction (a group commit takes milliseconds), never
  // long: on the main thread's connection (keys, alerts, retention, small batches) that wait blocks
  // the event loop.
  db.pragma("busy_timeout = 1000");
  // After a checkpoint the WAL is reused from its start; this caps the file it leaves behind.
  db.pragma("journal_size_limit = 67108864");
}

export function schemaVersion(db: Database.Database): number {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL) STRICT");
  const row = db.prepare("SELECT MAX(version) AS version FROM schema_version").get() as { version: number | null };
  return row.version ?? 0;
}

function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const current = schemaVersion(db);
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        "schema_too_new",
        `the database ${db.name} has schema version ${current}, newer than this gateway knows (${SCHEMA_VERSION}): run a newer gateway`,
      );
    }
    const record = db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)");
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version - 1]) db.exec(statement);
      record.run(version, Date.now());
    }
  });
  apply.immediate();
}
