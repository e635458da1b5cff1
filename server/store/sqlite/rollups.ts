// The rollup upserts on SQLite: one prepared statement per table, run once per accumulated rollup.
import type Database from "better-sqlite3";
import { ROLLUP_COLUMNS, rollupUpsertSql, type RollupBatch } from "../rollup-batch.js";

export { DAY_MS, HOUR_MS, RollupBatch } from "../rollup-batch.js";

export type RollupStatements = { rollup_hour: Database.Statement<unknown[]>; rollup_day: Database.Statement<unknown[]> };

export function prepareRollupStatements(db: Database.Database): RollupStatements {
  const values = `(${ROLLUP_COLUMNS.map(() => "?").join(", ")})`;
  return { rollup_hour: db.prepare(rollupUpsertSql("rollup_hour", values)), rollup_day: db.prepare(rollupUpsertSql("rollup_day", values)) };
}

export function writeRollups(batch: RollupBatch, statements: RollupStatements): void {
  for (const { table, rows } of batch.parameters()) for (const row of rows) statements[table].run(row);
}
