// The keys table: only hashes are stored; keys are found by hash, revoked, expire, and config keys
// follow the file.
import test from "ava";
import { hashKey, newKeySecret } from "../../server/store/key-secrets.js";
import { StoreError } from "../../server/store/store.js";
import { openTestStore, secondConnection } from "./fixtures.js";

test("new key secrets are sk-sb- plus 32 random bytes, hashed with SHA-256", (t) => {
  const secret = newKeySecret();
  t.regex(secret, /^sk-sb-[A-Za-z0-9_-]{43}$/);
  t.is(Buffer.from(secret.slice(6), "base64url").length, 32);
  t.not(newKeySecret(), secret);
  t.is(hashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256, lowercase hex");
  t.regex(hashKey(secret), /^[0-9a-f]{64}$/);
});

test("create, find by hash, list without hashes, revoke", async (t) => {
  let now = 1_000;
  const { store, path } = openTestStore(t, { now: () => now });
  const secret = newKeySecret();
  const created = await store.createKey({ name: "search-api", team: "search", hash: hashKey(secret), expiresAt: 5_000, restrictions: { models: ["chat*"], rpm: 60 } });
  t.like(created, { name: "search-api", team: "search", createdAt: 1_000, expiresAt: 5_000, source: "admin", restrictions: { models: ["chat*"], rpm: 60 } });
  t.false("hash" in created);
  t.is(created.revokedAt, undefined);

  const found = await store.findKeyByHash(hashKey(secret));
  t.is(found?.id, created.id);
  t.is(found?.hash, hashKey(secret));
  t.is(await store.findKeyByHash(hashKey("sk-sb-unknown")), undefined);

  const listed = await store.listKeys();
  t.deepEqual(listed, [created]);
  t.deepEqual(await store.listKeys({ team: "ads" }), []);

  const db = secondConnection(t, path);
  const stored = JSON.stringify(db.prepare("SELECT * FROM keys").all());
  t.false(stored.includes(secret.slice(6)), "the secret itself is nowhere in the table");

  now = 2_000;
  const revoked = await store.revokeKey(created.id);
  t.is(revoked.revokedAt, 2_000);
  now = 3_000;
  t.is((await store.revokeKey(created.id)).revokedAt, 2_000, "revoking again keeps the first time");
  t.is((await store.findKeyByHash(hashKey(secret)))?.revokedAt, 2_000, "a revoked key is still found, marked");
  const loaded = await store.loadKeys();
  t.deepEqual(loaded.map((k) => [k.name, k.hash, k.revokedAt, k.expiresAt]), [["search-api", hashKey(secret), 2_000, 5_000]]);
});

test("key names and secrets are unique; unknown ids are not found", async (t) => {
  const { store } = openTestStore(t);
  const hash = hashKey(newKeySecret());
  await store.createKey({ name: "a", team: "t", hash });
  const sameName = await t.throwsAsync(store.createKey({ name: "a", team: "t", hash: hashKey(newKeySecret()) }), { instanceOf: StoreError });
  t.is(sameName?.code, "already_exists");
  const sameHash = await t.throwsAsync(store.createKey({ name: "b", team: "t", hash }), { instanceOf: StoreError });
  t.is(sameHash?.code, "already_exists");
  t.false(sameHash?.message.includes(hash), "the refusal does not echo the hash");
  const missing = await t.throwsAsync(store.revokeKey("key_nope"), { instanceOf: StoreError });
  t.is(missing?.code, "not_found");
  await t.throwsAsync(store.createKey({ name: "c", team: "t", hash: "not-a-digest" }), { instanceOf: TypeError });
});

test("config keys follow the file and cannot be revoked at run time", async (t) => {
  let now = 10;
  const { store } = openTestStore(t, { now: () => now });
  const one = hashKey("sk-sb-one");
  const two = hashKey("sk-sb-two");
  await store.syncConfigKeys([{ name: "one", team: "search", hash: one }, { name: "two", team: "ads", hash: two }]);
  const [first] = await store.listKeys({ team: "search" });
  t.like(first, { name: "one", source: "config" });
  const refused = await t.throwsAsync(store.revokeKey(first.id), { instanceOf: StoreError });
  t.is(refused?.code, "failed_precondition");

  now = 20;
  const rotated = hashKey("sk-sb-one-rotated");
  await store.syncConfigKeys([{ name: "one", team: "search", hash: rotated, expiresAt: 99 }]);
  t.is(await store.findKeyByHash(one), undefined, "the old secret no longer matches");
  t.like(await store.findKeyByHash(rotated), { id: first.id, expiresAt: 99 });
  t.is((await store.findKeyByHash(two))?.revokedAt, 20, "a key removed from the file is revoked");

  await store.syncConfigKeys([{ name: "one", team: "search", hash: rotated }, { name: "two", team: "ads", hash: two }]);
  t.is((await store.findKeyByHash(two))?.revokedAt, undefined, "and comes back when listed again");

  await store.createKey({ name: "admin-made", team: "ads", hash: hashKey("sk-sb-admin") });
  const clash = await t.throwsAsync(store.syncConfigKeys([{ name: "admin-made", team: "ads", hash: hashKey("sk-sb-x") }]), { instanceOf: StoreError });
  t.is(clash?.code, "already_exists");
  t.truthy(await store.findKeyByHash(two), "a refused sync changes nothing");
  t.is((await store.findKeyByHash(two))?.revokedAt, undefined);
});
