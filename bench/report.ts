// From rounds to one table: medians over rounds, ratios computed within each round (the machine is
// noisy, so only figures from the same round are compared), failures shown as failures.
import { percentilesMs, type Measured, type Percentiles } from "./measure.js";
import type { RoundFigures } from "./rounds.js";

export type Row = { figure: string; value: string; detail: string };

const median = (values: number[]): number => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a");
const list = (values: number[], digits = 0) => values.map((v) => fmt(v, digits)).join(" / ");

/** The measurement of each round, or the failures that disqualify it. */
function trusted(rounds: RoundFigures[], name: string): { ok: Measured[]; failures: string[] } {
  const ok: Measured[] = [];
  const failures: string[] = [];
  rounds.forEach((r, i) => {
    const m = r.measured.get(name);
    if (!m) failures.push(`round ${i + 1}: not measured`);
    else if (m.failure) failures.push(`round ${i + 1}: ${m.failure}`);
    else ok.push(m);
  });
  return { ok, failures };
}

function failed(figure: string, failures: string[]): Row {
  return { figure, value: "FAILED", detail: failures.join("; ") };
}

function throughputRows(rounds: RoundFigures[]): Row[] {
  const rows: Row[] = [];
  const names: Array<[string, string]> = [
    ["throughput fake alone", "max throughput, fake alone (HTTP/1.1, 32 conns)"],
    ["throughput gateway gRPC", "max throughput, gateway gRPC (4 conns × 16 streams)"],
    ["throughput gateway Connect JSON", "max throughput, gateway Connect JSON (HTTP/1.1, 32 conns)"],
    ["throughput gateway gRPC fallback", "max throughput, gateway gRPC, fallback (503 then OK)"],
    ["throughput gateway gRPC policy on", "max throughput, gateway gRPC, policy on (key, limits, budgets, ledger, audit, metrics, OTLP traces)"],
    ["throughput gateway gRPC policy on sampled", "max throughput, gateway gRPC, policy on keeping 10 % of traces (sample_ratio 0.1)"],
    ["throughput gateway OpenAI API policy on", "max throughput, gateway OpenAI-compatible API (HTTP/1.1, 32 conns), policy on"],
    ["throughput gateway gRPC policy on Redis", "max throughput, gateway gRPC, policy on with limits/budgets/circuits in Redis"],
    ["throughput Portkey", "max throughput, Portkey 1.15.2 (HTTP/1.1, 32 conns)"],
  ];
  for (const [name, figure] of names) {
    const { ok, failures } = trusted(rounds, name);
    if (failures.length > 0) rows.push(failed(figure, failures));
    else rows.push({ figure, value: `${fmt(median(ok.map((m) => m.rps)))} req/s`, detail: `rounds: ${list(ok.map((m) => m.rps))}` });
  }
  for (const [name, label] of [
    ["throughput gateway gRPC", "gateway gRPC / Portkey"],
    ["throughput gateway Connect JSON", "gateway Connect JSON / Portkey"],
    ["throughput gateway gRPC fallback", "gateway gRPC fallback / Portkey"],
    ["throughput gateway gRPC policy on", "gateway gRPC policy on / Portkey"],
    ["throughput gateway gRPC policy on sampled", "gateway gRPC policy on, 10 % of traces / Portkey"],
    ["throughput gateway OpenAI API policy on", "gateway OpenAI API policy on / Portkey (same wire)"],
    ["throughput gateway gRPC policy on Redis", "gateway gRPC policy on Redis / Portkey"],
  ] as const) {
    const ratios = rounds.map((r) => {
      const a = r.measured.get(name);
      const b = r.measured.get("throughput Portkey");
      return a && b && !a.failure && !b.failure ? a.rps / b.rps : Number.NaN;
    });
    rows.push({ figure: `ratio ${label} (median of per-round ratios)`, value: `${fmt(median(ratios), 2)}×`, detail: `rounds: ${list(ratios, 2)}` });
  }
  const redisRatios = rounds.map((r) => {
    const a = r.measured.get("throughput gateway gRPC policy on Redis");
    const b = r.measured.get("throughput gateway gRPC policy on");
    return a && b && !a.failure && !b.failure ? a.rps / b.rps : Number.NaN;
  });
  rows.push({ figure: "ratio gateway gRPC policy on: Redis / in-process (median of per-round ratios)", value: `${fmt(median(redisRatios), 2)}×`, detail: `rounds: ${list(redisRatios, 2)}` });
  return rows;
}

