// The keys table on PostgreSQL: identities and their SHA-256 hashes (the secrets are never stored).
// Uniqueness is the database's (UNIQUE name and hash), so two replicas creating the same name race
// safely: one wins, the other gets already_exists.
import type pg from "pg";
import { checkHash, keyInfo, storedKey, type KeyRow } from "../key-rows.js";
import { newKeyId } from "../key-secrets.js";
import { StoreError, type KeyInfo, type KeySource, type NewKey, type StoredKey } from "../store.js";
import { LOCK, inTransaction, isUniqueViolation } from "./sql.js";

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

const ALL = "SELECT * FROM keys ORDER BY created_at, name";

export class PostgresKeyTable {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {}

  create(key: NewKey): Promise<KeyInfo> {
    return insertKey(this.pool, key, "admin", this.now());
  }

  async revokeById(id: string): Promise<KeyInfo> {
    const row = await one(this.pool, "SELECT * FROM keys WHERE id = $1", [id]);
    if (!row) throw new StoreError("not_found", `no key with id "${id}"`);
    if (row.source === "config") {
      throw new StoreError("failed_precondition", `key "${row.name}" comes from the config file: remove it there`);
    }
    const revoked = await one(
      this.pool,
      "UPDATE keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING *",
      [this.now(), id],
    );
    return keyInfo(revoked ?? row);
  }

  async list(team?: string): Promise<KeyInfo[]> {
    const { rows } = team === undefined
      ? await this.pool.query<KeyRow>(ALL)
      : await this.pool.query<KeyRow>("SELECT * FROM keys WHERE team = $1 ORDER BY created_at, name", [team]);
    return rows.map(keyInfo);
  }

  async findByHash(hash: string): Promise<StoredKey | undefined> {
    const row = await one(this.pool, "SELECT * FROM keys WHERE hash = $1", [hash]);
    return row && storedKey(row);
  }

  async load(): Promise<StoredKey[]> {
    return (await this.pool.query<KeyRow>(ALL)).rows.map(storedKey);
  }

  /** One transaction under an advisory lock: replicas loading the same file apply it one after another. */
  syncConfigKeys(keys: NewKey[]): Promise<void> {
    for (const key of keys) checkHash(key.hash);
    const now = this.now();
    return inTransaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK.keys]);
      const listed = new Set<string>();
      for (const key of keys) {
        listed.add(key.name);
        const existing = await one(client, "SELECT * FROM keys WHERE name = $1", [key.name]);
        if (!existing) {
          await insertKey(client, key, "config", now);
          continue;
        }
        if (existing.source !== "config") {
          throw new StoreError("already_exists", `config key "${key.name}" has the name of a key created at run time`);
        }
        const owner = await one(client, "SELECT * FROM keys WHERE hash = $1", [key.hash]);
        if (owner && owner.id !== existing.id) throw new StoreError("already_exists", `config key "${key.name}" has another key's secret`);
        await client.query(
          "UPDATE keys SET team = $1, hash = $2, expires_at = $3, restrictions = $4, revoked_at = NULL WHERE id = $5",
          [key.team, key.hash, key.expiresAt ?? null, JSON.stringify(key.restrictions ?? {}), existing.id],
        );
      }
      const config = await client.query<KeyRow>("SELECT * FROM keys WHERE source = 'config' AND revoked_at IS NULL");
      for (const row of config.rows) {
        if (!listed.has(row.name)) await client.query("UPDATE keys SET revoked_at = $1 WHERE id = $2", [now, row.id]);
      }
    });
  }
}

async function one(db: Queryable, sql: string, parameters: unknown[]): Promise<KeyRow | undefined> {
  return (await db.query<KeyRow>(sql, parameters)).rows[0];
}

async function insertKey(db: Queryable, key: NewKey, source: KeySource, now: number): Promise<KeyInfo> {
  checkHash(key.hash);
  try {
    const row = await one(
      db,
      `INSERT INTO keys (id, name, team, hash, created_at, expires_at, revoked_at, restrictions, source)
VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8) RETURNING *`,
      [newKeyId(), key.name, key.team, key.hash, key.createdAt ?? now, key.expiresAt ?? null, JSON.stringify(key.restrictions ?? {}), source],
    );
    return keyInfo(row!);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // The constraint names which: never echo the hash itself.
    const constraint = (error as { constraint?: string }).constraint ?? "";
    throw new StoreError(
      "already_exists",
      constraint.includes("hash") ? "another key has the same secret" : `a key named "${key.name}" already exists`,
    );
  }
}
