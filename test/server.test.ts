// The server as a product: reflection, health, protocols on one port, bad input, shutdown.
import test from "ava";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { InferenceService, Role } from "../gen/switchboard/v1/inference_pb.js";
import { parts, userText } from "../clients/inference-client.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

async function setup(t: Parameters<typeof startTestGateway>[0]) {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-key-000000" }));
  return { fake, ...gw };
}

async function* one<T>(message: T) {
  yield message;
}

for (const [version, api] of [
  ["v1", reflectionV1],
  ["v1alpha", reflectionV1alpha],
] as const) {
  test(`reflection ${version}: list services, file containing symbol, file by name`, async (t) => {
    const { baseUrl } = await setup(t);
    const client = createClient(api.ServerReflection as typeof reflectionV1.ServerReflection, createGrpcTransport({ baseUrl }));
    const ask = async (messageRequest: reflectionV1.ServerReflectionRequest["messageRequest"]) => {
      for await (const res of client.serverReflectionInfo(one({ messageRequest }))) return res.messageResponse;
      throw new Error("no reflection response");
    };
    const list = await ask({ case: "listServices", value: "" });
    t.is(list?.case, "listServicesResponse");
    const names = list?.case === "listServicesResponse" ? list.value.service.map((s) => s.name) : [];
    t.deepEqual(names.sort(), [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "switchboard.v1.AdminService",
      "switchboard.v1.InferenceService",
    ]);

    const bySymbol = await ask({ case: "fileContainingSymbol", value: "switchboard.v1.InferenceService" });
    if (bySymbol?.case !== "fileDescriptorResponse") return t.fail("no file descriptor");
    const files = bySymbol.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    t.is(files[0].name, "switchboard/v1/inference.proto");
    t.true(files.some((f) => f.name === "google/protobuf/struct.proto"), "dependencies are included");
    t.true(files[0].service.some((s) => s.name === "InferenceService"));

    const byMethod = await ask({ case: "fileContainingSymbol", value: "switchboard.v1.InferenceService.StreamComplete" });
    t.is(byMethod?.case, "fileDescriptorResponse");
    const nested = await ask({ case: "fileContainingSymbol", value: "switchboard.v1.ToolChoice.Mode" });
    t.is(nested?.case, "fileDescriptorResponse");

    const byName = await ask({ case: "fileByFilename", value: "grpc/health/v1/health.proto" });
    if (byName?.case !== "fileDescriptorResponse") return t.fail("no file by name");
    t.is(fromBinary(FileDescriptorProtoSchema, byName.value.fileDescriptorProto[0]).package, "grpc.health.v1");

    const missing = await ask({ case: "fileContainingSymbol", value: "no.such.Thing" });
    t.is(missing?.case, "errorResponse");
    t.is(missing?.case === "errorResponse" ? missing.value.errorCode : 0, Code.NotFound);
  });
}

test("health: Check says SERVING, unknown service is NOT_FOUND, Watch sees shutdown", async (t) => {
  const { baseUrl, gateway } = await setup(t);
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  t.is((await health.check({ service: "" })).status, Serving.SERVING);
  t.is((await health.check({ service: "switchboard.v1.InferenceService" })).status, Serving.SERVING);
  const error = await t.throwsAsync(health.check({ service: "nope.Service" }));
  t.is(ConnectError.from(error).code, Code.NotFound);

  const seen: Serving[] = [];
  const watching = (async () => {
    // No early exit: the server itself ends Watch streams on shutdown so they cannot hold the drain open.
    for await (const res of health.watch({ service: "switchboard.v1.InferenceService" })) seen.push(res.status);
  })();
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  gateway.health.shutdown();
  await watching;
  t.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING]);
});

test("gRPC (HTTP/2), gRPC-Web and Connect (HTTP/1.1) on the main port; gRPC-Web and Connect over both on web_listen", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const { baseUrl, gateway } = await startTestGateway(
    t,
    singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-key-000000" }, "gpt-4o-mini", { web_listen: "127.0.0.1:0" }),
  );
  const webUrl = `http://${gateway.webAddress}`;
  const transports = {
    "main grpc": createGrpcTransport({ baseUrl }),
    "main grpc-web http/1.1": createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    "main connect http/1.1": createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    "web grpc-web h2": createGrpcWebTransport({ baseUrl: webUrl, httpVersion: "2" }),
    "web grpc-web http/1.1": createGrpcWebTransport({ baseUrl: webUrl, httpVersion: "1.1" }),
    "web connect h2": createConnectTransport({ baseUrl: webUrl, httpVersion: "2" }),
    "web connect http/1.1": createConnectTransport({ baseUrl: webUrl, httpVersion: "1.1" }),
  };
  for (const [name, transport] of Object.entries(transports)) {
    const client = createClient(InferenceService, transport);
    const res = await client.complete({ model: "chat", messages: [userText(name)] });
    t.is(res.message?.content[0]?.part.value, `echo: ${name}`, name);
    let streamed = "";
    for await (const chunk of client.streamComplete({ model: "chat", messages: [userText(name)] })) {
      if (chunk.event.case === "textDelta") streamed += chunk.event.value.text;
    }
    t.is(streamed, `echo: ${name}`, `${name} streaming`);
  }
});

