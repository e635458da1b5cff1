// The spend and retention contract (contract/spend-retention.ts) on SQLite.
import { spendRetentionContract } from "./contract/spend-retention.js";
import { sqliteHarness } from "./harness.js";

spendRetentionContract(sqliteHarness);
