// The SageMaker adapter: what goes on the wire (SigV4, target headers, both payload formats), PayloadPart
// streams cut at every byte size, ModelError's OriginalStatusCode, estimated usage. Through the gateway
// where the client-visible result matters, on the adapter directly where the exact error kind does.
import test, { type ExecutionContext } from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { FinishReason, Role, type CompleteChunk } from "../gen/switchboard/v1/inference_pb.js";
import { parts, systemText, userText } from "../clients/inference-client.js";
import { UpstreamError, type UpstreamErrorKind } from "../server/core/errors.js";
import type { CompletionRequest } from "../server/core/types.js";
import type { UpstreamTarget } from "../server/providers/provider.js";
import { createProvider } from "../server/providers/registry.js";
import { createTransport } from "../server/providers/transport.js";
import { startSageMakerFake, type SageMakerFake, type SageMakerFakeOptions } from "./fakes/sagemaker.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";

type Format = "openai" | "tgi";
const KEYS = { region: "eu-west-1", access_key_id: "AKIATESTSAGEMAKER001", secret_access_key: "sagemaker-test-secret-001" };

async function setup(t: ExecutionContext, format: Format, target: Record<string, unknown> = {}, fakeOptions: SageMakerFakeOptions = {}) {
  const fake = (await useFake(t, () => startSageMakerFake(fakeOptions))) as SageMakerFake;
  const gw = await startTestGateway(t, {
    providers: { upstream: { type: "sagemaker", base_url: fake.url, ...KEYS, payload_format: format } },
    models: { chat: { targets: [{ provider: "upstream", model: "my-llm-endpoint", ...target }] } },
  });
  return { fake, ...gw };
}

async function collect(stream: AsyncIterable<CompleteChunk>) {
  const chunks: CompleteChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const text = chunks.map((c) => (c.event.case === "textDelta" ? c.event.value.text : "")).join("");
  const last = chunks.at(-1)?.event;
  return { chunks, text, done: last?.case === "done" ? last.value : undefined };
}

const ask = (text: string) => ({ model: "chat", messages: [userText(text)] });

test("openai format: endpoint path, SigV4, target headers and an OpenAI body without model", async (t) => {
  const { fake, client } = await setup(t, "openai", {
    target_variant: "variant-b",
    inference_component: "llama-ic-1",
    custom_attributes: "trace_id=abc123",
  });
  fake.enqueue({ kind: "reply", text: "Hi.", usage: { input: 20, output: 2 } });
  const res = await client.complete({
    model: "chat",
    messages: [systemText("Be brief."), userText("Hi")],
    generation: { maxOutputTokens: 64, temperature: 0.5, stopSequences: ["###"], seed: 5n },
  });
  t.is(res.message?.content[0]?.part.value, "Hi.");
  t.is(res.usage?.inputTokens, 20n);
  t.false(res.usage?.estimated);
  t.is(res.route?.providerType, "sagemaker");
  const sent = fake.last();
  t.is(sent.path, "/endpoints/my-llm-endpoint/invocations");
  t.is(sent.headers["x-amzn-sagemaker-target-variant"], "variant-b");
  t.is(sent.headers["x-amzn-sagemaker-inference-component"], "llama-ic-1");
  t.is(sent.headers["x-amzn-sagemaker-custom-attributes"], "trace_id=abc123");
  t.is(sent.headers["content-type"], "application/json");
  t.is(sent.headers["amz-sdk-request"], "attempt=1; max=1");
  t.regex(String(sent.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIATESTSAGEMAKER001\/\d{8}\/eu-west-1\/sagemaker\/aws4_request/);
  t.deepEqual(sent.body, {
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ],
    max_tokens: 64,
    temperature: 0.5,
    stop: ["###"],
    seed: 5,
  });
});

test("openai format streaming: the response-stream path, stream flags and the target headers", async (t) => {
  const { fake, client } = await setup(t, "openai", { target_variant: "variant-b", custom_attributes: "a=1" });
  const { text, done } = await collect(client.streamComplete(ask("Hello")));
  t.is(text, "echo: Hello");
  t.is(done?.finishReason, FinishReason.STOP);
  const sent = fake.last();
  t.is(sent.path, "/endpoints/my-llm-endpoint/invocations-response-stream");
  t.is(sent.headers["x-amzn-sagemaker-target-variant"], "variant-b");
  t.is(sent.headers["x-amzn-sagemaker-custom-attributes"], "a=1");
  const body = sent.body as Record<string, unknown>;
  t.is(body.stream, true);
  t.deepEqual(body.stream_options, { include_usage: true });
  t.false("model" in body);
});

