// Child process for the crash test: appends rows, awaits their commit, says so, then keeps writing
// until the parent kills it with SIGKILL.
import { SqliteStore } from "../../server/store/sqlite/sqlite-store.js";
import { ledgerRow } from "./fixtures.js";

const [path, countText] = process.argv.slice(2);
const count = Number(countText);
const store = new SqliteStore({ path, threadedBatchMin: 1 });
// Every batch below goes through the writer thread, not the inline writes of its start-up.
if (!(await store.writerThreadReady())) throw new Error("the store's writer thread did not start");

const batch = (prefix: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      store.append({ row: ledgerRow({ requestId: `${prefix}-${i}` }), audit: { requestHash: "ab".repeat(32) } }),
    ),
  );

for (let done = 0; done < count; done += 100) await batch(`committed-${done}`, Math.min(100, count - done));
process.stdout.write(`committed ${count}\n`);
// Still writing when the kill lands: a transaction cut short must leave the file consistent.
for (let round = 0; ; round++) await batch(`after-${round}`, 50);
