// `store:` takes exactly one of sqlite or postgres; mistakes name the field's path.
import test from "ava";
import { ConfigError, validateConfig } from "../../server/config/load.js";

const base = {
  providers: { upstream: { type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-test-config-00000" } },
  models: { chat: { targets: [{ provider: "upstream", model: "gpt-4o-mini" }] } },
};

function problems(store: unknown): string[] {
  try {
    validateConfig({ ...base, store }, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("store-takes-sqlite-or-postgres-not-both", (t) => {
  t.deepEqual(problems({ sqlite: { path: "a.db" }, postgres: { url: "postgres://db/x" } }), [
    "store.postgres: set store.sqlite or store.postgres, not both",
  ]);
  t.deepEqual(problems({ postgres: { url: "mysql://db/x" } }), ["store.postgres.url: must be a postgres:// or postgresql:// URL"]);
  t.deepEqual(problems({ postgres: { url: "postgres://db/x", pool: 3 } }).length, 1);
  t.deepEqual(problems({ postgres: { url: "postgresql://u@db:5432/x", max_connections: 4 } }), []);
});

test("store-defaults-to-sqlite-and-postgres-has-no-sqlite-path", (t) => {
  t.deepEqual(validateConfig(base, "test").store, { sqlite: { path: "data/switchboard.db" } });
  t.deepEqual(validateConfig({ ...base, store: { retention_days: 30 } }, "test").store, { retention_days: 30, sqlite: { path: "data/switchboard.db" } });
  t.deepEqual(validateConfig({ ...base, store: { postgres: { url: "postgres://db/x" } } }, "test").store, { postgres: { url: "postgres://db/x" } });
});
