// One round of the bench: every server under test in fresh processes against a fresh fake, with the
// same loads. Rounds alternate which server goes first so drift on a noisy machine favours no one.
import { h2loadCommand, type LoadShape, type RequestSpec } from "./h2load.js";
import { measure, measureStreams, sampleGrpcStatus, type Measured, type StreamFigures } from "./measure.js";
import { startFake, startRedis, type Proc } from "./processes.js";
import { BENCH_KEY, connectJsonBody, grpcBody, openaiApiBody, policyOnDocument, scenario, SERVICE, type Scenario } from "./scenarios.js";
import { peerHeaders, startGateway, startPeer, type Server } from "./targets.js";

export type Sizes = {
  /** Calls sent before each measured load (JIT, keep-alive pools). */
  warmupRequests: number;
  closedRequests: number;
  rateRequests: number;
  serialRequests: number;
  streams: number;
  grpcSample: number;
};

/** Figures of one round, by name (e.g. "throughput gateway gRPC"). */
export type RoundFigures = { measured: Map<string, Measured>; streams?: StreamFigures; commands: Map<string, string> };

const GRPC_CLOSED = (n: number): LoadShape => ({ kind: "closed", requests: n, connections: 4, streams: 16 });
const H1_CLOSED = (n: number): LoadShape => ({ kind: "closed", requests: n, connections: 32, streams: 1 });
// 10 clients × 100 req/s, started 1 ms apart: ≈ 1,000 req/s evenly spaced.
const RATE_1000 = (n: number): LoadShape => ({ kind: "rate", requests: n, clients: 10, rpsPerClient: 100 });
const SERIAL = (n: number): LoadShape => ({ kind: "serial", requests: n });

const grpcSpec = (server: Server, s: Scenario): RequestSpec => ({
  url: `${server.baseUrl}${SERVICE}/${s.method}`,
  body: grpcBody(s),
  headers: ["content-type: application/grpc", "te: trailers", ...s.headers],
  h1: false,
});
const connectSpec = (server: Server, s: Scenario): RequestSpec => ({
  url: `${server.baseUrl}${SERVICE}/${s.method}`,
  body: connectJsonBody(s),
  headers: ["content-type: application/json", ...s.headers],
  h1: true,
});
const directSpec = (fakePort: number, s: Scenario): RequestSpec => ({
  url: `http://127.0.0.1:${fakePort}/v1/chat/completions`,
  body: s.directBody,
  headers: ["content-type: application/json"],
  h1: true,
});

async function withProcesses<T>(procs: Proc[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
}

function record(figures: RoundFigures, name: string, spec: RequestSpec, shape: LoadShape, m: Measured): void {
  figures.measured.set(name, m);
  figures.commands.set(name, h2loadCommand(spec, shape));
}

async function fakeAlone(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const fake = await startFake();
  await withProcesses([fake], async () => {
    const spec = directSpec(fake.port, scenario("unary"));
    await measure({ spec, shape: H1_CLOSED(sizes.warmupRequests), fakePort: fake.port, upstreamPerCall: { ok: 1, failed: 0 } });
    const shape = H1_CLOSED(sizes.closedRequests * 2);
    record(figures, "throughput fake alone", spec, shape, await measure({ spec, shape, fakePort: fake.port, upstreamPerCall: { ok: 1, failed: 0 } }));
  });
}

/** Closed-loop gRPC throughput of a scenario, then a sample of real gRPC statuses. */
async function gatewayThroughput(figures: RoundFigures, name: string, gateway: Server, fakePort: number, s: Scenario, sizes: Sizes) {
  const spec = grpcSpec(gateway, s);
  const base = { spec, fakePort, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall };
  await measure({ ...base, shape: GRPC_CLOSED(sizes.warmupRequests) });
  const shape = GRPC_CLOSED(sizes.closedRequests);
  const m = await measure({ ...base, shape });
  m.failure ??= await sampleGrpcStatus(gateway.baseUrl, s, sizes.grpcSample);
  record(figures, name, spec, shape, m);
}

async function gatewayUnary(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const s = scenario("unary");
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port));
  await withProcesses([fake, gateway], async () => {
    await gatewayThroughput(figures, "throughput gateway gRPC", gateway, fake.port, s, sizes);
    const json = connectSpec(gateway, s);
    const jsonBase = { spec: json, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall };
    await measure({ ...jsonBase, shape: H1_CLOSED(sizes.warmupRequests) });
    record(figures, "throughput gateway Connect JSON", json, H1_CLOSED(sizes.closedRequests), await measure({ ...jsonBase, shape: H1_CLOSED(sizes.closedRequests) }));
    // Latency: the gateway and the fake called directly, the same shapes, back to back.
    const grpc = grpcSpec(gateway, s);
    const direct = directSpec(fake.port, s);
    for (const [label, shape] of [["at 1000 rps", RATE_1000(sizes.rateRequests)], ["one at a time", SERIAL(sizes.serialRequests)]] as const) {
      const viaGateway = await measure({ spec: grpc, shape, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall });
      record(figures, `latency gateway gRPC ${label}`, grpc, shape, viaGateway);
      const alone = await measure({ spec: direct, shape, fakePort: fake.port, upstreamPerCall: { ok: 1, failed: 0 } });
      record(figures, `latency direct ${label}`, direct, shape, alone);
    }
  });
}

