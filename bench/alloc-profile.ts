// Where the gateway's request path allocates: V8's sampling heap profiler (bench/alloc-sampler.mjs,
// collected objects included) over a unary gRPC load, summarised as bytes per call by allocating
// frame and by the first gateway frame on its stack. GC is ~9 % of the CPU profile; this says who
// feeds it.
//   npm run bench:alloc [-- --scenario policy] [-- --requests N]
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureH2load, runLoad } from "./h2load.js";
import { ROOT, startFake } from "./processes.js";
import { grpcBody, scenario, SERVICE } from "./scenarios.js";
import { startGateway } from "./targets.js";
import { waitUntil } from "./measure.js";

type AllocNode = { id: number; callFrame: { functionName: string; url: string; columnNumber: number }; children: AllocNode[] };
type AllocProfile = { head: AllocNode; samples: { nodeId: number; size: number }[] };

const frameName = (n: AllocNode) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").slice(-2).join("/")}`;

export function summariseAllocations(profile: AllocProfile, calls: number, top = 20): string {
  const byId = new Map<number, AllocNode>();
  const parent = new Map<number, number>();
  const walk = (node: AllocNode) => {
    byId.set(node.id, node);
    for (const child of node.children) {
      parent.set(child.id, node.id);
      walk(child);
    }
  };
  walk(profile.head);
  const bySelf = new Map<string, number>();
  const byGatewayFrame = new Map<string, number>();
  let total = 0;
  for (const { nodeId, size } of profile.samples) {
    total += size;
    const self = frameName(byId.get(nodeId)!);
    bySelf.set(self, (bySelf.get(self) ?? 0) + size);
    let at: number | undefined = nodeId;
    while (at !== undefined && !byId.get(at)!.callFrame.url.includes("/server/")) at = parent.get(at);
    const gateway = at === undefined ? "(no gateway frame: platform and libraries on their own)" : frameName(byId.get(at)!);
    byGatewayFrame.set(gateway, (byGatewayFrame.get(gateway) ?? 0) + size);
  }
  const rows = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, bytes]) => `  ${(bytes / calls).toFixed(0).padStart(7)} B  ${name}`);
  return [`allocated per call (sampled): ${(total / calls / 1024).toFixed(1)} KiB`, "", "by allocating frame:", ...rows(bySelf), "", "by the first gateway frame on the stack:", ...rows(byGatewayFrame)].join("\n");
}

const isMain = process.argv[1]?.endsWith("alloc-profile.ts");
if (isMain) {
  const { values } = parseArgs({ options: { requests: { type: "string", default: "20000" }, scenario: { type: "string", default: "policy" } } });
  ensureH2load();
  const out = join(tmpdir(), `switchboard-alloc-${process.pid}.json`);
  process.env.SWITCHBOARD_ALLOC_PROFILE = out;
  const s = scenario(values.scenario);
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port), ["--import", join(ROOT, "bench/alloc-sampler.mjs")]);
  const spec = { url: `${gateway.baseUrl}${SERVICE}/${s.method}`, body: grpcBody(s), headers: ["content-type: application/grpc", "te: trailers", ...s.headers], h1: false };
  const result = await runLoad(spec, { kind: "closed", requests: Number(values.requests), connections: 4, streams: 16 });
  console.log(`gRPC ${s.name}: ${result.rps} req/s, ${result.succeeded}/${result.requests} succeeded`);
  process.kill(gateway.pid, "SIGUSR2");
  await waitUntil(async () => existsSync(out), 30_000, "the allocation profile");
  await gateway.stop();
  await fake.stop();
  console.log(summariseAllocations(JSON.parse(readFileSync(out, "utf8")) as AllocProfile, result.succeeded));
  rmSync(out, { force: true });
}
