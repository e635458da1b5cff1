// Hostile and broken input, byte for byte: each gets its exact status, and the gateway keeps serving.
import test, { type ExecutionContext } from "ava";
import { create, toBinary } from "@bufbuild/protobuf";
import { CompleteRequestSchema, Role } from "../gen/switchboard/v1/inference_pb.js";
import { userText } from "../clients/inference-client.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";
import { connectErrorCode, grpcFrame, grpcWebStatus, rawGrpc, rawHttp1 } from "./helpers/raw-rpc.js";

const MAX_MESSAGE_BYTES = 256 * 1024;
const COMPLETE = "/switchboard.v1.InferenceService/Complete";
const STREAM = "/switchboard.v1.InferenceService/StreamComplete";
const OK = 0;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;

const bytes = (...values: number[]) => Uint8Array.from(values);
const encode = (init: Parameters<typeof create<typeof CompleteRequestSchema>>[1]) => toBinary(CompleteRequestSchema, create(CompleteRequestSchema, init));
const hello = encode({ model: "chat", messages: [userText("Hi")] });
const hugeModel = "m".repeat(100_000);

/** Bodies protobuf cannot decode as a CompleteRequest. */
const undecodable: [string, Uint8Array][] = [
  ["invalid UTF-8 in a string field", bytes(0x0a, 0x02, 0xff, 0xfe)],
  ["truncated (length runs past the end)", bytes(0x0a, 0x05, 0x61, 0x62)],
  ["garbage (endless varint)", new Uint8Array(11).fill(0xff)],
  ["wrong wire type (messages as a varint)", bytes(0x12, 0x05, 0x08)],
  ["illegal wire type 7", bytes(0x0f)],
];

async function setup(t: ExecutionContext) {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(
    t,
    singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-key-000000" }, "gpt-4o-mini", {
      max_message_bytes: MAX_MESSAGE_BYTES,
      web_listen: "127.0.0.1:0",
    }),
  );
  return { fake, ...gw, webUrl: `http://${gw.gateway.webAddress}` };
}

/** gRPC over HTTP/2 reaches grpc-js on the main port and connect-node on the web listener. */
const DOORS = ["grpc-js", "connect-node"] as const;
type Door = (typeof DOORS)[number];

async function stillServes(t: ExecutionContext, client: Awaited<ReturnType<typeof setup>>["client"]) {
  const res = await client.complete({ model: "chat", messages: [userText("still up")] });
  t.is(res.message?.content[0]?.part.value, "echo: still up", "the gateway still serves");
}

type GrpcCase = {
  name: string;
  path?: string;
  body: Uint8Array;
  headers?: Record<string, string>;
  code?: number;
  /** Where the two libraries differ and neither can be changed without forking it. */
  codeOn?: Partial<Record<Door, number>>;
  httpStatus?: number;
};

const grpcCases: GrpcCase[] = [
  ...undecodable.map(([name, message]) => ({ name: `${name}, unary`, body: grpcFrame(message), code: INVALID_ARGUMENT })),
  ...undecodable.map(([name, message]) => ({ name: `${name}, stream`, path: STREAM, body: grpcFrame(message), code: INVALID_ARGUMENT })),
  {
    name: "frame shorter than its length prefix",
    body: Buffer.concat([bytes(0, 0, 0, 0, 100), bytes(1, 2, 3)]),
    // grpc-js drops the incomplete frame and then has no message, as for an empty body.
    codeOn: { "grpc-js": UNIMPLEMENTED, "connect-node": INVALID_ARGUMENT },
  },
  { name: "oversized message", body: grpcFrame(new Uint8Array(MAX_MESSAGE_BYTES + 1)), code: RESOURCE_EXHAUSTED },
  { name: "100 KB model name", body: grpcFrame(encode({ model: hugeModel, messages: [userText("Hi")] })), code: NOT_FOUND },
  {
    name: "100 KB metadata value in the request",
    body: grpcFrame(encode({ model: "chat", messages: [userText("Hi")], metadata: { tier: hugeModel } })),
    code: OK,
  },
  { name: "unsupported grpc-encoding", body: grpcFrame(hello, true), headers: { "grpc-encoding": "snappy" }, code: UNIMPLEMENTED },
  { name: "unknown method", path: "/switchboard.v1.InferenceService/Nope", body: grpcFrame(hello), code: UNIMPLEMENTED },
  { name: "wrong content-type", body: grpcFrame(hello), headers: { "content-type": "text/plain" }, httpStatus: 415 },
  { name: "empty body (no message)", body: new Uint8Array(0), code: UNIMPLEMENTED },
  { name: "invalid grpc-timeout", body: grpcFrame(hello), headers: { "grpc-timeout": "soon" }, code: INVALID_ARGUMENT },
  // grpc-js's timeout parser ignores the sign and reads 5 s; the header never reaches a hook.
  { name: "negative grpc-timeout", body: grpcFrame(hello), headers: { "grpc-timeout": "-5S" }, codeOn: { "grpc-js": OK, "connect-node": INVALID_ARGUMENT } },
];

