// The latency plot for RESULTS.md, drawn as plain SVG (no plotting dependency): latency by
// percentile on a "nines" axis (50, 90, 99, 99.9 %) so the tail is visible, latency on a log axis,
// one line per series,
// all rounds' calls pooled.
import { quantile } from "./h2load.js";
import type { RoundFigures } from "./rounds.js";

const SERIES: Array<[string, string, string]> = [
  ["latency gateway gRPC at 1000 rps", "gateway gRPC, 1,000 req/s", "#d62728"],
  ["latency direct at 1000 rps", "fake directly, 1,000 req/s", "#1f77b4"],
  ["latency gateway gRPC one at a time", "gateway gRPC, one at a time", "#ff9896"],
  ["latency direct one at a time", "fake directly, one at a time", "#aec7e8"],
];

const W = 760;
const H = 420;
const M = { left: 60, right: 220, top: 30, bottom: 50 };
const MAX_NINES = 3; // up to p99.9

function pooled(rounds: RoundFigures[], name: string): Float64Array {
  const parts = rounds.map((r) => r.measured.get(name)).filter((m) => m !== undefined && m.failure === undefined).map((m) => m!.durationsUs);
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all.sort();
}

// x is the percentile's "nines": q = 1 - 10^-nines, so p50 is log10(2), p99 is 2, p99.9 is 3.
const X0 = Math.log10(2);

export function latencyPlot(rounds: RoundFigures[]): string {
  const steps = 120;
  const lines = SERIES.map(([name, label, color]) => {
    const sorted = pooled(rounds, name);
    const points = Array.from({ length: steps + 1 }, (_, i) => {
      const nines = X0 + (i / steps) * (MAX_NINES - X0);
      return { nines, ms: sorted.length > 0 ? quantile(sorted, 1 - 10 ** -nines) / 1000 : Number.NaN };
    });
    return { label, color, points: points.filter((p) => Number.isFinite(p.ms)) };
  });
  // Log-scaled latency: a saturated series (seconds of queueing) and a sub-millisecond one both show.
  const all = lines.flatMap((l) => l.points.map((p) => p.ms)).filter((ms) => ms > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 1)));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (nines: number) => M.left + ((nines - X0) / (MAX_NINES - X0)) * plotW;
  const y = (ms: number) => M.top + plotH - ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="18" font-size="14">Unary Complete latency by percentile (h2load per-request log, all rounds pooled)</text>`,
  ];
  for (const [label, nines] of [["p50", X0], ["p90", 1], ["p99", 2], ["p99.9", 3]] as const) {
    out.push(`<line x1="${x(nines)}" x2="${x(nines)}" y1="${M.top}" y2="${M.top + plotH}" stroke="#ddd"/>`);
    out.push(`<text x="${x(nines)}" y="${M.top + plotH + 18}" text-anchor="middle">${label}</text>`);
  }
  for (let ms = lo; ms <= hi * 1.0001; ms *= 10) {
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(ms)}" y2="${y(ms)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(ms) + 4}" text-anchor="end">${Number(ms.toPrecision(1))}</text>`);
  }
  out.push(`<text x="16" y="${M.top + plotH / 2}" transform="rotate(-90 16 ${M.top + plotH / 2})" text-anchor="middle">ms (log scale)</text>`);
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 10}" text-anchor="middle">percentile</text>`);
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  lines.forEach((line, i) => {
    const d = line.points.map((p, j) => `${j === 0 ? "M" : "L"}${x(p.nines).toFixed(1)},${y(p.ms).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="2"/>`);
    const ly = M.top + 10 + i * 20;
    out.push(`<line x1="${W - M.right + 15}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${line.color}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${line.label}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
