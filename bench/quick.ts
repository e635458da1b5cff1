// A quick look while working on the hot path: one scenario's gateway and (with --peer) the Portkey
// gateway, both warmed up and kept running, then alternating closed-loop loads of each, with req/s,
// CPU per 1,000 calls (all the server's threads) and the ratio of each gateway load to the Portkey
// load next to it. The full harness (npm run bench) is what RESULTS.md reports; this is for A/B work.
//   npm run bench:quick -- --scenario policy [--peer] [--openai-api] [--loads 3] [--requests 10000] [--node-flags=--max-semi-space-size=32]
// --serial loads one call at a time, --rate evenly spaced at 1,000 req/s (latency rather than
// throughput; p50 is printed either way).
// A paired A/B: --b-node-flags=… and/or --b-root=/path/to/other/checkout start a second gateway "B",
// loaded next to A in every round (ABBA: B first in odd rounds), with B's ratio to A (both against the
// same fake and peer) and, at the end, the median and geometric mean of the ratios. --b-scenario=NAME
// gives B another scenario's config on the same calls (policy against policy-untraced or policy-sampled).
// --openai-api loads the OpenAI-compatible door (policy on) on the peer's wire: HTTP/1.1, 32 connections.
import { parseArgs } from "node:util";
import { ensureH2load, type LoadShape, type RequestSpec } from "./h2load.js";
import { measure, percentilesMs, sampleGrpcStatus, type Load, type Measured } from "./measure.js";
import { startFake } from "./processes.js";
import { BENCH_KEY, grpcBody, openaiApiBody, policyOnDocument, scenario, SERVICE } from "./scenarios.js";
import { ensurePeer, peerHeaders, startGateway, startPeer, type Server } from "./targets.js";

