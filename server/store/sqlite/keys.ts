// The keys table: identities and their SHA-256 hashes (the secrets are never stored).
import type Database from "better-sqlite3";
import { checkHash, keyInfo as info, storedKey as stored, type KeyRow } from "../key-rows.js";
import { newKeyId } from "../key-secrets.js";
import { StoreError, type KeyInfo, type KeySource, type NewKey, type StoredKey } from "../store.js";

export class KeyTable {
  private readonly insert: Database.Statement<unknown[]>;
  private readonly byId: Database.Statement<[string], KeyRow>;
  private readonly byHash: Database.Statement<[string], KeyRow>;
  private readonly byName: Database.Statement<[string], KeyRow>;
  private readonly all: Database.Statement<[], KeyRow>;
  private readonly ofTeam: Database.Statement<[string], KeyRow>;
  private readonly revoke: Database.Statement<[number, string]>;
  private readonly updateConfig: Database.Statement<unknown[]>;
  private readonly sync: Database.Transaction<(keys: NewKey[], now: number) => void>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(
      `INSERT INTO keys (id, name, team, hash, created_at, expires_at, revoked_at, restrictions, source)
VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
    );
    this.byId = db.prepare("SELECT * FROM keys WHERE id = ?");
    this.byHash = db.prepare("SELECT * FROM keys WHERE hash = ?");
    this.byName = db.prepare("SELECT * FROM keys WHERE name = ?");
    this.all = db.prepare("SELECT * FROM keys ORDER BY created_at, name");
    this.ofTeam = db.prepare("SELECT * FROM keys WHERE team = ? ORDER BY created_at, name");
    this.revoke = db.prepare("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    this.updateConfig = db.prepare(
      "UPDATE keys SET team = ?, hash = ?, expires_at = ?, restrictions = ?, revoked_at = NULL WHERE id = ?",
    );
    this.sync = db.transaction((keys: NewKey[], now: number) => this.syncConfig(keys, now));
  }

  create(key: NewKey, source: KeySource = "admin"): KeyInfo {
    checkHash(key.hash);
    if (this.byName.get(key.name)) throw new StoreError("already_exists", `a key named "${key.name}" already exists`);
    if (this.byHash.get(key.hash)) throw new StoreError("already_exists", `another key has the same secret`);
    const id = newKeyId();
    this.insert.run(
      id, key.name, key.team, key.hash, key.createdAt ?? this.now(), key.expiresAt ?? null,
      JSON.stringify(key.restrictions ?? {}), source,
    );
    return info(this.byId.get(id)!);
  }

  revokeById(id: string): KeyInfo {
    const row = this.byId.get(id);
    if (!row) throw new StoreError("not_found", `no key with id "${id}"`);
    if (row.source === "config") {
      throw new StoreError("failed_precondition", `key "${row.name}" comes from the config file: remove it there`);
    }
    this.revoke.run(this.now(), id);
    return info(this.byId.get(id)!);
  }

  list(team?: string): KeyInfo[] {
    return (team === undefined ? this.all.all() : this.ofTeam.all(team)).map(info);
  }

  findByHash(hash: string): StoredKey | undefined {
    const row = this.byHash.get(hash);
    return row && stored(row);
  }

  load(): StoredKey[] {
    return this.all.all().map(stored);
  }

  syncConfigKeys(keys: NewKey[]): void {
    this.sync.immediate(keys, this.now());
  }

  private syncConfig(keys: NewKey[], now: number): void {
    const listed = new Set<string>();
    for (const key of keys) {
      checkHash(key.hash);
      listed.add(key.name);
      const existing = this.byName.get(key.name);
      if (!existing) {
        this.create(key, "config");
        continue;
      }
      if (existing.source !== "config") {
        throw new StoreError("already_exists", `config key "${key.name}" has the name of a key created at run time`);
      }
      const owner = this.byHash.get(key.hash);
      if (owner && owner.id !== existing.id) throw new StoreError("already_exists", `config key "${key.name}" has another key's secret`);
      this.updateConfig.run(key.team, key.hash, key.expiresAt ?? null, JSON.stringify(key.restrictions ?? {}), existing.id);
    }
    for (const row of this.all.all()) {
      if (row.source === "config" && !listed.has(row.name)) this.revoke.run(now, row.id);
    }
  }
}
