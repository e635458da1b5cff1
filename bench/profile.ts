// CPU profile of the gateway process during a unary gRPC run (node --cpu-prof), summarised by
// self time per package and the top frames. The profile is written when the gateway exits (SIGTERM).
//   npm run bench:profile [-- --requests N] [-- --connect-json | --openai-api] [-- --scenario policy]
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureH2load, runLoad } from "./h2load.js";
import { ROOT, startFake } from "./processes.js";
import { BENCH_KEY, connectJsonBody, grpcBody, openaiApiBody, scenario, SERVICE } from "./scenarios.js";
import { startGateway } from "./targets.js";

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** Which package (or part of the runtime) a frame belongs to. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native / V8)";
  if (url.startsWith("node:")) return "node internals";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const inRepo = url.indexOf("/server/");
  if (inRepo >= 0) return "switchboard server/";
  if (url.includes("/gen/")) return "switchboard gen/";
  return url;
}

export function summarise(profile: CpuProfile, topFrames = 15): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)").reduce((s, [, us]) => s + us, 0);
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) - idle;
  const packages = new Map<string, number>();
  const frames = new Map<string, number>();
  const internals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    const pkg = packageOf(frame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    const where = frame.url === "" ? "" : ` [${pkg}] ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    frames.set(key, (frames.get(key) ?? 0) + us);
    if (pkg === "node internals") {
      const module = frame.url.replace(/^node:(internal\/)?/, "").split("/").slice(0, 2).join("/");
      internals.set(module, (internals.get(module) ?? 0) + us);
    }
  }
  const share = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const lines = [`busy CPU sampled: ${(total / 1000).toFixed(0)} ms (idle excluded)`, "", "self time by package:"];
  for (const [pkg, us] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${share(us)}  ${pkg}`);
  lines.push("", "node internals by module:");
  for (const [module, us] of [...internals].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`  ${share(us)}  ${module}`);
  lines.push("", `top ${topFrames} frames by self time:`);
  for (const [key, us] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, topFrames)) lines.push(`  ${share(us)}  ${key}`);
  return lines.join("\n");
}

const isMain = process.argv[1]?.endsWith("profile.ts");
if (isMain) {
  const { values } = parseArgs({ options: { requests: { type: "string", default: "20000" }, "connect-json": { type: "boolean", default: false }, "openai-api": { type: "boolean", default: false }, scenario: { type: "string", default: "unary" } } });
  ensureH2load();
  const dir = join(ROOT, "bench/.profiles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const s = scenario(values.scenario);
  const fake = await startFake();
  const gateway = await startGateway(s.document(fake.port), ["--cpu-prof", "--cpu-prof-dir", dir]);
  const url = `${gateway.baseUrl}${SERVICE}/Complete`;
  const spec = values["openai-api"]
    ? { url: `${gateway.baseUrl}/v1/chat/completions`, body: openaiApiBody, headers: ["content-type: application/json", `authorization: Bearer ${BENCH_KEY}`], h1: true }
    : values["connect-json"]
      ? { url, body: connectJsonBody(s), headers: ["content-type: application/json", ...s.headers], h1: true }
      : { url, body: grpcBody(s), headers: ["content-type: application/grpc", "te: trailers", ...s.headers], h1: false };
  const http1 = values["connect-json"] || values["openai-api"];
  const shape = http1
    ? { kind: "closed" as const, requests: Number(values.requests), connections: 32, streams: 1 }
    : { kind: "closed" as const, requests: Number(values.requests), connections: 4, streams: 16 };
  const result = await runLoad(spec, shape);
  console.log(`${values["openai-api"] ? "OpenAI API" : values["connect-json"] ? "Connect JSON" : "gRPC"} unary: ${result.rps} req/s, ${result.succeeded}/${result.requests} succeeded`);
  await gateway.stop();
  await fake.stop();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did the gateway exit cleanly?`);
  console.log(`profile: bench/.profiles/${file}\n`);
  console.log(summarise(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile));
}