test("tgi format: the prompt template and TGI parameters", async (t) => {
  const { fake, client } = await setup(t, "tgi");
  await client.complete({
    model: "chat",
    messages: [
      systemText("You are terse."),
      userText("My name is Ada."),
      { role: Role.ASSISTANT, content: [parts.text("Hello Ada.")] },
      userText("Name?"),
    ],
    generation: { maxOutputTokens: 50, temperature: 0.7, topP: 0.9, stopSequences: ["\n\n"], seed: 3n },
  });
  const body = fake.last().body as { inputs: string; parameters: Record<string, unknown>; stream?: boolean };
  t.is(body.inputs, "<|system|>\nYou are terse.\n<|user|>\nMy name is Ada.\n<|assistant|>\nHello Ada.\n<|user|>\nName?\n<|assistant|>\n");
  t.is(body.parameters.max_new_tokens, 50);
  t.true(Math.abs((body.parameters.top_p as number) - 0.9) < 1e-6);
  t.true(Math.abs((body.parameters.temperature as number) - 0.7) < 1e-6);
  t.deepEqual(body.parameters.stop, ["\n\n"]);
  t.is(body.parameters.seed, 3);
  t.is(body.parameters.details, true);
  t.is(body.parameters.return_full_text, false);
  t.is(body.stream, undefined);
});

test("tgi format: temperature 0 and top_p 1, which TGI rejects, are left out", async (t) => {
  const { fake, client } = await setup(t, "tgi");
  await client.complete({ ...ask("Hi"), generation: { temperature: 0, topP: 1 } });
  const parameters = (fake.last().body as { parameters: Record<string, unknown> }).parameters;
  t.false("temperature" in parameters);
  t.false("top_p" in parameters);
});

test("tgi format: usage has the container's generated tokens and an estimated prompt, marked estimated", async (t) => {
  const { fake, client } = await setup(t, "tgi");
  fake.enqueue({ kind: "reply", text: "Trunc", finish: "length", usage: { input: 999, output: 7 } });
  const res = await client.complete(ask("Write a poem about the sea"));
  t.is(res.finishReason, FinishReason.LENGTH);
  t.is(res.usage?.outputTokens, 7n);
  t.true((res.usage?.inputTokens ?? 0n) > 0n && res.usage?.inputTokens !== 999n);
  t.true(res.usage?.estimated);

  fake.enqueue({ kind: "reply", chunks: ["The ", "sea"], usage: { input: 999, output: 2 } });
  const { text, done } = await collect(client.streamComplete(ask("Poem")));
  t.is(text, "The sea", "the EOS special token is not part of the text");
  t.is(done?.usage?.outputTokens, 2n);
  t.true(done?.usage?.estimated);
  t.is(done?.finishReason, FinishReason.STOP);
  const sent = fake.last();
  t.is(sent.path, "/endpoints/my-llm-endpoint/invocations-response-stream");
  t.is((sent.body as { stream?: boolean }).stream, true);
});

test("openai format: a container that reports no usage gets an estimate, marked so", async (t) => {
  const { client } = await setup(t, "openai", {}, { omitUsage: true });
  const res = await client.complete(ask("Hi"));
  t.true(res.usage?.estimated);
  t.true((res.usage?.outputTokens ?? 0n) > 0n);
  const { done } = await collect(client.streamComplete(ask("Hi")));
  t.true(done?.usage?.estimated);
});

test("tgi format: tools and images are refused before anything is sent", async (t) => {
  const { fake, client } = await setup(t, "tgi");
  const tools = await t.throwsAsync(client.complete({ ...ask("Weather?"), tools: [{ name: "get_weather" }] }));
  t.is(ConnectError.from(tools).code, Code.InvalidArgument);
  t.regex(ConnectError.from(tools).rawMessage, /TGI payload format.*tools.*payload_format "openai"/);
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const image = await t.throwsAsync(
    client.complete({
      model: "chat",
      messages: [{ role: Role.USER, content: [parts.imageBytes("image/png", png)] }],
    }),
  );
  t.regex(ConnectError.from(image).rawMessage, /images/);
  t.is(fake.requests.length, 0);
});

for (const format of ["openai", "tgi"] as const) {
  test(`${format} format: PayloadParts cut at every size from 1 to 40 bytes give the same stream`, async (t) => {
    const fakeOptions: SageMakerFakeOptions = { partSizes: [1] };
    const { fake, client } = await setup(t, format, {}, fakeOptions);
    const chunks = ["héllo ", "wörld ", "😀 ✓ ", "日本"];
    for (let size = 1; size <= 40; size++) {
      fakeOptions.partSizes = [size];
      fake.enqueue({ kind: "reply", chunks, usage: { input: 5, output: 9 } });
      const { text, done, chunks: events } = await collect(client.streamComplete(ask("Hi")));
      t.is(text, chunks.join(""), `part size ${size}`);
      t.is(events.filter((c) => c.event.case === "textDelta").length, chunks.length, `part size ${size}`);
      t.is(done?.usage?.outputTokens, 9n, `part size ${size}`);
    }
    fakeOptions.partSizes = [3, 1, 7, 2, 11];
    fake.enqueue({ kind: "reply", chunks, usage: { input: 5, output: 9 } });
    t.is((await collect(client.streamComplete(ask("Hi")))).text, chunks.join(""));
  });
}