/** Policy on with the limits, budgets and circuits in Redis (shared_state), as N replicas would run it. */
async function gatewayPolicyOnRedis(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const s = scenario("policy");
  const fake = await startFake();
  const redis = await startRedis();
  const gateway = await startGateway({ ...s.document(fake.port), shared_state: { redis: redis.url, on_failure: "closed" } });
  await withProcesses([redis, fake, gateway], () => gatewayThroughput(figures, "throughput gateway gRPC policy on Redis", gateway, fake.port, s, sizes));
}

async function gatewayPolicyOn(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const s = scenario("policy");
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port));
  await withProcesses([fake, gateway], async () => {
    await gatewayThroughput(figures, "throughput gateway gRPC policy on", gateway, fake.port, s, sizes);
    const grpc = grpcSpec(gateway, s);
    const direct = directSpec(fake.port, s);
    const shape = RATE_1000(sizes.rateRequests);
    record(figures, "latency gateway gRPC policy on at 1000 rps", grpc, shape, await measure({ spec: grpc, shape, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall }));
    record(figures, "latency direct policy on at 1000 rps", direct, shape, await measure({ spec: direct, shape, fakePort: fake.port, upstreamPerCall: { ok: 1, failed: 0 } }));
  });
}

/** Policy on keeping 10 % of traces (head sampling): what sampling buys; the 3× target is the row above. */
async function gatewayPolicyOnSampled(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const s = scenario("policy-sampled");
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port));
  await withProcesses([fake, gateway], () => gatewayThroughput(figures, "throughput gateway gRPC policy on sampled", gateway, fake.port, s, sizes));
}

/** The OpenAI-compatible API (HTTP/1.1 JSON, the same wire and connections as the peer), policy on. */
async function gatewayOpenAIApi(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const fake = await startFake();
  const gateway = await startGateway(policyOnDocument(fake.port));
  await withProcesses([fake, gateway], async () => {
    const spec: RequestSpec = {
      url: `${gateway.baseUrl}/v1/chat/completions`,
      body: openaiApiBody,
      headers: ["content-type: application/json", `authorization: Bearer ${BENCH_KEY}`],
      h1: true,
    };
    const base = { spec, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: { ok: 1, failed: 0 } };
    await measure({ ...base, shape: H1_CLOSED(sizes.warmupRequests) });
    const shape = H1_CLOSED(sizes.closedRequests);
    record(figures, "throughput gateway OpenAI API policy on", spec, shape, await measure({ ...base, shape }));
  });
}

async function gatewayFallback(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const s = scenario("fallback");
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port));
  await withProcesses([fake, gateway], () => gatewayThroughput(figures, "throughput gateway gRPC fallback", gateway, fake.port, s, sizes));
}

async function gatewayStreams(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const s = scenario("stream");
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port));
  await withProcesses([fake, gateway], async () => {
    figures.streams = await measureStreams(gateway.baseUrl, fake.port, s, sizes.streams);
  });
}

async function peer(figures: RoundFigures, sizes: Sizes): Promise<void> {
  const fake = await startFake();
  const portkey = await startPeer();
  await withProcesses([fake, portkey], async () => {
    const spec: RequestSpec = {
      url: `${portkey.baseUrl}/v1/chat/completions`,
      body: scenario("unary").directBody,
      headers: peerHeaders(fake.port),
      h1: true,
    };
    const base = { spec, fakePort: fake.port, serverPid: portkey.pid, upstreamPerCall: { ok: 1, failed: 0 } };
    await measure({ ...base, shape: H1_CLOSED(sizes.warmupRequests) });
    const shape = H1_CLOSED(sizes.closedRequests);
    record(figures, "throughput Portkey", spec, shape, await measure({ ...base, shape }));
  });
}

export async function runRound(index: number, sizes: Sizes, log: (line: string) => void): Promise<RoundFigures> {
  const figures: RoundFigures = { measured: new Map(), commands: new Map() };
  const steps: Array<[string, () => Promise<void>]> = [
    ["fake alone", () => fakeAlone(figures, sizes)],
    ["gateway unary", () => gatewayUnary(figures, sizes)],
    ["Portkey", () => peer(figures, sizes)],
    ["gateway policy on", () => gatewayPolicyOn(figures, sizes)],
    ["gateway policy on, 10 % of traces", () => gatewayPolicyOnSampled(figures, sizes)],
    ["gateway OpenAI API policy on", () => gatewayOpenAIApi(figures, sizes)],
    ["gateway policy on Redis", () => gatewayPolicyOnRedis(figures, sizes)],
    ["gateway fallback", () => gatewayFallback(figures, sizes)],
    ["gateway streams", () => gatewayStreams(figures, sizes)],
  ];
  if (index % 2 === 1) steps.reverse();
  for (const [name, step] of steps) {
    const started = Date.now();
    await step();
    log(`round ${index + 1}: ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  return figures;
}
