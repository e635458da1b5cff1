// RSS and heap drift of the gateway over many calls (default 1,000,000 unary gRPC calls), a long run
// apart from `npm run bench`. The gateway runs with --trace-gc: the heap in use after each
// mark-compact is the live heap, read from its stdout without touching the gateway's code. RSS is
// sampled from /proc after every chunk; the trend is the least-squares slope over the run after
// the first 20 % (warm-up), in MiB per 100,000 calls. Every chunk is verified like any bench load.
//   npm run bench:soak [-- --calls 1000000 --chunk 50000]
import { parseArgs } from "node:util";
import { ensureH2load } from "./h2load.js";
import { measure } from "./measure.js";
import { sampleProc, startFake } from "./processes.js";
import { grpcBody, scenario, SERVICE } from "./scenarios.js";
import { startGateway } from "./targets.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "1000000" }, chunk: { type: "string", default: "50000" } } });
const total = Number(values.calls);
const chunk = Number(values.chunk);

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

ensureH2load();
const s = scenario("unary");
const fake = await startFake();
let lastHeapMiB = Number.NaN;
// V8's --trace-gc line: "... Mark-Compact 41.2 (60.1) -> 38.9 (58.3) MB, ..." (used (committed) before -> after).
const onLine = (line: string) => {
  const m = /Mark-Compact(?: \(reduce\))? ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
  if (m) lastHeapMiB = Number(m[2]);
};
const gateway = await startGateway(s.document(fake.port), ["--trace-gc"], onLine);
const spec = { url: `${gateway.baseUrl}${SERVICE}/Complete`, body: grpcBody(s), headers: ["content-type: application/grpc", "te: trailers"], h1: false };
const samples: Array<{ calls: number; rssMiB: number; heapMiB: number; rps: number }> = [];
try {
  for (let done = 0; done < total; done += chunk) {
    const m = await measure({ spec, shape: { kind: "closed", requests: chunk, connections: 4, streams: 16 }, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall });
    if (m.failure) throw new Error(`chunk at ${done} calls failed: ${m.failure}`);
    const sample = { calls: done + chunk, rssMiB: sampleProc(gateway.pid).rssBytes / 2 ** 20, heapMiB: lastHeapMiB, rps: m.rps };
    samples.push(sample);
    console.error(`${sample.calls.toLocaleString("en-US").padStart(10)} calls  RSS ${sample.rssMiB.toFixed(1)} MiB  heap after last mark-compact ${sample.heapMiB.toFixed(1)} MiB  ${sample.rps.toFixed(0)} req/s`);
  }
} finally {
  await gateway.stop();
  await fake.stop();
}

const steady = samples.slice(Math.floor(samples.length * 0.2));
const per100k = (key: "rssMiB" | "heapMiB") => slope(steady.filter((p) => Number.isFinite(p[key])).map((p) => [p.calls / 100_000, p[key]])).toFixed(2);
console.log(`\n| calls | RSS MiB | heap after mark-compact MiB | req/s |\n|---|---|---|---|`);
for (const p of samples) console.log(`| ${p.calls.toLocaleString("en-US")} | ${p.rssMiB.toFixed(1)} | ${p.heapMiB.toFixed(1)} | ${p.rps.toFixed(0)} |`);
console.log(`\ntrend after the first 20 %: RSS ${per100k("rssMiB")} MiB per 100,000 calls, heap ${per100k("heapMiB")} MiB per 100,000 calls`);