for (const door of DOORS) for (const c of grpcCases) {
  test(`gRPC bad input (${door}): ${c.name}`, async (t) => {
    const { baseUrl, webUrl, client, fake } = await setup(t);
    const code = c.codeOn?.[door] ?? c.code;
    const answer = await rawGrpc(door === "grpc-js" ? baseUrl : webUrl, c.path ?? COMPLETE, c.body, c.headers);
    t.is(answer.failure, undefined, "an answer, not a reset stream");
    if (c.httpStatus !== undefined) t.is(answer.httpStatus, c.httpStatus);
    else t.is(answer.grpcStatus, code, answer.grpcMessage);
    t.true(answer.grpcMessage.length <= 2048, `bounded status message (${answer.grpcMessage.length} chars)`);
    if (c.code === UNIMPLEMENTED && c.headers?.["grpc-encoding"]) t.truthy(answer.headers["grpc-accept-encoding"], "grpc-accept-encoding tells what is supported");
    if (code !== OK) t.is(fake.requests.length, 0, "nothing reached the upstream");
    await stillServes(t, client);
  });
}

for (const door of DOORS) {
  test(`gRPC bad input (${door}): a 100 KB header is refused by HTTP/2 and hurts nothing`, async (t) => {
    const { baseUrl, webUrl, client } = await setup(t);
    const answer = await rawGrpc(door === "grpc-js" ? baseUrl : webUrl, COMPLETE, grpcFrame(hello), { "x-huge": hugeModel });
    // Over the HTTP/2 header-list limit the stream is refused before any gRPC code runs.
    t.true(answer.grpcStatus === RESOURCE_EXHAUSTED || /reset|error/.test(answer.failure ?? ""), JSON.stringify(answer));
    await stillServes(t, client);
  });
}

type HttpCase = { name: string; path?: string; body: Uint8Array | string; type: string; headers?: Record<string, string>; status: number; code?: string; grpcStatus?: number };

const connectJson = (value: unknown) => JSON.stringify(value);
const httpCases: HttpCase[] = [
  ...undecodable.map(([name, message]): HttpCase => ({ name: `Connect proto, ${name}`, body: message, type: "application/proto", status: 400, code: "invalid_argument" })),
  ...undecodable.map(([name, message]): HttpCase => ({
    name: `Connect streaming proto, ${name}`,
    path: STREAM,
    body: grpcFrame(message),
    type: "application/connect+proto",
    status: 200,
    code: "invalid_argument",
  })),
  ...undecodable.map(([name, message]): HttpCase => ({ name: `gRPC-Web, ${name}`, body: grpcFrame(message), type: "application/grpc-web+proto", status: 200, grpcStatus: INVALID_ARGUMENT })),
  { name: "Connect bad JSON", body: '{"model": 5, "messages": "nope"', type: "application/json", status: 400, code: "invalid_argument" },
  { name: "Connect empty body", body: "", type: "application/json", status: 400, code: "invalid_argument" },
  { name: "Connect wrong content-type", body: "hello", type: "text/plain", status: 415 },
  {
    name: "Connect 100 KB model name",
    body: connectJson({ model: hugeModel, messages: [{ role: "ROLE_USER", content: [{ text: "Hi" }] }] }),
    type: "application/json",
    status: 404,
    code: "not_found",
  },
  { name: "Connect oversized message", body: connectJson({ model: "x".repeat(MAX_MESSAGE_BYTES) }), type: "application/json", status: 429, code: "resource_exhausted" },
  { name: "Connect negative timeout", body: "{}", type: "application/json", headers: { "connect-timeout-ms": "-5" }, status: 400, code: "invalid_argument" },
  { name: "Connect unsupported content-encoding", body: "{}", type: "application/json", headers: { "content-encoding": "snappy" }, status: 501, code: "unimplemented" },
  { name: "Connect unknown method", path: "/switchboard.v1.InferenceService/Nope", body: "{}", type: "application/json", status: 404 },
  { name: "a 100 KB header over HTTP/1.1", body: "{}", type: "application/json", headers: { "x-huge": hugeModel }, status: 431 },
];

for (const c of httpCases) {
  test(`HTTP/1.1 bad input: ${c.name}`, async (t) => {
    const { baseUrl, client, fake } = await setup(t);
    const answer = await rawHttp1(baseUrl, c.path ?? COMPLETE, c.body, { "content-type": c.type, ...c.headers });
    if ("failure" in answer) return t.fail(answer.failure);
    t.is(answer.status, c.status);
    if (c.code !== undefined) t.is(connectErrorCode(answer.body, c.type.startsWith("application/connect+")), c.code, answer.body.toString().slice(0, 200));
    if (c.grpcStatus !== undefined) t.is(grpcWebStatus(answer), c.grpcStatus);
    t.true(answer.body.length < 4096, `bounded error body (${answer.body.length} bytes)`);
    t.is(fake.requests.length, 0, "nothing reached the upstream");
    await stillServes(t, client);
  });
}

for (const door of DOORS) test(`an error quoting caller input stays bounded in its field violations too (${door})`, async (t) => {
  const { baseUrl, webUrl, client } = await setup(t);
  const body = encode({
    model: "chat",
    messages: Array.from({ length: 100 }, () => ({ role: Role.USER, content: [{ part: { case: "image", value: { mimeType: hugeModel.slice(0, 2000), source: { case: "data", value: bytes(1) } } } }] })),
  });
  const answer = await rawGrpc(door === "grpc-js" ? baseUrl : webUrl, COMPLETE, grpcFrame(body));
  t.is(answer.grpcStatus, INVALID_ARGUMENT, answer.failure);
  t.true(answer.grpcMessage.length <= 2048);
  t.regex(answer.grpcMessage, /and \d+ more/);
  t.true(String(answer.headers["grpc-status-details-bin"] ?? "").length < 16_384, "details bounded");
  await stillServes(t, client);
});
