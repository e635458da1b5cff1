// The grpc-js client against a real gateway over a real socket: unary and streamed answers with the
// API key on every call, error statuses with their google.rpc details, and a deadline set in the
// client enforced by the gateway (DEADLINE_EXCEEDED, the upstream request aborted) — also for the
// Connect client.
import test, { type ExecutionContext } from "ava";
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcInferenceClient, targetOf } from "../../clients/grpc-client.js";
import { grpcErrorDetails } from "../../clients/error-details.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { createInferenceClient, userText } from "../../clients/inference-client.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "../helpers/gateway.js";

const KEY = "sk-client-test-search-0001";

async function setup(t: ExecutionContext) {
  const fake = await useFake(t, () => startOpenAIFake());
  const provider = { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-0000000" };
  const gw = await startTestGateway(t, {
    ...singleProviderConfig(provider),
    teams: { search: {} },
    keys: [{ name: "search-api", team: "search", secret: KEY }],
  });
  const client = createGrpcInferenceClient({ addresses: [gw.gateway.address], apiKey: KEY, timeoutMs: 10_000 });
  t.teardown(() => client.close());
  return { fake, gw, client };
}

/** One answered call first, so the deadline under test is not spent loading the tokenizer. */
async function warm(fake: Awaited<ReturnType<typeof setup>>["fake"], client: Awaited<ReturnType<typeof setup>>["client"]) {
  fake.enqueue({ kind: "reply", text: "warm" });
  await client.complete({ model: "chat", messages: [userText("warm up")] });
}

async function rejection<T>(promise: Promise<T>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded");
}

test("grpc-client-complete-and-stream-carry-the-api-key", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "unary answer", usage: { input: 10, output: 3 } }, { kind: "reply", chunks: ["str", "eamed"], usage: { input: 12, output: 2 } });
  const response = await client.complete({ model: "chat", messages: [userText("Hi")] });
  t.is(response.message?.content[0]?.part.value, "unary answer");
  t.is(response.usage?.inputTokens, 10n);
  t.true((response.usage?.costNanoUsd ?? 0n) > 0n);
  const texts: string[] = [];
  let doneSeen = false;
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Stream")] })) {
    if (chunk.event.case === "textDelta") texts.push(chunk.event.value.text);
    if (chunk.event.case === "done") doneSeen = chunk.event.value.usage?.outputTokens === 2n;
  }
  t.is(texts.join(""), "streamed");
  t.true(doneSeen, "the stream ends with a done carrying the usage");
  const models = await client.listModels();
  t.deepEqual(models.models.map((m) => m.name), ["chat"]);
});

test("grpc-client-without-key-is-unauthenticated", async (t) => {
  const { gw, fake } = await setup(t);
  const anonymous = createGrpcInferenceClient({ addresses: [gw.gateway.address], timeoutMs: 5_000 });
  t.teardown(() => anonymous.close());
  const error = (await rejection(anonymous.complete({ model: "chat", messages: [userText("Hi")] }))) as ServiceError;
  t.is(error.code, GrpcStatus.UNAUTHENTICATED);
  t.is(fake.requests.length, 0);
});

test("grpc-client-error-details-name-the-bad-field", async (t) => {
  const { client } = await setup(t);
  const error = (await rejection(client.complete({ model: "chat", messages: [] }))) as ServiceError;
  t.is(error.code, GrpcStatus.INVALID_ARGUMENT);
  const badRequest = grpcErrorDetails(error).find((d) => d.$typeName === BadRequestSchema.typeName);
  t.truthy(badRequest, "a BadRequest detail arrives through the trailer");
});

test("client-deadline-is-enforced-by-the-gateway: DEADLINE_EXCEEDED and the upstream aborted (grpc-js)", async (t) => {
  const { fake, client } = await setup(t);
  await warm(fake, client);
  fake.enqueue({ kind: "hang" });
  const started = Date.now();
  const error = (await rejection(client.complete({ model: "chat", messages: [userText("slow")] }, { timeoutMs: 300 }))) as ServiceError;
  t.is(error.code, GrpcStatus.DEADLINE_EXCEEDED);
  t.true(Date.now() - started < 5_000);
  await fake.last().ended;
  t.true(fake.last().aborted, "the gateway aborted the upstream request");
  await fake.settled();
});

test("client-deadline-is-enforced-by-the-gateway: the stream's upstream is aborted too (grpc-js)", async (t) => {
  const { fake, client } = await setup(t);
  await warm(fake, client);
  fake.enqueue({ kind: "reply", chunks: ["a", "b", "c", "d"], chunkDelayMs: 2_000 });
  const error = await rejection(
    (async () => {
      for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("slow stream")] }, { timeoutMs: 500 })) void chunk;
    })(),
  );
  t.is((error as ServiceError).code, GrpcStatus.DEADLINE_EXCEEDED);
  await fake.last().ended;
  t.true(fake.last().aborted);
});

test("client-deadline-is-enforced-by-the-gateway: the Connect client's timeoutMs too", async (t) => {
  const { fake, gw, client } = await setup(t);
  await warm(fake, client);
  const connect = createInferenceClient({ baseUrl: gw.baseUrl, apiKey: KEY, timeoutMs: 300 });
  fake.enqueue({ kind: "hang" });
  const error = ConnectError.from(await rejection(connect.complete({ model: "chat", messages: [userText("slow")] })));
  t.is(error.code, Code.DeadlineExceeded);
  await fake.last().ended;
  t.true(fake.last().aborted);
});

test("grpc-client-target-names-every-address", (t) => {
  t.is(targetOf({ addresses: ["127.0.0.1:1", "127.0.0.1:2"] }), "ipv4:127.0.0.1:1,127.0.0.1:2");
  t.is(targetOf({ addresses: ["[::1]:1", "[::1]:2"] }), "ipv6:[::1]:1,[::1]:2");
  t.is(targetOf({ addresses: ["gateway.internal:50051"] }), "dns:///gateway.internal:50051");
  t.is(targetOf({ target: "dns:///gw:1", addresses: ["127.0.0.1:1"] }), "dns:///gw:1");
  t.throws(() => targetOf({ addresses: ["a:1", "b:2"] }), { message: /dns:\/\/\// });
  t.throws(() => targetOf({}), { message: /addresses or target/ });
});

test("grpc-client-abort-signal-cancels-and-the-upstream-is-aborted", async (t) => {
  const { fake, client } = await setup(t);
  await warm(fake, client);
  fake.enqueue({ kind: "hang" });
  const controller = new AbortController();
  const pending = rejection(client.complete({ model: "chat", messages: [userText("never mind")] }, { signal: controller.signal }));
  while (fake.requests.length < 2) await new Promise((resolve) => setImmediate(resolve));
  controller.abort();
  t.is(((await pending) as ServiceError).code, GrpcStatus.CANCELLED);
  await fake.last().ended;
  t.true(fake.last().aborted);
});

test("grpc-client-leaving-a-stream-early-aborts-the-upstream", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", chunks: ["first", "second", "third"], chunkDelayMs: 1_000 });
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("just the first")] })) {
    if (chunk.event.case === "textDelta") break;
  }
  await fake.last().ended;
  t.true(fake.last().aborted, "breaking out of the loop ends the call and the gateway aborts the upstream");
});
