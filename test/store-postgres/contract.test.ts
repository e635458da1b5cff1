// The store contract (test/store/contract/) on PostgresStore: the same tests SQLite passes, on one
// throwaway cluster with a fresh database per test.
import test from "ava";
import pg from "pg";
import { numbered } from "../../server/store/postgres/sql.js";
import { PostgresStore } from "../../server/store/postgres/postgres-store.js";
import { auditContract } from "../store/contract/audit.js";
import { exportContract } from "../store/contract/export.js";
import { keysContract } from "../store/contract/keys.js";
import { rollupsContract } from "../store/contract/rollups.js";
import { spendRetentionContract } from "../store/contract/spend-retention.js";
import type { StoreHarness } from "../store/harness.js";
import { startPostgres, type PostgresCluster } from "../helpers/postgres.js";

let cluster: PostgresCluster;
test.before(async () => {
  cluster = await startPostgres();
});
test.after.always(async () => {
  await cluster?.stop();
});

const postgresHarness: StoreHarness = {
  name: "postgres",
  async open(t, options = {}) {
    const url = await cluster.createDatabase();
    const open = async () => {
      const store = await PostgresStore.open({ url, ...options });
      t.teardown(() => store.close());
      return store;
    };
    const store = await open();
    let pool: pg.Pool | undefined;
    return {
      store,
      async sql(statement, parameters = []) {
        if (!pool) {
          const created = new pg.Pool({ connectionString: url, max: 1 });
          // An idle client the cluster's shutdown terminates must not crash the test process.
          created.on("error", () => {});
          t.teardown(() => created.end());
          pool = created;
        }
        return (await pool.query<Record<string, unknown>>(numbered(statement), parameters)).rows;
      },
      reopen: open,
    };
  },
  dropAuditGuards: ["DROP TRIGGER audit_no_update ON audit"],
};

auditContract(postgresHarness);
exportContract(postgresHarness);
keysContract(postgresHarness);
rollupsContract(postgresHarness);
spendRetentionContract(postgresHarness);