test("unknown alias → NOT_FOUND naming the known aliases", async (t) => {
  const { client } = await setup(t);
  const error = ConnectError.from(await t.throwsAsync(client.complete({ model: "gpt-5-turbo", messages: [userText("Hi")] })));
  t.is(error.code, Code.NotFound);
  t.regex(error.rawMessage, /unknown model alias "gpt-5-turbo" \(known: chat\)/);
});

const invalid: [string, Parameters<ReturnType<typeof createClient<typeof InferenceService>>["complete"]>[0], string][] = [
  ["no messages", { model: "chat", messages: [] }, "messages"],
  ["no model", { messages: [userText("Hi")] }, "model"],
  ["empty content part", { model: "chat", messages: [{ role: Role.USER, content: [{}] }] }, "messages[0].content[0]"],
  ["no content", { model: "chat", messages: [{ role: Role.USER, content: [] }] }, "messages[0].content"],
  ["unspecified role", { model: "chat", messages: [{ content: [parts.text("x")] }] }, "messages[0].role"],
  ["unknown role", { model: "chat", messages: [userText("a"), { role: 9 as Role, content: [parts.text("x")] }] }, "messages[1].role"],
  ["bad temperature", { model: "chat", messages: [userText("Hi")], generation: { temperature: 5 } }, "generation.temperature"],
  [
    "image without mime type",
    { model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "data", value: new Uint8Array([1]) } } } }] }] },
    "messages[0].content[0].image.mime_type",
  ],
  [
    "tool call arguments not JSON",
    { model: "chat", messages: [{ role: Role.ASSISTANT, content: [{ part: { case: "toolCall", value: { id: "c1", name: "f", argumentsJson: "{oops" } } }] }] },
    "messages[0].content[0].tool_call.arguments_json",
  ],
  ["tool choice names a missing tool", { model: "chat", messages: [userText("Hi")], toolChoice: { mode: 4, toolName: "nope" } }, "tool_choice.tool_name"],
];

for (const [name, request, field] of invalid) {
  test(`bad input: ${name} → INVALID_ARGUMENT naming ${field}`, async (t) => {
    const { client, fake } = await setup(t);
    const error = ConnectError.from(await t.throwsAsync(client.complete(request)));
    t.is(error.code, Code.InvalidArgument);
    const violations = error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field) ?? [];
    t.true(violations.includes(field), `violations: ${violations.join(", ")}`);
    t.true(error.rawMessage.includes(field));
    t.is(fake.requests.length, 0, "nothing reached the upstream");
    // The server is still fine afterwards.
    t.is((await client.complete({ model: "chat", messages: [userText("still up")] })).message?.content[0]?.part.value, "echo: still up");
  });
}

test("ListModels shows aliases and their targets", async (t) => {
  const { client } = await setup(t);
  const res = await client.listModels({});
  t.is(res.models.length, 1);
  t.is(res.models[0].name, "chat");
  t.is(res.models[0].targets[0].provider, "upstream");
  t.is(res.models[0].targets[0].providerType, "openai");
  t.is(res.models[0].targets[0].model, "gpt-4o-mini");
});

test("graceful close: an in-flight stream finishes, new calls are refused", async (t) => {
  const { client, fake, gateway } = await setup(t);
  fake.enqueue({ kind: "reply", chunks: ["a", "b", "c", "d"], chunkDelayMs: 100 });
  let closed: Promise<void> | undefined;
  let text = "";
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Hi")] })) {
    if (chunk.event.case !== "textDelta") continue;
    text += chunk.event.value.text;
    closed ??= gateway.close(5000); // close while the stream is in flight
  }
  t.is(text, "abcd");
  await closed;
  await t.throwsAsync(client.complete({ model: "chat", messages: [userText("late")] }, { timeoutMs: 1000 }));
});

test("garbage on the port, HTTP/1 junk and a malformed Connect body do not hurt the server", async (t) => {
  const { baseUrl, client } = await setup(t);
  const { port } = new URL(baseUrl);
  const net = await import("node:net");
  for (const junk of ["\x00\x01\x02garbage\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff"]) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => socket.end(junk, "latin1"));
      socket.on("data", () => undefined);
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });
  }
  const broken = await fetch(`${baseUrl}/switchboard.v1.InferenceService/Complete`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"model": 5, "messages": "nope"',
  });
  t.is(broken.status, 400, "a malformed Connect body is a clean error");
  t.is((await client.complete({ model: "chat", messages: [userText("still here")] })).message?.content[0]?.part.value, "echo: still here");
});
