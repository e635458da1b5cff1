// The keys table, for every store: only hashes are stored; keys are found by hash, revoked,
// expire, and config keys follow the file.
import test from "ava";
import { hashKey, newKeySecret } from "../../../server/store/key-secrets.js";
import { StoreError } from "../../../server/store/store.js";
import type { StoreHarness } from "../harness.js";

export function keysContract(h: StoreHarness): void {
  test(`${h.name}: create, find by hash, list without hashes, revoke`, async (t) => {
    let now = 1_000;
    const { store, sql } = await h.open(t, { now: () => now });
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

    const stored = JSON.stringify(await sql("SELECT * FROM keys"));
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

  test(`${h.name}: key names and secrets are unique; unknown ids are not found`, async (t) => {
    const { store } = await h.open(t);
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

  test(`${h.name}: config keys follow the file and cannot be revoked at run time`, async (t) => {
    let now = 10;
    const { store } = await h.open(t, { now: () => now });
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
}
