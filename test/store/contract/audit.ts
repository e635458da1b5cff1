// The audit log's hash chain, for every store: it verifies as written, and tampering through a
// second connection (edit, delete, swap, truncate) is detected and names the first broken record.
import { createHash } from "node:crypto";
import type { ExecutionContext } from "ava";
import test from "ava";
import { GENESIS_HASH, auditHash } from "../../../server/store/audit-chain.js";
import type { AuditRecord, Store } from "../../../server/store/store.js";
import { ledgerRow } from "../fixtures.js";
import type { StoreHarness } from "../harness.js";

const requestHash = (i: number) => i.toString(16).padStart(64, "0");

async function records(store: Store): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const line of store.exportAudit()) all.push({ ...line, costNanoUsd: BigInt(line.costNanoUsd) });
  return all;
}

export function auditContract(h: StoreHarness): void {
  /** A store with 8 audited calls and 2 admin actions (seq 1…10), and a tamperer's connection. */
  async function auditedStore(t: ExecutionContext) {
    const opened = await h.open(t);
    const { store } = opened;
    const rows = Array.from({ length: 8 }, (_, i) => ledgerRow({ time: 1_000 + i, costNanoUsd: BigInt(i) * 1_000n }));
    await Promise.all(rows.slice(0, 4).map((row, i) => store.append({ row, audit: { requestHash: requestHash(i) } })));
    await store.appendAudit({ time: 2_000, kind: "key_created", actor: "admin", detail: { key_id: "key_1", name: "n", team: "t" } });
    await Promise.all(rows.slice(4).map((row, i) => store.append({ row, audit: { requestHash: requestHash(i + 4), prompt: "[redacted] hi" } })));
    await store.appendAudit({ time: 3_000, kind: "config_reloaded", actor: "admin", detail: {} });
    // An attacker with the database can drop the append-only guard; only the chain then tells.
    for (const statement of h.dropAuditGuards) await opened.sql(statement);
    return { ...opened, rows };
  }

  test(`${h.name}: request-hash-is-computed-from-the-bytes-by-the-writer`, async (t) => {
    const { store } = await h.open(t);
    const bytes = new Uint8Array([8, 1, 18, 4, 99, 104, 97, 116]);
    // A view into a larger pooled buffer, as a Buffer slice would be: only its own bytes are hashed.
    const pooled = Buffer.alloc(4096, 7);
    pooled.set(bytes, 100);
    const rows = [ledgerRow({ time: 1 }), ledgerRow({ time: 2 }), ledgerRow({ time: 3 })];
    await Promise.all([
      store.append({ row: rows[0], audit: { requestBytes: bytes } }),
      store.append({ row: rows[1], audit: { requestBytes: pooled.subarray(100, 100 + bytes.length) } }),
      store.append({ row: rows[2], audit: {} }),
    ]);
    const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
    const all = await records(store);
    t.deepEqual(
      rows.map((row) => all.find((r) => r.requestId === row.requestId)?.requestHash),
      [sha256(bytes), sha256(bytes), sha256(new Uint8Array())],
      "sha256 hex of the request's bytes, as the ledger step computed it before",
    );
  });

  test(`${h.name}: audit-chain-verifies-as-written`, async (t) => {
    const { store, rows } = await auditedStore(t);
    const all = await records(store);
    t.deepEqual(all.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.deepEqual(all.map((r) => r.kind), ["call", "call", "call", "call", "key_created", "call", "call", "call", "call", "config_reloaded"]);
    let prev = GENESIS_HASH;
    for (const record of all) {
      t.is(record.prevHash, prev);
      t.is(record.hash, auditHash(prev, record));
      prev = record.hash;
    }
    const verdict = await store.verifyAudit();
    t.deepEqual(verdict, { ok: true, count: 10, head: all[9].hash });

    const call = all.find((r) => r.requestId === rows[5].requestId)!;
    t.like(call, {
      actor: rows[5].keyName, alias: "chat", provider: "openai-main", model: "gpt-4o", modelVersion: "gpt-4o-2024-08-06",
      region: "us-east-1", tokens: rows[5].usage, costNanoUsd: 5_000n, outcome: "OK", traceId: rows[5].traceId,
      requestHash: requestHash(5), prompt: "[redacted] hi",
    });
    t.false("prompt" in all[0], "no prompt unless one was captured");
    t.deepEqual(all[4].detail, { key_id: "key_1", name: "n", team: "t" });
    const line = JSON.parse(JSON.stringify((await store.exportAudit()[Symbol.asyncIterator]().next()).value)) as { costNanoUsd: string };
    t.is(typeof line.costNanoUsd, "string", "export lines are JSON-ready: 64-bit cost as a decimal string");
  });

  test(`${h.name}: audit-verify-names-an-edited-record`, async (t) => {
    const { store, sql } = await auditedStore(t);
    await sql("UPDATE audit SET cost_nano = 0 WHERE seq = 6");
    t.like(await store.verifyAudit(), { ok: false, count: 5, firstBroken: { seq: 6, reason: "hash does not match the record's contents (edited)" } });
  });

  test(`${h.name}: audit-verify-catches-an-edit-whose-hash-was-recomputed`, async (t) => {
    const { store, sql } = await auditedStore(t);
    const [seventh] = (await records(store)).filter((r) => r.seq === 7);
    const forged = { ...seventh, outcome: "UNAVAILABLE" };
    await sql("UPDATE audit SET outcome = ?, hash = ? WHERE seq = 7", [forged.outcome, auditHash(seventh.prevHash, forged)]);
    const verdict = await store.verifyAudit();
    t.like(verdict, { ok: false, count: 7, firstBroken: { seq: 8 } });
    t.regex(verdict.firstBroken?.reason ?? "", /prev_hash does not match/);
  });

  test(`${h.name}: audit-verify-names-the-record-after-a-deleted-one`, async (t) => {
    const { store, sql } = await auditedStore(t);
    await sql("DELETE FROM audit WHERE seq = 4");
    t.like(await store.verifyAudit(), { ok: false, count: 3, firstBroken: { seq: 5, reason: "record 4 missing before it" } });
  });

  test(`${h.name}: audit-verify-names-the-first-of-two-swapped-records`, async (t) => {
    const { store, sql } = await auditedStore(t);
    for (const statement of ["UPDATE audit SET seq = -3 WHERE seq = 3", "UPDATE audit SET seq = 3 WHERE seq = 4", "UPDATE audit SET seq = 4 WHERE seq = -3"]) {
      await sql(statement);
    }
    t.like(await store.verifyAudit(), { ok: false, count: 2, firstBroken: { seq: 3 } });
  });

  test(`${h.name}: audit-expect-head-detects-truncation-of-the-tail`, async (t) => {
    const { store, sql } = await auditedStore(t);
    const { head } = await store.verifyAudit();
    await store.append({ row: ledgerRow(), audit: { requestHash: requestHash(99) } });
    t.like(await store.verifyAudit({ expectHead: head }), { ok: true, count: 11 }, "a head recorded earlier is still in a chain that grew");

    await sql("DELETE FROM audit WHERE seq >= 9");
    const plain = await store.verifyAudit();
    t.like(plain, { ok: true, count: 8 }, "without a recorded head a clean cut of the tail looks whole");
    const verdict = await store.verifyAudit({ expectHead: head });
    t.like(verdict, { ok: false, count: 8, head: plain.head, firstBroken: { seq: 9 } });
    t.regex(verdict.firstBroken?.reason ?? "", new RegExp(`expected head ${head} is not in the chain`));
  });

  test(`${h.name}: the chain continues across a restart`, async (t) => {
    const { store, reopen } = await h.open(t);
    await store.appendAudit({ time: 1, kind: "config_reloaded", actor: "admin", detail: {} });
    await store.close();
    const reopened = await reopen();
    const record = await reopened.appendAudit({ time: 2, kind: "key_revoked", actor: "ops-admin", detail: { key_id: "k" } });
    t.is(record.seq, 2);
    t.deepEqual(await reopened.verifyAudit(), { ok: true, count: 2, head: record.hash });
  });

  test(`${h.name}: an empty audit log verifies with the genesis head`, async (t) => {
    const { store } = await h.open(t);
    t.deepEqual(await store.verifyAudit(), { ok: true, count: 0, head: GENESIS_HASH });
    t.like(await store.verifyAudit({ expectHead: "f".repeat(64) }), { ok: false, firstBroken: { seq: 1 } });
  });
}
