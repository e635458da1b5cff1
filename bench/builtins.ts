// What a few platform calls on the request path cost on this Node, next to what the gateway uses
// instead: an AbortSignal against core/cancel.ts's Cancel, createHash().update().digest() against
// the one-shot hash(). Each pair runs in the same process, interleaved twice, so the ratio holds on a noisy machine.
//   npm run bench:builtins
import { createHash, hash } from "node:crypto";
import { Cancel } from "../server/core/cancel.js";

type Case = { name: string; run: (i: number) => unknown };

const STRINGS = ["up", "gpt-4o-mini", "OK", "chatcmpl-123", "gpt-4o-mini-2024-07-18", "openai"];
const noop = () => undefined;
let sink = 0;

function nsPerOp({ run }: Case, ops: number): number {
  for (let i = 0; i < 20_000; i++) run(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) if (run(i) === sink) sink++;
  return Number(process.hrtime.bigint() - start) / ops;
}

const pairs: [Case, Case][] = [
  [
    { name: "new AbortController().signal", run: () => new AbortController().signal },
    { name: "new Cancel()", run: () => new Cancel() },
  ],
  [
    {
      name: "AbortSignal + add/remove listener",
      run: () => {
        const signal = new AbortController().signal;
        signal.addEventListener("abort", noop, { once: true });
        signal.removeEventListener("abort", noop);
        return signal;
      },
    },
    {
      name: "Cancel + onAbort/off",
      run: () => {
        const cancel = new Cancel();
        cancel.onAbort(noop);
        cancel.off(noop);
        return cancel;
      },
    },
  ],
  [
    { name: "createHash(sha256).update.digest(hex)", run: (i) => createHash("sha256").update(STRINGS[i % STRINGS.length]).digest("hex") },
    { name: "hash(sha256, …, hex)", run: (i) => hash("sha256", STRINGS[i % STRINGS.length], "hex") },
  ],
];

console.log(`Node ${process.version}; ns per operation, two interleaved passes`);
for (const [platform, ours] of pairs) {
  const ops = 200_000;
  const a = [nsPerOp(platform, ops), nsPerOp(ours, ops), nsPerOp(platform, ops), nsPerOp(ours, ops)];
  const before = Math.min(a[0], a[2]);
  const after = Math.min(a[1], a[3]);
  console.log(`${platform.name.padEnd(40)} ${before.toFixed(0).padStart(6)}   ${ours.name.padEnd(26)} ${after.toFixed(0).padStart(6)}   ${(before / after).toFixed(1)}×`);
}
