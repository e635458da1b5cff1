// Gateway overhead, measured: h2load drives unary Complete calls over gRPC through the gateway to a
// zero-latency fake OpenAI upstream, and the same h2load drives the fake directly, in one run.
// Reports requests/s of each and their ratio. Needs h2load (Debian: nghttp2-client).
//   npx tsx bench/unary.ts [requests=20000] [connections=4] [streams=16]
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { CompleteRequestSchema, Role } from "../gen/switchboard/v1/inference_pb.js";
import { validateConfig } from "../server/config/load.js";
import { startGateway } from "../server/gateway.js";
import { startOpenAIFake } from "../test/fakes/openai.js";

const [requests = 20000, connections = 4, streams = 16] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), "sb-bench-"));

const run = promisify(execFile);

// Asynchronous on purpose: the gateway under test lives in this process.
async function h2load(url: string, body: string, headers: string[], h1 = false): Promise<{ rps: number; ok: number; failed: number }> {
  const args = [...(h1 ? ["--h1"] : []), "-n", String(requests), "-c", String(connections), "-m", String(streams), "-d", body, ...headers.flatMap((h) => ["-H", h]), url];
  const { stdout: out } = await run("h2load", args, { encoding: "utf8", maxBuffer: 16 << 20 });
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const [, ok, failed] = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out) ?? [];
  return { rps, ok: Number(ok), failed: Number(failed) };
}

const fake = await startOpenAIFake();
fake.setProgram(() => ({ kind: "reply", text: "pong", usage: { input: 5, output: 1 } }));
const config = validateConfig(
  {
    listen: "127.0.0.1:0",
    log_level: "warn",
    providers: { up: { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-bench-000000" } },
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
  },
  "bench",
);
const gateway = await startGateway(config);

const message = toBinary(
  CompleteRequestSchema,
  create(CompleteRequestSchema, { model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "ping" } }] }] }),
);
const frame = Buffer.alloc(5 + message.length);
frame.writeUInt32BE(message.length, 1);
Buffer.from(message).copy(frame, 5);
const grpcBody = join(dir, "complete.bin");
writeFileSync(grpcBody, frame);
const openaiBody = join(dir, "chat.json");
writeFileSync(openaiBody, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "ping" }] }));

// Warm up both paths (JIT, keep-alive pools), then measure.
await h2load(`http://${gateway.address}/switchboard.v1.InferenceService/Complete`, grpcBody, ["content-type: application/grpc", "te: trailers"]);
const direct = await h2load(`${fake.url}/v1/chat/completions`, openaiBody, ["content-type: application/json"], true);
// h2load sees only HTTP status; a gRPC error hides in trailers. Every gateway call must reach the fake.
const before = fake.requests.length;
const viaGateway = await h2load(`http://${gateway.address}/switchboard.v1.InferenceService/Complete`, grpcBody, [
  "content-type: application/grpc",
  "te: trailers",
]);
const reached = fake.requests.length - before;
fake.setProgram(undefined);

console.log(`fake upstream alone (HTTP/1.1):          ${direct.rps.toFixed(0)} req/s`);
console.log(`through the gateway (gRPC):              ${viaGateway.rps.toFixed(0)} req/s (${viaGateway.failed} failed, ${reached} reached the upstream)`);
console.log(`gateway / direct: ${(viaGateway.rps / direct.rps).toFixed(2)}`);
await gateway.close(100);
await fake.close();
