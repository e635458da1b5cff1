// A quick look while working on the hot path: one scenario's gateway, warmed up, then a few
// closed-loop gRPC loads, each with req/s and the gateway's CPU per 1,000 calls (all its threads).
// CPU per call is steadier than req/s on a shared machine; compare runs taken minutes apart only.
//   npm run bench:quick -- --scenario policy [--loads 3] [--requests 10000]
import { parseArgs } from "node:util";
import { ensureH2load } from "./h2load.js";
import { measure, sampleGrpcStatus } from "./measure.js";
import { startFake } from "./processes.js";
import { grpcBody, scenario, SERVICE } from "./scenarios.js";
import { startGateway } from "./targets.js";

const { values } = parseArgs({ options: { scenario: { type: "string", default: "policy" }, loads: { type: "string", default: "3" }, requests: { type: "string", default: "10000" } } });
ensureH2load();
const s = scenario(values.scenario);
const fake = await startFake();
const gateway = await startGateway(s.document(fake.port));
try {
  const spec = { url: `${gateway.baseUrl}${SERVICE}/${s.method}`, body: grpcBody(s), headers: ["content-type: application/grpc", "te: trailers", ...s.headers], h1: false };
  const load = (requests: number) => measure({ spec, shape: { kind: "closed", requests, connections: 4, streams: 16 }, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall });
  await load(2_000);
  for (let i = 0; i < Number(values.loads); i++) {
    const m = await load(Number(values.requests));
    const failure = m.failure ?? (await sampleGrpcStatus(gateway.baseUrl, s, 100));
    console.log(`${s.name}: ${m.rps.toFixed(0)} req/s, ${m.cpuMsPer1000.toFixed(0)} ms CPU per 1,000 calls${failure ? `, FAILED: ${failure}` : ""}`);
  }
} finally {
  await gateway.stop();
  await fake.stop();
}
