// The client package as another service gets it: `npm pack` (whose prepack compiles clients/ and
// the generated code to JavaScript with declarations), `npm install` of the tarball into an empty
// project, then plain `node` (no tsx) calling a running gateway with both clients.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "../helpers/gateway.js";

const run = promisify(execFile);
const KEY = "sk-pack-test-consumer-01";

const CONSUMER = `
import { createInferenceClient, createGrpcInferenceClient, userText, streamText } from "@switchboard/client";
const [address, apiKey] = process.argv.slice(2);
const connect = createInferenceClient({ baseUrl: "http://" + address, apiKey, timeoutMs: 10000 });
const unary = await connect.complete({ model: "chat", messages: [userText("from connect")] });
let streamed = "";
for await (const text of streamText(connect, { model: "chat", messages: [userText("stream")] })) streamed += text;
const grpc = createGrpcInferenceClient({ addresses: [address], apiKey, timeoutMs: 10000 });
const viaGrpc = await grpc.complete({ model: "chat", messages: [userText("from grpc-js")] });
grpc.close();
console.log(JSON.stringify({
  connect: unary.message.content[0].part.value,
  streamed,
  grpc: viaGrpc.message.content[0].part.value,
  cost: String(viaGrpc.usage.costNanoUsd),
}));
`;

test("packed-client-installs-into-an-empty-project-and-calls-the-gateway-with-plain-node", async (t) => {
  t.timeout(300_000);
  const fake = await useFake(t, () => startOpenAIFake());
  fake.enqueue(
    { kind: "reply", text: "connect answer", usage: { input: 5, output: 2 } },
    { kind: "reply", chunks: ["str", "eam"], usage: { input: 5, output: 2 } },
    { kind: "reply", text: "grpc answer", usage: { input: 5, output: 2 } },
  );
  const gw = await startTestGateway(t, {
    ...singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-0000000" }),
    teams: { search: {} },
    keys: [{ name: "consumer", team: "search", secret: KEY }],
  });

  const dir = await mkdtemp(join(tmpdir(), "sb-pack-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: "clients", maxBuffer: 16 << 20 });
  const [manifest] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = manifest.files.map((f) => f.path);
  t.true(files.includes("dist/clients/index.js") && files.includes("dist/clients/index.d.ts"));
  t.true(files.includes("dist/gen/switchboard/v1/inference_pb.js"), "the generated code travels inside the package");
  t.false(files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no TypeScript sources");

  const project = join(dir, "consumer");
  await run("mkdir", ["-p", project]);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, manifest.filename)], { cwd: project, maxBuffer: 16 << 20 });
  // Only what a client needs: none of the server's SDKs or native modules came along.
  for (const serverOnly of ["openai", "better-sqlite3", "@anthropic-ai/sdk", "@aws-sdk/client-bedrock-runtime", "tsx"]) {
    t.false(existsSync(join(project, "node_modules", serverOnly)), `${serverOnly} is not installed`);
  }
  const installed = JSON.parse(await readFile(join(project, "node_modules/@switchboard/client/package.json"), "utf8")) as { name: string };
  t.is(installed.name, "@switchboard/client");

  await writeFile(join(project, "call.mjs"), CONSUMER);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS"));
  const called = await run(process.execPath, ["call.mjs", gw.gateway.address, KEY], { cwd: project, env });
  const result = JSON.parse(called.stdout) as Record<string, string>;
  t.is(result.connect, "connect answer");
  t.is(result.streamed, "stream");
  t.is(result.grpc, "grpc answer");
  t.true(BigInt(result.cost) > 0n);
  t.is(fake.requests.length, 3);
});