test("a ModelStreamError event mid-stream ends the call UNAVAILABLE after the text so far", async (t) => {
  const { fake, client } = await setup(t, "openai");
  fake.enqueue({ kind: "stream_error", error: "server_error" });
  const seen: CompleteChunk[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const chunk of client.streamComplete(ask("Hi"))) seen.push(chunk);
  });
  t.is(ConnectError.from(error).code, Code.Unavailable);
  t.is(seen[0]?.event.case, "textDelta");
  const done = seen.find((c) => c.event.case === "done")?.event;
  if (done?.case === "done") t.is(done.value.finishReason, FinishReason.ERROR, "no successful end is reported");
});

test("embeddings are not offered", async (t) => {
  const { client } = await setup(t, "openai");
  const error = await t.throwsAsync(client.embed({ model: "chat", inputs: ["a"] }));
  t.is(ConnectError.from(error).code, Code.Unimplemented);
});

test("tgi-stream-without-details-ends-with-done: the event with generated_text ends the stream", async (t) => {
  const { fake, client } = await setup(t, "tgi", {}, { omitDetails: true });
  fake.enqueue({ kind: "reply", chunks: ["Bonjour", " le", " monde"] });
  const { text, done } = await collect(client.streamComplete({ model: "chat", messages: [userText("Salut")] }));
  t.is(text, "Bonjour le monde");
  t.is(done?.finishReason, FinishReason.STOP, "it ended on the end-of-sequence token");
  t.true(done?.usage?.estimated, "without details the output tokens are estimated too");
  t.true((done?.usage?.outputTokens ?? 0n) > 0n);
});

// ---- the adapter directly: exact error kinds ------------------------------------------------

const REQUEST: CompletionRequest = {
  alias: "chat",
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  generation: { stopSequences: [] },
  tools: [],
  metadata: {},
};
const TARGET: UpstreamTarget = { model: "my-llm-endpoint" };

async function adapterFor(t: ExecutionContext, format: Format, extra: Record<string, unknown> = {}) {
  const fake = (await useFake(t, () => startSageMakerFake())) as SageMakerFake;
  const transport = createTransport();
  t.teardown(() => transport.close());
  const config = { type: "sagemaker" as const, base_url: fake.url, ...KEYS, payload_format: format, ...extra };
  return { fake, adapter: createProvider("sm", config, { transport }) };
}

async function kindOf(call: Promise<unknown>): Promise<UpstreamErrorKind | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return error instanceof UpstreamError ? error.kind : undefined;
  }
}

test("ModelError 424 is classified by the container's OriginalStatusCode", async (t) => {
  const { fake, adapter } = await adapterFor(t, "tgi");
  const cases: [number, string, UpstreamErrorKind][] = [
    [429, '{"error":"Model is overloaded","error_type":"overloaded"}', "overloaded"],
    [429, '{"error":"Too many requests","error_type":"too_many_requests"}', "rate_limited"],
    [400, '{"error":"Input validation error: `inputs` must have less than 4096 tokens. Given: 5000","error_type":"validation"}', "context_length"],
    [400, '{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}', "invalid_request"],
    [500, '{"error":"CUDA out of memory","error_type":"generation"}', "unavailable"],
    [502, "Bad Gateway", "unavailable"],
  ];
  for (const [status, body, kind] of cases) {
    fake.failWithModelError(status, body);
    t.is(await kindOf(adapter.complete(REQUEST, TARGET, new AbortController().signal)), kind, `${status} ${body}`);
  }
});

test("SageMaker's own errors map to their kinds; credentials never appear in messages", async (t) => {
  const { fake, adapter } = await adapterFor(t, "openai");
  const call = () => adapter.complete(REQUEST, TARGET, new AbortController().signal);
  fake.enqueue({ kind: "error", error: "overloaded" });
  t.is(await kindOf(call()), "overloaded");
  fake.enqueue({ kind: "error", error: "rate_limited" });
  t.is(await kindOf(call()), "rate_limited");
  fake.enqueue({ kind: "error", error: "server_error" });
  t.is(await kindOf(call()), "unavailable");
  fake.enqueue({ kind: "error", error: "bad_request", message: "Endpoint my-llm-endpoint of account 123456789012 not found." });
  t.is(await kindOf(call()), "not_found");
  fake.enqueue({ kind: "error", error: "auth" });
  const auth = await t.throwsAsync(call());
  t.is((auth as UpstreamError).kind, "auth");
  t.notRegex(auth!.message, /AKIA|sagemaker-test-secret/);
});

test("breaking out of a stream aborts the upstream request", async (t) => {
  const { fake, adapter } = await adapterFor(t, "tgi");
  fake.enqueue({ kind: "reply", chunks: ["a", "b", "c"], chunkDelayMs: 300 });
  for await (const event of adapter.stream(REQUEST, TARGET, new AbortController().signal)) {
    t.is(event.type, "text");
    break;
  }
  await fake.settled();
  t.true(fake.last().aborted);
});

test("an access key without its secret is a configuration error", (t) => {
  const transport = createTransport();
  t.teardown(() => transport.close());
  const error = t.throws(() =>
    createProvider("sm", { type: "sagemaker", access_key_id: "AKIAONLY", payload_format: "openai" }, { transport }),
  );
  t.regex(error!.message, /access_key_id and secret_access_key/);
});