function cpuRows(rounds: RoundFigures[]): Row[] {
  const rows: Row[] = [];
  for (const [name, figure] of [
    ["throughput gateway gRPC", "CPU per 1,000 calls, gateway gRPC"],
    ["throughput gateway Connect JSON", "CPU per 1,000 calls, gateway Connect JSON"],
    ["throughput gateway gRPC fallback", "CPU per 1,000 calls, gateway gRPC fallback"],
    ["throughput gateway gRPC policy on", "CPU per 1,000 calls, gateway gRPC policy on"],
    ["throughput gateway gRPC policy on sampled", "CPU per 1,000 calls, gateway gRPC policy on, 10 % of traces"],
    ["throughput gateway OpenAI API policy on", "CPU per 1,000 calls, gateway OpenAI API policy on"],
    ["throughput gateway gRPC policy on Redis", "CPU per 1,000 calls, gateway gRPC policy on Redis"],
    ["throughput Portkey", "CPU per 1,000 calls, Portkey"],
  ] as const) {
    const { ok, failures } = trusted(rounds, name);
    if (failures.length > 0) rows.push(failed(figure, failures));
    else rows.push({ figure, value: `${fmt(median(ok.map((m) => m.cpuMsPer1000)))} ms`, detail: `utime+stime of the server process; rounds: ${list(ok.map((m) => m.cpuMsPer1000))}` });
  }
  return rows;
}

const pct = (p: Percentiles) => `${fmt(p.p50, 2)} / ${fmt(p.p99, 2)} / ${fmt(p.p999, 2)} ms`;
const minus = (a: Percentiles, b: Percentiles): Percentiles => ({ p50: a.p50 - b.p50, p99: a.p99 - b.p99, p999: a.p999 - b.p999 });
const medianOf = (ps: Percentiles[]): Percentiles => ({ p50: median(ps.map((p) => p.p50)), p99: median(ps.map((p) => p.p99)), p999: median(ps.map((p) => p.p999)) });

function latencyRows(rounds: RoundFigures[], label: string): Row[] {
  const via = trusted(rounds, `latency gateway gRPC ${label}`);
  const direct = trusted(rounds, `latency direct ${label}`);
  if (via.failures.length + direct.failures.length > 0) return [failed(`latency ${label}`, [...via.failures, ...direct.failures])];
  const g = via.ok.map((m) => percentilesMs(m.durationsUs));
  const d = direct.ok.map((m) => percentilesMs(m.durationsUs));
  const added = g.map((p, i) => minus(p, d[i]!));
  const rates = via.ok.map((m) => m.rps);
  // At a fixed rate the server must keep up, or the percentiles measure its queue, not its overhead.
  const saturated = label.includes("at 1000") && median(rates) < 950 ? "; SATURATED: the gateway could not serve 1,000 req/s, so these are queueing times" : "";
  return [
    { figure: `latency ${label}, gateway gRPC unary p50 / p99 / p99.9`, value: pct(medianOf(g)), detail: `achieved ${list(rates)} req/s${saturated}` },
    { figure: `latency ${label}, fake called directly p50 / p99 / p99.9`, value: pct(medianOf(d)), detail: "HTTP/1.1, same shape, same round" },
    { figure: `ADDED latency ${label} p50 / p99 / p99.9`, value: pct(medianOf(added)), detail: `per-round differences, median; p50 rounds: ${list(added.map((a) => a.p50), 2)}` },
  ];
}

function streamRows(rounds: RoundFigures[]): Row[] {
  const figures = rounds.map((r) => r.streams).filter((s) => s !== undefined);
  if (figures.length === 0) return [];
  const ttft = figures.map((f) => f.gateway.ttft);
  const overhead = figures.map((f) => minus(f.gateway.ttft, f.direct.ttft));
  return [
    { figure: "stream TTFT, gateway gRPC p50 / p99 / p99.9", value: pct(medianOf(ttft)), detail: "one stream at a time, raw http2 client" },
    { figure: "stream TTFT, fake directly p50 / p99 / p99.9", value: pct(medianOf(figures.map((f) => f.direct.ttft))), detail: "" },
    { figure: "ADDED stream TTFT p50 / p99 / p99.9", value: pct(medianOf(overhead)), detail: `p50 rounds: ${list(overhead.map((o) => o.p50), 2)}` },
    {
      figure: "stream total (200 tokens), gateway / direct p50",
      value: `${fmt(median(figures.map((f) => f.gateway.total.p50)), 2)} / ${fmt(median(figures.map((f) => f.direct.total.p50)), 2)} ms`,
      detail: "",
    },
  ];
}

export function tableRows(rounds: RoundFigures[]): Row[] {
  return [...throughputRows(rounds), ...cpuRows(rounds), ...latencyRows(rounds, "at 1000 rps"), ...latencyRows(rounds, "policy on at 1000 rps"), ...latencyRows(rounds, "one at a time"), ...streamRows(rounds)];
}

export function textTable(rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.figure.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  return rows.map((r) => `${r.figure.padEnd(w)}  ${r.value.padStart(v)}  ${r.detail}`).join("\n");
}

export function markdownTable(rows: Row[]): string {
  return ["| figure | value | detail |", "|---|---|---|", ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.detail.replaceAll("|", "\\|")} |`)].join("\n");
}
