// The benchmark: the gateway, the peer (Portkey) and the fake upstream as separate fresh processes,
// h2load as the load, in alternating rounds; prints the table.
//   npm run bench        short (under 3 minutes), prints the table
//   npm run bench:full   full: more rounds and calls, 10,000 open streams, writes bench/RESULTS.md
//                        (between its generated-block markers) and bench/latency.svg
import { cpus, loadavg, totalmem } from "node:os";
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { ensureCommand, ensureH2load } from "./h2load.js";
import { measureOpenStreams, openStreamRows } from "./open-streams.js";
import { latencyPlot } from "./plot.js";
import { writeResults } from "./results-file.js";
import { markdownTable, tableRows, textTable } from "./report.js";
import { runRound, type RoundFigures, type Sizes } from "./rounds.js";
import { ensurePeer, PEER_VERSION } from "./targets.js";

const { values } = parseArgs({ options: { full: { type: "boolean", default: false }, rounds: { type: "string" } } });
const full = values.full;

const SHORT: Sizes = { warmupRequests: 1_000, closedRequests: 3_000, rateRequests: 3_000, serialRequests: 500, streams: 50, grpcSample: 100 };
const FULL: Sizes = { warmupRequests: 2_000, closedRequests: 20_000, rateRequests: 15_000, serialRequests: 3_000, streams: 300, grpcSample: 500 };
const sizes = full ? FULL : SHORT;
const rounds = Number(values.rounds ?? (full ? 3 : 2));

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

ensureH2load();
ensureCommand("redis-server", "--version", "redis-server");
ensurePeer();
const started = Date.now();
const loadBefore = loadavg()[0]!;
const figures: RoundFigures[] = [];
for (let i = 0; i < rounds; i++) figures.push(await runRound(i, sizes, log));
const rows = tableRows(figures);
if (full) {
  log("10,000 concurrent open streams");
  try {
    rows.push(...openStreamRows(await measureOpenStreams(10_000, log)));
  } catch (error) {
    rows.push({ figure: "RSS with 10,000 concurrent open streams", value: "FAILED", detail: String(error) });
  }
}
console.log(`\nSwitchboard bench (${full ? "full" : "short"}): ${rounds} rounds, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
console.log(textTable(rows));

if (full) {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  const h2loadVersion = execFileSync("h2load", ["--version"], { encoding: "utf8" }).trim();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${h2loadVersion}, Portkey ${PEER_VERSION}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares this machine)`;
  const commands = [...figures[0]!.commands.entries()].map(([name, command]) => `- ${name}: \`${command}\``).join("\n");
  writeResults({
    date: new Date().toISOString().slice(0, 10),
    commit,
    machine,
    rounds,
    sizes,
    table: markdownTable(rows),
    commands,
    svg: latencyPlot(figures),
  });
  log("wrote bench/RESULTS.md and bench/latency.svg");
}