const p50 = (m: Measured) => `${percentilesMs(m.durationsUs).p50.toFixed(2)} ms`;
const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "policy" },
    peer: { type: "boolean", default: false },
    loads: { type: "string", default: "3" },
    requests: { type: "string", default: "10000" },
    "node-flags": { type: "string", default: "" },
    "openai-api": { type: "boolean", default: false },
    "b-node-flags": { type: "string" },
    "b-root": { type: "string" },
    "b-scenario": { type: "string" },
    serial: { type: "boolean", default: false },
    rate: { type: "boolean", default: false },
  },
});
ensureH2load();
if (values.peer) ensurePeer();
const s = scenario(values.scenario);
const requests = Number(values.requests);
const fake = await startFake();
const servers: Server[] = [];
try {
  const openaiApi = values["openai-api"];
  const document = openaiApi ? policyOnDocument(fake.port) : s.document(fake.port);
  const flags = (text: string) => text.split(" ").filter((f) => f !== "");
  const gateway = await startGateway(document, flags(values["node-flags"]));
  servers.push(gateway);
  const bScenario = values["b-scenario"] === undefined ? undefined : scenario(values["b-scenario"]);
  if (bScenario && (openaiApi || bScenario.method !== s.method || bScenario.headers.join() !== s.headers.join())) {
    throw new Error(`--b-scenario ${bScenario.name} makes other calls than ${s.name}: B must serve the same requests`);
  }
  const paired = values["b-node-flags"] !== undefined || values["b-root"] !== undefined || bScenario !== undefined;
  const gatewayB = paired ? await startGateway(bScenario ? bScenario.document(fake.port) : document, flags(values["b-node-flags"] ?? values["node-flags"]), undefined, values["b-root"]) : undefined;
  if (gatewayB) servers.push(gatewayB);
  const specFor = (gateway: Server): RequestSpec => openaiApi
    ? { url: `${gateway.baseUrl}/v1/chat/completions`, body: openaiApiBody, headers: ["content-type: application/json", `authorization: Bearer ${BENCH_KEY}`], h1: true }
    : { url: `${gateway.baseUrl}${SERVICE}/${s.method}`, body: grpcBody(s), headers: ["content-type: application/grpc", "te: trailers", ...s.headers], h1: false };
  const shape = (n: number): LoadShape => values.serial ? { kind: "serial", requests: n } : values.rate ? { kind: "rate", requests: n, clients: 10, rpsPerClient: 100 } : (openaiApi ? { kind: "closed" as const, requests: n, connections: 32, streams: 1 } : { kind: "closed" as const, requests: n, connections: 4, streams: 16 });
  const loadOf = (gateway: Server) => (n: number): Load => ({ spec: specFor(gateway), shape: shape(n), fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: openaiApi ? { ok: 1, failed: 0 } : s.upstreamPerCall });
  const gatewayLoad = loadOf(gateway);
  const gatewayBLoad = gatewayB ? loadOf(gatewayB) : undefined;
  const name = openaiApi ? "OpenAI API, policy on" : s.name;
  let peerLoad: ((n: number) => Load) | undefined;
  if (values.peer) {
    const peer = await startPeer();
    servers.push(peer);
    const spec: RequestSpec = { url: `${peer.baseUrl}/v1/chat/completions`, body: scenario("unary").directBody, headers: peerHeaders(fake.port), h1: true };
    peerLoad = (n) => ({ spec, shape: { kind: "closed", requests: n, connections: 32, streams: 1 }, fakePort: fake.port, serverPid: peer.pid, upstreamPerCall: { ok: 1, failed: 0 } });
    await measure(peerLoad(2_000));
  }
  await measure(gatewayLoad(2_000));
  if (gatewayBLoad) await measure(gatewayBLoad(2_000));
  // ABBA: odd loads measure B (and Portkey) before A, so a drift of the machine over the run (the
  // usual case here) does not favour whichever side always goes second.
  const ratios: { ba: number[]; peer: number[] } = { ba: [], peer: [] };
  for (let i = 0; i < Number(values.loads); i++) {
    const reversed = i % 2 === 1;
    const b0 = reversed && gatewayBLoad ? await measure(gatewayBLoad(requests)) : undefined;
    const p0 = reversed && peerLoad ? await measure(peerLoad(Math.round(requests / 2))) : undefined;
    const m = await measure(gatewayLoad(requests));
    const failure = m.failure ?? (openaiApi ? undefined : await sampleGrpcStatus(gateway.baseUrl, s, 100));
    let line = `${name}: ${m.rps.toFixed(0)} req/s, ${m.cpuMsPer1000.toFixed(0)} ms CPU per 1,000 calls, p50 ${p50(m)}${failure ? `, FAILED: ${failure}` : ""}`;
    if (gatewayB && gatewayBLoad) {
      const b = b0 ?? (await measure(gatewayBLoad(requests)));
      const bFailure = b.failure ?? (openaiApi ? undefined : await sampleGrpcStatus(gatewayB.baseUrl, s, 100));
      ratios.ba.push(b.rps / m.rps);
      line += ` | B ${b.rps.toFixed(0)} req/s, ${b.cpuMsPer1000.toFixed(0)} ms, p50 ${p50(b)}${bFailure ? `, FAILED: ${bFailure}` : ""}, B/A ${(b.rps / m.rps).toFixed(3)}`;
    }
    if (peerLoad) {
      const p = p0 ?? (await measure(peerLoad(Math.round(requests / 2))));
      ratios.peer.push(m.rps / p.rps);
      line += ` | Portkey ${p.rps.toFixed(0)} req/s, ${p.cpuMsPer1000.toFixed(0)} ms${p.failure ? `, FAILED: ${p.failure}` : ""} | ratio ${(m.rps / p.rps).toFixed(2)}×`;
    }
    console.log(line + (reversed ? " (B/Portkey first)" : ""));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const geomean = (xs: number[]) => Math.exp(xs.reduce((sum, x) => sum + Math.log(x), 0) / xs.length);
  if (ratios.ba.length > 0) console.log(`B/A: median ${median(ratios.ba).toFixed(3)}, geometric mean ${geomean(ratios.ba).toFixed(3)} over ${ratios.ba.length} loads`);
  if (ratios.peer.length > 0) console.log(`ratio to Portkey: median ${median(ratios.peer).toFixed(2)}×, geometric mean ${geomean(ratios.peer).toFixed(2)}× over ${ratios.peer.length} loads`);
} finally {
  for (const server of servers) await server.stop();
  await fake.stop();
}
