// The audit contract (contract/audit.ts) on SQLite, and SQLite's append-only triggers.
import test from "ava";
import { auditContract } from "./contract/audit.js";
import { openTestStore, secondConnection } from "./fixtures.js";
import { sqliteHarness } from "./harness.js";

auditContract(sqliteHarness);

test("the audit table refuses updates and deletes from code", async (t) => {
  const { store, path } = openTestStore(t);
  await store.appendAudit({ time: 1, kind: "config_reloaded", actor: "admin", detail: {} });
  const db = secondConnection(t, path);
  t.throws(() => db.prepare("UPDATE audit SET actor = 'x'").run(), { any: true, message: /append-only/ });
  t.throws(() => db.prepare("DELETE FROM audit").run(), { any: true, message: /append-only/ });
});
