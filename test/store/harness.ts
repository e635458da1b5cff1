// What the store contract tests (test/store/contract/) need from a store implementation: a fresh
// store per test, raw SQL on a second connection (what another process, or a tamperer, sees) and
// a reopened store on the same database.
import type { ExecutionContext } from "ava";
import type { Store } from "../../server/store/store.js";
import { SqliteStore } from "../../server/store/sqlite/sqlite-store.js";
import { openThreadedStore, secondConnection } from "./fixtures.js";

export type StoreOptions = { now?: () => number; retentionDays?: number; retentionIntervalMs?: number };

export type OpenedStore = {
  store: Store;
  /** One statement with `?` placeholders, on a second connection; the rows it returns. */
  sql(statement: string, parameters?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Another store on the same database (closed when the test ends). */
  reopen(): Promise<Store>;
};

export type StoreHarness = {
  name: string;
  open(t: ExecutionContext, options?: StoreOptions): Promise<OpenedStore>;
  /** Statements an attacker with database access runs to lift the audit table's append-only guard. */
  dropAuditGuards: string[];
};

export const sqliteHarness: StoreHarness = {
  name: "sqlite",
  async open(t, options = {}) {
    const { store, path } = await openThreadedStore(t, options);
    let db: ReturnType<typeof secondConnection> | undefined;
    return {
      store,
      async sql(statement, parameters = []) {
        db ??= secondConnection(t, path);
        const prepared = db.prepare(statement);
        if (prepared.reader) return prepared.all(...parameters) as Record<string, unknown>[];
        prepared.run(...parameters);
        return [];
      },
      async reopen() {
        const reopened = new SqliteStore({ path, ...options });
        t.teardown(() => reopened.close());
        return reopened;
      },
    };
  },
  dropAuditGuards: ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"],
};
