// What the request id's shape costs the SQLite store: ledger rows with their audit records appended
// through the real store (group commits of --batch rows, the WAL checkpointed by its worker thread),
// once with random version-4 ids and once with the gateway's time-ordered version-7 ids, alternating.
// Reports the event loop's time per row (the commit runs on it) and the process's CPU per row (the
// checkpoint thread included).
//   npm run bench:request-ids [-- --rows 100000 --batch 21 --rounds 2]
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { newRequestId } from "../server/core/request-id.js";
import { SqliteStore } from "../server/store/sqlite/sqlite-store.js";
import type { LedgerRow } from "../server/store/store.js";

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" }, batch: { type: "string", default: "21" }, rounds: { type: "string", default: "2" } } });
const rows = Number(values.rows);
const batch = Number(values.batch);

function row(requestId: string): LedgerRow {
  return {
    time: Date.now(), requestId, keyId: "key_bench", keyName: "bench", team: "bench", protocol: "grpc", method: "complete",
    alias: "chat-default", provider: "fake", model: "gpt-4o-mini", modelVersion: "gpt-4o-mini-2024-07-18", region: "",
    attempts: [{ provider: "fake", model: "gpt-4o-mini", outcome: "OK", durationMs: 1.2, costNanoUsd: 4_350n }],
    usage: { uncachedInput: 12, cacheRead: 0, cacheWrite: 0, output: 9, reasoning: 0 },
    estimated: false, priced: true, costNanoUsd: 4_350n, latencyMs: 1.4, status: "OK", traceId: "4bf92f3577b34da6a3ce929d0e0e4736", metadata: {},
  };
}

async function run(makeId: () => string): Promise<{ loopUs: number; cpuUs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-request-ids-"));
  const store = new SqliteStore({ path: join(dir, "bench.db") });
  try {
    const write = async (count: number) => {
      for (let done = 0; done < count; done += batch) {
        const pending = [];
        for (let i = 0; i < batch; i++) pending.push(store.append({ row: row(makeId()), audit: { requestHash: "ab".repeat(32) } }));
        await Promise.all(pending);
      }
    };
    await write(rows); // a table already holding `rows` rows, as a gateway's has
    const cpu = process.cpuUsage();
    const start = performance.now();
    await write(rows);
    const wallUs = (performance.now() - start) * 1000;
    const used = process.cpuUsage(cpu);
    return { loopUs: wallUs / rows, cpuUs: (used.user + used.system) / rows };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const kinds = { "version 4 (random)": () => randomUUID(), "version 7 (time-ordered)": () => newRequestId() };
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const [name, makeId] of Object.entries(kinds)) {
    const { loopUs, cpuUs } = await run(makeId);
    console.log(`round ${round}, ${name}: ${loopUs.toFixed(1)} µs per row on the event loop, ${cpuUs.toFixed(1)} µs CPU per row (all threads)`);
  }
}
