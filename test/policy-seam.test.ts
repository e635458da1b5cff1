// The policy seam: one chain of plain functions sees every call, whatever protocol carried it, and
// a step's rejection reaches the caller with the same code on gRPC, gRPC-Web and Connect.
import http2 from "node:http2";
import test from "ava";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { CompleteRequestSchema, InferenceService } from "../gen/switchboard/v1/inference_pb.js";
import { userText } from "../clients/inference-client.js";
import type { Cancel } from "../server/core/cancel.js";
import type { CallOutcome, InboundCall, PolicyStep } from "../server/policy/chain.js";
import type { CompletionRequest } from "../server/core/types.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { grpcFrame } from "./helpers/raw-rpc.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

async function setup(t: Parameters<typeof startTestGateway>[0], step: PolicyStep) {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(
    t,
    singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-key-000000" }, "gpt-4o-mini", { web_listen: "127.0.0.1:0" }),
    { policy: [step] },
  );
  const webUrl = `http://${gw.gateway.webAddress}`;
  const transports: Record<string, Transport> = {
    grpc: createGrpcTransport({ baseUrl: gw.baseUrl }),
    "grpc-web": createGrpcWebTransport({ baseUrl: gw.baseUrl, httpVersion: "1.1" }),
    connect: createConnectTransport({ baseUrl: gw.baseUrl, httpVersion: "1.1" }),
    "connect h2 (web_listen)": createConnectTransport({ baseUrl: webUrl, httpVersion: "2" }),
  };
  return { fake, transports };
}

test("a policy step sees every protocol's calls, with headers, deadline and the neutral request, and settles each", async (t) => {
  const seen: { call: InboundCall; alias?: string; caller?: string }[] = [];
  const outcomes: CallOutcome[] = [];
  const step: PolicyStep = (call, request) => {
    seen.push({ call, alias: (request as CompletionRequest | undefined)?.alias, caller: call.header("x-caller") });
    return { caller: { name: call.header("x-caller") ?? "anonymous" }, settle: (outcome) => outcomes.push(outcome) };
  };
  const { transports } = await setup(t, step);
  for (const [name, transport] of Object.entries(transports)) {
    const client = createClient(InferenceService, transport);
    const res = await client.complete({ model: "chat", messages: [userText(name)] }, { headers: { "x-caller": name }, timeoutMs: 5000 });
    t.is(res.message?.content[0]?.part.value, `echo: ${name}`);
    for await (const chunk of client.streamComplete({ model: "chat", messages: [userText(name)] }, { headers: { "x-caller": name } })) void chunk;
    await client.listModels({}, { headers: { "x-caller": name } });
  }
  t.deepEqual(
    seen.map((s) => `${s.call.protocol}:${s.call.method}:${s.caller}`),
    Object.keys(transports).flatMap((name) => {
      const protocol = name.startsWith("connect") ? "connect" : name;
      return ["complete", "stream_complete", "list_models"].map((method) => `${protocol}:${method}:${name}`);
    }),
  );
  t.true(seen.filter((s) => s.call.method === "complete").every((s) => s.alias === "chat" && s.call.deadline !== undefined && s.call.deadline > Date.now()));
  t.is(outcomes.length, seen.length, "every admitted call is settled once");
  t.true(outcomes.every((o) => o.code === 0));
  t.true(outcomes.filter((o) => o.usage !== undefined).every((o) => o.provider === "upstream" && o.usage!.inputTokens > 0));
});

test("a step's rejection reaches the caller with the same code and message on every protocol, and nothing reaches the upstream", async (t) => {
  const step: PolicyStep = (call) => {
    if (call.header("x-key") !== "good") throw new ConnectError("unknown virtual key", Code.PermissionDenied);
    return {};
  };
  const { fake, transports } = await setup(t, step);
  for (const [name, transport] of Object.entries(transports)) {
    const client = createClient(InferenceService, transport);
    const unary = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }, { headers: { "x-key": "bad" } })));
    t.is(unary.code, Code.PermissionDenied, name);
    t.is(unary.rawMessage, "unknown virtual key", name);
    const stream = ConnectError.from(
      await t.throwsAsync(async () => {
        for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Hi")] })) void chunk;
      }),
    );
    t.is(stream.code, Code.PermissionDenied, `${name} stream`);
    const allowed = await client.complete({ model: "chat", messages: [userText("ok")] }, { headers: { "x-key": "good" } });
    t.is(allowed.message?.content[0]?.part.value, "echo: ok");
  }
  t.is(fake.requests.length, Object.keys(transports).length, "only the admitted calls reached the upstream");
});

test("finished-grpc-call-is-not-reported-cancelled: a call that got its answer never aborts the cancel policy and routing saw", async (t) => {
  const signals: Cancel[] = [];
  const step: PolicyStep = (call) => {
    signals.push(call.cancel);
    return {};
  };
  const { transports } = await setup(t, step);
  const client = createClient(InferenceService, transports.grpc!);
  await client.complete({ model: "chat", messages: [userText("unary")] }, { timeoutMs: 5000 });
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("stream")] }, { timeoutMs: 5000 })) void chunk;
  // grpc-js tells "cancelled" on the tick after it sent the status: by the next macrotask it has.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(signals.length, 2);
  t.deepEqual(signals.map((s) => s.aborted), [false, false]);
});

test("response-headers-ride-with-the-answer: headers a step sets wait for the call's answer instead of going out while it waits", async (t) => {
  let entered!: () => void;
  const stepEntered = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const step: PolicyStep = async (call) => {
    call.setResponseHeader?.("x-step", "set");
    entered();
    await gate;
    return {};
  };
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-key-000000" }), { policy: [step] });
  const session = http2.connect(gw.baseUrl);
  t.teardown(() => session.destroy());
  const stream = session.request({ ":method": "POST", ":path": "/switchboard.v1.InferenceService/Complete", "content-type": "application/grpc", te: "trailers" });
  let headers: http2.IncomingHttpHeaders | undefined;
  stream.on("response", (h) => (headers = h));
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on("trailers", resolve));
  stream.on("data", () => undefined);
  stream.end(grpcFrame(toBinary(CompleteRequestSchema, create(CompleteRequestSchema, { model: "chat", messages: [userText("held")] }))));
  await stepEntered;
  // A PING's ack is written after whatever the server wrote before it: had the headers gone out
  // when the step set them, they would be here by now.
  await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
  t.is(headers, undefined);
  release();
  t.is((await trailers)["grpc-status"], "0");
  t.is(headers?.["x-step"], "set");
  t.regex(String(headers?.["x-request-id"]), /^[0-9a-f-]{36}$/);
});
