// The load generator: h2load (Debian nghttp2-client) in its own process, installed when missing.
// Three shapes: closed-loop (as fast as the server answers), evenly spaced fixed rate, and one call
// at a time. Per-request durations come from h2load's own --log-file, so percentiles cost the
// measured processes nothing.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "sb-bench-"));

/** Installs a Debian package when its command is missing (the bench's load tool, Redis). */
export function ensureCommand(command: string, versionFlag: string, debianPackage: string): void {
  try {
    execFileSync(command, [versionFlag], { stdio: "ignore" });
  } catch {
    console.error(`== installing ${command} (Debian ${debianPackage})`);
    execFileSync("sh", ["-c", `apt-get update -qq && apt-get install -y -qq ${debianPackage}`], { stdio: "ignore" });
  }
}

export function ensureH2load(): void {
  ensureCommand("h2load", "--version", "nghttp2-client");
}

export type RequestSpec = {
  url: string;
  /** The request body (a gRPC body is the 5-byte-prefixed protobuf). */
  body: Uint8Array | string;
  headers: string[];
  /** HTTP/1.1 instead of HTTP/2 prior knowledge. */
  h1: boolean;
};

export type LoadShape =
  | { kind: "closed"; requests: number; connections: number; streams: number }
  | { kind: "rate"; requests: number; clients: number; rpsPerClient: number }
  | { kind: "serial"; requests: number };

export type LoadResult = {
  rps: number;
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  /** HTTP 2xx responses (gRPC errors hide behind a 200: check grpc-status separately). */
  status2xx: number;
  dataBytes: number;
  /** Per-request durations in µs, sorted ascending. */
  durationsUs: Float64Array;
  raw: string;
};

let files = 0;
function fileFor(body: Uint8Array | string): string {
  const path = join(scratch, `body-${files++}`);
  writeFileSync(path, body);
  return path;
}

function shapeArgs(shape: LoadShape): string[] {
  switch (shape.kind) {
    case "closed":
      return ["-n", String(shape.requests), "-c", String(shape.connections), "-m", String(shape.streams)];
    case "rate":
      // Clients start one per millisecond, each sending at its own steady rate: evenly spaced load.
      // -m leaves room for a slow answer without stalling the schedule.
      return ["-n", String(shape.requests), "-c", String(shape.clients), "-r", "1", "--rate-period=1ms", "--rps", String(shape.rpsPerClient), "-m", "16"];
    case "serial":
      return ["-n", String(shape.requests), "-c", "1", "-m", "1"];
  }
}

/** The h2load command line of a load, for RESULTS.md. */
export function h2loadCommand(spec: RequestSpec, shape: LoadShape): string {
  const headers = spec.headers.map((h) => `-H '${h}'`).join(" ");
  return ["h2load", ...(spec.h1 ? ["--h1"] : []), ...shapeArgs(shape), "-d BODY", headers, spec.url].join(" ");
}

const numberAt = (pattern: RegExp, text: string) => Number(pattern.exec(text)?.[1] ?? Number.NaN);

export async function runLoad(spec: RequestSpec, shape: LoadShape): Promise<LoadResult> {
  const log = join(scratch, `log-${files++}`);
  const args = [
    ...(spec.h1 ? ["--h1"] : []),
    ...shapeArgs(shape),
    "-d",
    fileFor(spec.body),
    ...spec.headers.flatMap((h) => ["-H", h]),
    `--log-file=${log}`,
    spec.url,
  ];
  const { stdout } = await run("h2load", args, { encoding: "utf8", maxBuffer: 64 << 20 });
  const finished = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(stdout);
  const requests = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  if (!finished || !requests) throw new Error(`cannot read h2load's output:\n${stdout}`);
  const durations = readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => Number(line.split("\t")[2]));
  const durationsUs = Float64Array.from(durations).sort();
  return {
    rps: Number(finished[3]),
    requests: Number(requests[1]),
    succeeded: Number(requests[2]),
    failed: Number(requests[3]),
    errored: Number(requests[4]),
    status2xx: numberAt(/status codes: (\d+) 2xx/, stdout),
    dataBytes: numberAt(/headers \(space savings [\d.]+%\), [\d.]+[KMG]?B \((\d+)\) data/, stdout),
    durationsUs,
    raw: stdout,
  };
}

/** The q-quantile (0..1) of sorted values, nearest-rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Prefixes a protobuf message with the gRPC length-prefixed frame header (uncompressed). */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}
