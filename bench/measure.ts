// One measurement = one load against one server, with the proof that it measured real answers:
// h2load's counts, the fake's counter (every call must have reached the upstream, exactly as often
// as the scenario says) and the server's CPU time from /proc. A measurement that cannot prove its
// calls is a failure, never a figure.
import { performance, createHistogram } from "node:perf_hooks";
import { checkGrpcSample, closeDirectAgent, directStream, gatewayStream, openSession } from "./grpc-probe.js";
import { quantile, runLoad, type LoadResult, type LoadShape, type RequestSpec } from "./h2load.js";
import { fakeCounts, sampleProc } from "./processes.js";
import { grpcBody, isDone, isTextDelta, SERVICE, type Scenario } from "./scenarios.js";

export type Measured = {
  /** Why the figures cannot be trusted; undefined when they can. */
  failure?: string;
  rps: number;
  calls: number;
  /** Server CPU (utime+stime) per 1,000 calls, ms. */
  cpuMsPer1000: number;
  /** Per-request durations from h2load, µs, sorted. */
  durationsUs: Float64Array;
};

export type Load = {
  spec: RequestSpec;
  shape: LoadShape;
  fakePort: number;
  /** The process whose CPU is charged (the gateway or the peer); undefined for the fake alone. */
  serverPid?: number;
  upstreamPerCall: { ok: number; failed: number };
};

function verify(load: Load, result: LoadResult, reached: { ok: number; failed: number }): string | undefined {
  const problems: string[] = [];
  if (result.succeeded !== result.requests) {
    problems.push(`${result.requests - result.succeeded} of ${result.requests} requests failed at HTTP level (${result.failed} failed, ${result.errored} errored)`);
  }
  if (result.status2xx !== result.requests) problems.push(`${result.requests - result.status2xx} non-2xx responses`);
  const want = { ok: result.succeeded * load.upstreamPerCall.ok, failed: result.succeeded * load.upstreamPerCall.failed };
  if (reached.ok !== want.ok || reached.failed !== want.failed) {
    problems.push(`the fake served ${reached.ok} ok + ${reached.failed} failing calls, expected ${want.ok} + ${want.failed}`);
  }
  return problems.length > 0 ? problems.join("; ") : undefined;
}

export async function measure(load: Load): Promise<Measured> {
  const before = await fakeCounts(load.fakePort);
  const cpuBefore = load.serverPid === undefined ? undefined : sampleProc(load.serverPid).cpuMs;
  const result = await runLoad(load.spec, load.shape);
  const cpuAfter = load.serverPid === undefined ? undefined : sampleProc(load.serverPid).cpuMs;
  const after = await fakeCounts(load.fakePort);
  const failure = verify(load, result, { ok: after.ok - before.ok, failed: after.failed - before.failed });
  return {
    failure,
    rps: result.rps,
    calls: result.succeeded,
    cpuMsPer1000: cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : ((cpuAfter - cpuBefore) * 1000) / Math.max(1, result.succeeded),
    durationsUs: result.durationsUs,
  };
}

/** The gRPC answers h2load could not read: a sample through a real client must all be OK. */
export async function sampleGrpcStatus(baseUrl: string, s: Scenario, calls: number): Promise<string | undefined> {
  // "name: value" lines as h2load takes them, as http2 headers.
  const headers = Object.fromEntries(s.headers.map((h) => [h.slice(0, h.indexOf(":")).trim().toLowerCase(), h.slice(h.indexOf(":") + 1).trim()]));
  const check = await checkGrpcSample(baseUrl, `${SERVICE}/${s.method}`, grpcBody(s), calls, s.check, headers);
  if (check.ok === check.calls) return undefined;
  return `${check.calls - check.ok} of ${check.calls} sampled gRPC calls were not OK: ${check.problems.join(" | ")}`;
}

export type Percentiles = { p50: number; p99: number; p999: number };

/** Percentiles in ms of h2load durations (µs). */
export function percentilesMs(sortedUs: Float64Array): Percentiles {
  return { p50: quantile(sortedUs, 0.5) / 1000, p99: quantile(sortedUs, 0.99) / 1000, p999: quantile(sortedUs, 0.999) / 1000 };
}

export type StreamFigures = { gateway: { ttft: Percentiles; total: Percentiles }; direct: { ttft: Percentiles; total: Percentiles } };

function histogramMs(values: number[]): Percentiles {
  const h = createHistogram();
  for (const ms of values) h.record(Math.max(1, Math.round(ms * 1e6)));
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, p999: h.percentile(99.9) / 1e6 };
}

/**
 * Streams one at a time through the gateway and straight from the fake, interleaved so both see
 * the same machine noise. Every gateway stream must end with done and grpc-status 0.
 */
export async function measureStreams(baseUrl: string, fakePort: number, s: Scenario, streams: number): Promise<StreamFigures> {
  const session = await openSession(baseUrl);
  const path = `${SERVICE}/${s.method}`;
  const frame = grpcBody(s);
  const via = { ttft: [] as number[], total: [] as number[] };
  const direct = { ttft: [] as number[], total: [] as number[] };
  try {
    for (let i = 0; i < Math.min(20, streams); i++) {
      await gatewayStream(session, path, frame, isTextDelta, isDone);
      await directStream(fakePort, s.directBody);
    }
    for (let i = 0; i < streams; i++) {
      const g = await gatewayStream(session, path, frame, isTextDelta, isDone);
      via.ttft.push(g.ttftMs);
      via.total.push(g.totalMs);
      const d = await directStream(fakePort, s.directBody);
      direct.ttft.push(d.ttftMs);
      direct.total.push(d.totalMs);
    }
  } finally {
    session.close();
    closeDirectAgent();
  }
  return {
    gateway: { ttft: histogramMs(via.ttft), total: histogramMs(via.total) },
    direct: { ttft: histogramMs(direct.ttft), total: histogramMs(direct.total) },
  };
}

/** Waits until `ready()` holds, polling; for "the fake holds N streams open" and similar. */
export async function waitUntil(ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ready())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
