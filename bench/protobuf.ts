// What protobuf-es costs per message on the bench's request path, in µs per operation: decoding
// the request and encoding it again (the audit hash), encoding the answer a unary call returns and
// one stream chunk. Run it before and after a protobuf-es change: the runtime went from 2.13.0 to
// 2.17.0 (a compiled writer over one growing buffer) on these figures, in bench/RESULTS.md.
//   npm run bench:protobuf
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  CompleteChunkSchema,
  CompleteRequestSchema,
  CompleteResponseSchema,
  FinishReason,
  Role,
} from "../gen/switchboard/v1/inference_pb.js";
import { scenario } from "./scenarios.js";

const usage = { inputTokens: 5n, outputTokens: 1n, costNanoUsd: 1_350n, priced: true };
// What the gateway answers the bench's unary call, field for field.
const answer = create(CompleteResponseSchema, {
  id: "chatcmpl-bench",
  finishReason: FinishReason.STOP,
  message: { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "pong" } }] },
  usage,
  route: {
    provider: "up",
    targetModel: "gpt-4o-mini",
    attempts: 1,
    modelVersion: "gpt-4o-mini",
    alias: "chat",
    providerType: "openai",
    attemptLog: [{ provider: "up", targetModel: "gpt-4o-mini", outcome: "ok", durationMs: 1, usage }],
  },
});
const chunk = create(CompleteChunkSchema, { event: { case: "textDelta", value: { text: "tok " } } });
const request = create(CompleteRequestSchema, scenario("policy").request);
const requestBytes = toBinary(CompleteRequestSchema, request);

const encode = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>) => () => toBinary(schema, message).length;
const cases: [string, () => unknown][] = [
  ["decode the request", () => fromBinary(CompleteRequestSchema, requestBytes)],
  ["encode the request (audit hash)", encode(CompleteRequestSchema, request)],
  ["encode the unary answer", encode(CompleteResponseSchema, answer)],
  ["encode one stream chunk", encode(CompleteChunkSchema, chunk)],
];

function microsPerOp(run: () => unknown, ops: number): number {
  for (let i = 0; i < 20_000; i++) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) run();
  return Number(process.hrtime.bigint() - start) / ops / 1_000;
}

// The package exports no package.json; read the copy node resolves from this file.
const entry = fileURLToPath(import.meta.resolve("@bufbuild/protobuf"));
const { version } = JSON.parse(readFileSync(join(entry.slice(0, entry.lastIndexOf("/dist/")), "package.json"), "utf8")) as { version: string };
console.log(`protobuf-es ${version}, Node ${process.version}; µs per operation, best of three passes`);
for (const [name, run] of cases) {
  const passes = [0, 1, 2].map(() => microsPerOp(run, 200_000));
  console.log(`${name.padEnd(34)} ${Math.min(...passes).toFixed(2).padStart(7)}`);
}
