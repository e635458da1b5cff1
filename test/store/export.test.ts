// The ledger export contract (contract/export.ts) on SQLite.
import { exportContract } from "./contract/export.js";
import { sqliteHarness } from "./harness.js";

exportContract(sqliteHarness);
