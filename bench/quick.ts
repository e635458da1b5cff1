// A quick look while working on the hot path: one scenario's gateway and (with --peer) the Portkey
// gateway, both warmed up and kept running, then alternating closed-loop loads of each, with req/s,
// CPU per 1,000 calls (all the server's threads) and the ratio of each gateway load to the Portkey
// load next to it. The full harness (npm run bench) is what RESULTS.md reports; this is for A/B work.
//   npm run bench:quick -- --scenario policy [--peer] [--loads 3] [--requests 10000] [--node-flags=--max-semi-space-size=32]
import { parseArgs } from "node:util";
import { ensureH2load, type RequestSpec } from "./h2load.js";
import { measure, sampleGrpcStatus, type Load } from "./measure.js";
import { startFake } from "./processes.js";
import { grpcBody, scenario, SERVICE } from "./scenarios.js";
import { ensurePeer, peerHeaders, startGateway, startPeer, type Server } from "./targets.js";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "policy" },
    peer: { type: "boolean", default: false },
    loads: { type: "string", default: "3" },
    requests: { type: "string", default: "10000" },
    "node-flags": { type: "string", default: "" },
  },
});
ensureH2load();
if (values.peer) ensurePeer();
const s = scenario(values.scenario);
const requests = Number(values.requests);
const fake = await startFake();
const servers: Server[] = [];
try {
  const gateway = await startGateway(s.document(fake.port), values["node-flags"].split(" ").filter((f) => f !== ""));
  servers.push(gateway);
  const gatewaySpec: RequestSpec = { url: `${gateway.baseUrl}${SERVICE}/${s.method}`, body: grpcBody(s), headers: ["content-type: application/grpc", "te: trailers", ...s.headers], h1: false };
  const gatewayLoad = (n: number): Load => ({ spec: gatewaySpec, shape: { kind: "closed", requests: n, connections: 4, streams: 16 }, fakePort: fake.port, serverPid: gateway.pid, upstreamPerCall: s.upstreamPerCall });
  let peerLoad: ((n: number) => Load) | undefined;
  if (values.peer) {
    const peer = await startPeer();
    servers.push(peer);
    const spec: RequestSpec = { url: `${peer.baseUrl}/v1/chat/completions`, body: scenario("unary").directBody, headers: peerHeaders(fake.port), h1: true };
    peerLoad = (n) => ({ spec, shape: { kind: "closed", requests: n, connections: 32, streams: 1 }, fakePort: fake.port, serverPid: peer.pid, upstreamPerCall: { ok: 1, failed: 0 } });
    await measure(peerLoad(2_000));
  }
  await measure(gatewayLoad(2_000));
  for (let i = 0; i < Number(values.loads); i++) {
    const m = await measure(gatewayLoad(requests));
    const failure = m.failure ?? (await sampleGrpcStatus(gateway.baseUrl, s, 100));
    let line = `${s.name}: ${m.rps.toFixed(0)} req/s, ${m.cpuMsPer1000.toFixed(0)} ms CPU per 1,000 calls${failure ? `, FAILED: ${failure}` : ""}`;
    if (peerLoad) {
      const p = await measure(peerLoad(Math.round(requests / 2)));
      line += ` | Portkey ${p.rps.toFixed(0)} req/s, ${p.cpuMsPer1000.toFixed(0)} ms${p.failure ? `, FAILED: ${p.failure}` : ""} | ratio ${(m.rps / p.rps).toFixed(2)}×`;
    }
    console.log(line);
  }
} finally {
  for (const server of servers) await server.stop();
  await fake.stop();
}
