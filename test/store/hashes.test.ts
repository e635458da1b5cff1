// The two stored hashes, computed independently with createHash: an audit record's hash is
// SHA-256(prev_hash ‖ canonical JSON), a key's is SHA-256(secret) in hex — the formats an external
// verifier and existing databases rely on, whichever crypto call the gateway makes.
import { createHash } from "node:crypto";
import test from "ava";
import { GENESIS_HASH, auditHash, canonicalAuditJson, type UnchainedAuditRecord } from "../../server/store/audit-chain.js";
import { hashKey, newKeySecret } from "../../server/store/key-secrets.js";

const record: UnchainedAuditRecord = {
  seq: 7,
  time: Date.UTC(2026, 11, 1, 12, 0, 0),
  kind: "call",
  actor: "search-api",
  requestId: "req-1",
  alias: "chat",
  provider: "openai",
  model: "gpt-4o-mini",
  modelVersion: "gpt-4o-mini-2024-07-18",
  region: "",
  tokens: { uncachedInput: 10, cacheRead: 2, cacheWrite: 0, output: 5, reasoning: 0 },
  costNanoUsd: 12_345_678_901_234n,
  outcome: "OK",
  traceId: "0af7651916cd43dd8448eb211c80319c",
  requestHash: "ab".repeat(32),
  prompt: "user: café 👍 模型",
  detail: { b: "2", a: "1" },
};

test("audit-hash-is-sha256-of-the-previous-hash-then-the-canonical-json", (t) => {
  for (const prev of [GENESIS_HASH, "f".repeat(64)]) {
    const expected = createHash("sha256").update(prev).update(canonicalAuditJson(record)).digest("hex");
    t.is(auditHash(prev, record), expected);
  }
});

test("key-hash-is-the-hex-sha256-of-the-secret", (t) => {
  for (const secret of [newKeySecret(), "sk-sb-ünïcode-secret"]) {
    t.is(hashKey(secret), createHash("sha256").update(secret, "utf8").digest("hex"));
  }
});
