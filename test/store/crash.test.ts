// A process killed with SIGKILL right after its appends resolved loses none of those rows: the
// promise means committed (WAL, synchronous=NORMAL survives a process crash).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { SqliteStore } from "../../server/store/sqlite/sqlite-store.js";
import { tempDir } from "./fixtures.js";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

test("sigkill-after-committed-loses-no-row", async (t) => {
  const path = join(tempDir(t), "switchboard.db");
  const count = 1000;
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, path, String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => child.kill("SIGKILL"));
  const exited = once(child, "exit");
  let output = "";
  for await (const chunk of child.stdout) {
    output += String(chunk);
    if (output.includes("\n")) break;
  }
  child.kill("SIGKILL");
  const [code, signal] = await exited;
  t.is(output, `committed ${count}\n`);
  t.deepEqual([code, signal], [null, "SIGKILL"]);

  const store = new SqliteStore({ path });
  t.teardown(() => store.close());
  const committed = new Set<string>();
  let total = 0;
  for await (const row of store.exportLedger()) {
    total++;
    if (row.requestId.startsWith("committed-")) committed.add(row.requestId);
  }
  t.is(committed.size, count, "every row the child saw committed is there");
  const verdict = await store.verifyAudit();
  t.true(verdict.ok, "the audit chain is whole after the crash");
  t.is(verdict.count, total, "one audit record per stored row, none torn");
  t.is((await store.usage({})).totals.calls, total, "rollups committed with their rows");
});
