// Usage and spend on SQLite: the shared rollup queries (../usage-query.ts), run synchronously.
import type Database from "better-sqlite3";
import type { SpendScopes, SpendSnapshot, UsageQuery, UsageReport } from "../store.js";
import { SPEND_SQL, spendParameters, spendSnapshot, usageSql, type SpendRow, type SummedRow } from "../usage-query.js";

export function queryUsage(db: Database.Database, query: UsageQuery): UsageReport {
  const { sql, parameters, fold } = usageSql(query);
  return fold(db.prepare(sql).all(...parameters) as SummedRow[]);
}

export function prepareSpendQuery(db: Database.Database): (now: number, scopes?: SpendScopes) => SpendSnapshot {
  const statement = db.prepare<[number, number, number], SpendRow>(SPEND_SQL);
  return (now, scopes) => spendSnapshot(statement.all(...spendParameters(now)), now, scopes);
}
