// The keys table's rows as every store reads them (times may come back as decimal strings).
import type { KeyInfo, KeyRestrictions, KeySource, StoredKey } from "./store.js";

export type KeyRow = {
  id: string;
  name: string;
  team: string;
  hash: string;
  created_at: number | string;
  expires_at: number | string | null;
  revoked_at: number | string | null;
  restrictions: string;
  source: KeySource;
};

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function checkHash(hash: string): void {
  if (!HEX_SHA256.test(hash)) throw new TypeError("a key hash must be a lowercase hex SHA-256 digest");
}

export function keyInfo(row: KeyRow): KeyInfo {
  const key: KeyInfo = {
    id: row.id,
    name: row.name,
    team: row.team,
    createdAt: Number(row.created_at),
    restrictions: JSON.parse(row.restrictions) as KeyRestrictions,
    source: row.source,
  };
  if (row.expires_at !== null) key.expiresAt = Number(row.expires_at);
  if (row.revoked_at !== null) key.revokedAt = Number(row.revoked_at);
  return key;
}

export function storedKey(row: KeyRow): StoredKey {
  return { ...keyInfo(row), hash: row.hash };
}
