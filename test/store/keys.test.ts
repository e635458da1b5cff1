// Key secrets, and the keys contract (contract/keys.ts) on SQLite.
import test from "ava";
import { hashKey, newKeySecret } from "../../server/store/key-secrets.js";
import { keysContract } from "./contract/keys.js";
import { sqliteHarness } from "./harness.js";

keysContract(sqliteHarness);

test("new key secrets are sk-sb- plus 32 random bytes, hashed with SHA-256", (t) => {
  const secret = newKeySecret();
  t.regex(secret, /^sk-sb-[A-Za-z0-9_-]{43}$/);
  t.is(Buffer.from(secret.slice(6), "base64url").length, 32);
  t.not(newKeySecret(), secret);
  t.is(hashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256, lowercase hex");
  t.regex(hashKey(secret), /^[0-9a-f]{64}$/);
});
