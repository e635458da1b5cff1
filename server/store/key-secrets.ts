// Virtual key secrets: generated once, shown once, stored only as their SHA-256.
import { hash, randomBytes } from "node:crypto";

export const KEY_SECRET_PREFIX = "sk-sb-";

/** `sk-sb-` + 32 random bytes as base64url (256 bits: a plain SHA-256 cannot be brute-forced). */
export function newKeySecret(): string {
  return KEY_SECRET_PREFIX + randomBytes(32).toString("base64url");
}

/** SHA-256 of the secret, lowercase hex: the only form a key is stored or looked up in. */
export function hashKey(secret: string): string {
  // One-shot hash(): half the cost of createHash().update().digest() for a short input on Node 20.
  return hash("sha256", secret, "hex");
}

export function newKeyId(): string {
  return "key_" + randomBytes(12).toString("base64url");
}
