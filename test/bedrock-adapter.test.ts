// The Bedrock adapter end to end: the generated client → the gateway over a real socket → the real
// AWS SDK (SigV4, HTTP/2, event-stream framing) → a protocol-faithful fake Bedrock Runtime.
// Asserts what went over the wire. Error-kind tables call the adapter directly against the fake.
import test, { type ExecutionContext } from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { FinishReason, Role, ToolChoice_Mode, type CompleteChunk } from "../gen/switchboard/v1/inference_pb.js";
import { parts, systemText, userText } from "../clients/inference-client.js";
import { UpstreamError, type UpstreamErrorKind } from "../server/core/errors.js";
import type { CompletionRequest } from "../server/core/types.js";
import type { ProviderAdapter, UpstreamTarget } from "../server/providers/provider.js";
import { createProvider } from "../server/providers/registry.js";
import { createTransport } from "../server/providers/transport.js";
import { bedrockModelId, startBedrockFake, type BedrockFakeOptions } from "./fakes/bedrock.js";
import type { FakeErrorKind } from "./fakes/script.js";
import { FakeUpstream } from "./fakes/server.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";
import { streamUntilError } from "./helpers/streams.js";

const ACCESS_KEY = "AKIATESTBEDROCK00001";
const SECRET = "bedrock/test/secret/0000000000000000000001";
const SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0001";
const CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0";
const PROFILE_ARN = "arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0";

function providerConfig(fake: FakeUpstream) {
  return {
    type: "bedrock" as const,
    region: "eu-central-1",
    base_url: fake.url,
    access_key_id: ACCESS_KEY,
    secret_access_key: SECRET,
    session_token: SESSION_TOKEN,
  };
}

async function setup(t: ExecutionContext, options: BedrockFakeOptions = {}, model = CLAUDE) {
  const fake = await useFake(t, () => startBedrockFake(options));
  const retry = { max_attempts: 1 };
  const gw = await startTestGateway(t, {
    providers: { upstream: providerConfig(fake) },
    models: {
      chat: { retry, targets: [{ provider: "upstream", model }] },
      embed: { retry, targets: [{ provider: "upstream", model }] },
    },
  });
  return { fake, ...gw };
}

/** The adapter alone, for tables of error kinds that the gRPC status would blur. */
async function directAdapter(t: ExecutionContext, fake: FakeUpstream): Promise<ProviderAdapter> {
  const transport = createTransport();
  const adapter = createProvider("upstream", providerConfig(fake), { transport });
  t.teardown(async () => {
    await adapter.close();
    await transport.close();
  });
  return adapter;
}

const TARGET: UpstreamTarget = { model: CLAUDE };
const HI: CompletionRequest = {
  alias: "chat",
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  generation: { stopSequences: [] },
  tools: [],
  metadata: {},
};

type Block = Record<string, unknown>;
type SentBody = {
  messages: { role: string; content: Block[] }[];
  system?: { text: string }[];
  inferenceConfig?: Record<string, unknown>;
  toolConfig?: { tools: unknown[]; toolChoice?: unknown };
};

const WEATHER = { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } } } };

test("unary: system blocks, turns, inferenceConfig, SigV4 headers, model id with ':' decoded", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "Hello Ada.", usage: { input: 100, output: 20, cached: 40 } });
  const res = await client.complete({
    model: "chat",
    messages: [
      systemText("Be brief."),
      userText("My name is Ada."),
      { role: Role.ASSISTANT, content: [parts.text("Noted.")] },
      userText("Greet me."),
    ],
    generation: { maxOutputTokens: 64, temperature: 0.5, topP: 0.9, stopSequences: ["END"] },
  });
  t.is(res.message?.content[0]?.part.value, "Hello Ada.");
  t.is(res.finishReason, FinishReason.STOP);
  t.is(res.usage?.inputTokens, 100n, "cache reads are part of the input");
  t.is(res.usage?.cachedInputTokens, 40n);
  t.is(res.usage?.outputTokens, 20n);
  t.is(res.id, "00000000-fake-4000-8000-000000000001", "the id is the AWS request id");
  t.is(res.route?.providerType, "bedrock");
  t.is(res.route?.modelVersion, "", "Bedrock reports no model version");

  const sent = fake.last();
  t.is(sent.path, "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse");
  t.is(bedrockModelId(sent), CLAUDE);
  t.regex(
    String(sent.headers.authorization),
    /^AWS4-HMAC-SHA256 Credential=AKIATESTBEDROCK00001\/\d{8}\/eu-central-1\/bedrock\/aws4_request, SignedHeaders=[:a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
  );
  t.regex(String(sent.headers["x-amz-date"]), /^\d{8}T\d{6}Z$/);
  t.is(sent.headers["x-amz-security-token"], SESSION_TOKEN);
  t.is(sent.headers["amz-sdk-request"], "attempt=1; max=1", "the SDK's own retries are off");
  const body = sent.body as SentBody;
  t.deepEqual(body.system, [{ text: "Be brief." }]);
  t.deepEqual(body.messages, [
    { role: "user", content: [{ text: "My name is Ada." }] },
    { role: "assistant", content: [{ text: "Noted." }] },
    { role: "user", content: [{ text: "Greet me." }] },
  ]);
  const inference = body.inferenceConfig ?? {};
  t.is(inference.maxTokens, 64);
  t.is(inference.temperature, 0.5);
  t.true(Math.abs(Number(inference.topP) - 0.9) < 1e-6);
  t.deepEqual(inference.stopSequences, ["END"]);
  t.is(body.toolConfig, undefined);
});

test("an inference-profile ARN goes in the path URL-encoded and decodes to itself", async (t) => {
  const { fake, client } = await setup(t, {}, PROFILE_ARN);
  await client.complete({ model: "chat", messages: [userText("Hi")] });
  t.true(fake.last().path.includes("inference-profile%2Feu.anthropic"), fake.last().path);
  t.is(bedrockModelId(fake.last()), PROFILE_ARN);
});

test("tools: toolSpec and toolChoice, toolUse back, toolResult as json/text with error status, turns merged", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", toolCalls: [{ id: "tooluse_1", name: "get_weather", arguments: { city: "Paris" } }] });
  const first = await client.complete({
    model: "chat",
    messages: [userText("Weather in Paris and Oslo?")],
    tools: [WEATHER, { name: "ping" }],
    toolChoice: { mode: ToolChoice_Mode.REQUIRED },
  });
  t.is(first.finishReason, FinishReason.TOOL_CALLS);
  const call = first.message?.content.find((p) => p.part.case === "toolCall")?.part;
  if (call?.case !== "toolCall") return t.fail("no tool call");
  t.is(call.value.id, "tooluse_1");
  t.deepEqual(JSON.parse(call.value.argumentsJson), { city: "Paris" });
  const firstBody = fake.last().body as SentBody;
  t.deepEqual(firstBody.toolConfig, {
    tools: [
      { toolSpec: { name: "get_weather", description: "Weather for a city", inputSchema: { json: WEATHER.parameters } } },
      { toolSpec: { name: "ping", inputSchema: { json: { type: "object", properties: {} } } } },
    ],
    toolChoice: { any: {} },
  });

  await client.complete({
    model: "chat",
    tools: [WEATHER],
    messages: [
      userText("Weather in Paris and Oslo?"),
      { role: Role.ASSISTANT, content: [{ part: call }, { part: { case: "toolCall", value: { id: "tooluse_2", name: "get_weather", argumentsJson: '{"city":"Oslo"}' } } }] },
      { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId: "tooluse_1", content: '{"sky":"sunny"}' } } }] },
      { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId: "tooluse_2", content: "station offline", isError: true } } }] },
    ],
  });
  const body = fake.last().body as SentBody;
  t.is(body.messages.length, 3, "the two tool messages become one user turn");
  t.deepEqual(body.messages[1], {
    role: "assistant",
    content: [
      { toolUse: { toolUseId: "tooluse_1", name: "get_weather", input: { city: "Paris" } } },
      { toolUse: { toolUseId: "tooluse_2", name: "get_weather", input: { city: "Oslo" } } },
    ],
  });
  t.deepEqual(body.messages[2], {
    role: "user",
    content: [
      { toolResult: { toolUseId: "tooluse_1", content: [{ json: { sky: "sunny" } }] } },
      { toolResult: { toolUseId: "tooluse_2", content: [{ text: "station offline" }], status: "error" } },
    ],
  });
  t.deepEqual(body.toolConfig?.toolChoice, undefined, "no choice given: Bedrock's default (auto)");
});

test("images: bytes go as base64 with their format; a URL is refused before any call", async (t) => {
  const { fake, client } = await setup(t);
  const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
  await client.complete({
    model: "chat",
    messages: [
      {
        role: Role.USER,
        content: [
          parts.text("Compare these."),
          parts.imageBytes("image/png", png),
          parts.imageBytes("image/jpeg", jpeg),
        ],
      },
    ],
  });
  t.deepEqual((fake.last().body as SentBody).messages[0].content, [
    { text: "Compare these." },
    { image: { format: "png", source: { bytes: png.toString("base64") } } },
    { image: { format: "jpeg", source: { bytes: jpeg.toString("base64") } } },
  ]);

  const requests = fake.requests.length;
  const error = ConnectError.from(
    await t.throwsAsync(
      client.complete({
        model: "chat",
        messages: [{ role: Role.USER, content: [parts.imageUrl("https://example.com/cat.jpg")] }],
      }),
    ),
  );
  t.is(error.code, Code.InvalidArgument);
  t.regex(error.rawMessage, /not URLs/);
  t.is(fake.requests.length, requests, "nothing was sent upstream");
});

test("streaming with frames split across writes: text, tool-call fragments, usage from metadata", async (t) => {
  const { fake, client } = await setup(t, { fragmentFrames: true });
  fake.enqueue({
    kind: "reply",
    chunks: ["Checking ", "the weather."],
    toolCalls: [{ id: "tooluse_s1", name: "get_weather", arguments: { city: "Oslo", days: 3 } }],
    usage: { input: 30, output: 12, cached: 10 },
  });
  const chunks: CompleteChunk[] = [];
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Oslo?")], tools: [WEATHER] })) chunks.push(chunk);
  const text = chunks.map((c) => (c.event.case === "textDelta" ? c.event.value.text : "")).join("");
  t.is(text, "Checking the weather.");
  const calls = chunks.flatMap((c) => (c.event.case === "toolCallDelta" ? [c.event.value] : []));
  t.is(calls[0].id, "tooluse_s1");
  t.is(calls[0].name, "get_weather");
  t.true(calls.every((c) => c.index === 0), "the tool-call index counts tool calls, not content blocks");
  t.deepEqual(JSON.parse(calls.map((c) => c.argumentsDelta).join("")), { city: "Oslo", days: 3 });
  const done = chunks.at(-1)?.event;
  if (done?.case !== "done") return t.fail("the stream did not end with done");
  t.is(done.value.finishReason, FinishReason.TOOL_CALLS);
  t.is(done.value.usage?.inputTokens, 30n);
  t.is(done.value.usage?.cachedInputTokens, 10n);
  t.is(done.value.usage?.outputTokens, 12n);
  t.is(fake.last().path, "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream");
});

test("a mid-stream exception frame ends the call with its status after the text already sent", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "stream_error", error: "rate_limited" });
  const { kinds, error } = await streamUntilError(client.streamComplete({ model: "chat", messages: [userText("Hi")] }));
  t.is(error.code, Code.ResourceExhausted);
  t.is(kinds[0], "textDelta");
});

const STREAM_EXCEPTIONS: [string, FakeErrorKind, UpstreamErrorKind][] = [
  ["throttlingException", "rate_limited", "rate_limited"],
  ["serviceUnavailableException", "overloaded", "overloaded"],
  ["internalServerException", "server_error", "unavailable"],
  ["modelStreamErrorException", "server_error", "unavailable"],
  ["validationException", "context_length", "context_length"],
  ["validationException", "bad_request", "invalid_request"],
];

for (const [exception, fakeKind, kind] of STREAM_EXCEPTIONS) {
  test(`mid-stream ${exception} (${fakeKind}) → ${kind}`, async (t) => {
    const fake = await useFake(t, () => startBedrockFake({ streamExceptions: { [fakeKind]: exception } }));
    const adapter = await directAdapter(t, fake);
    fake.enqueue({ kind: "stream_error", error: fakeKind });
    const events: string[] = [];
    const error = await t.throwsAsync(async () => {
      for await (const event of adapter.stream(HI, TARGET, new AbortController().signal)) events.push(event.type);
    });
    t.true(error instanceof UpstreamError);
    t.is((error as UpstreamError).kind, kind, error?.message);
    t.deepEqual(events, ["text"]);
  });
}

const HTTP_EXCEPTIONS: [number, string, string, UpstreamErrorKind][] = [
  [429, "ThrottlingException", "Too many requests, please wait before trying again.", "rate_limited"],
  [429, "ModelNotReadyException", "Model is not ready to serve inference requests.", "overloaded"],
  [503, "ServiceUnavailableException", "Bedrock is unable to process your request.", "overloaded"],
  [500, "InternalServerException", "The system encountered an unexpected error.", "unavailable"],
  [424, "ModelErrorException", "The model returned an error.", "unavailable"],
  [408, "ModelTimeoutException", "The request took too long to process.", "timeout"],
  [400, "ValidationException", "Input is too long for requested model.", "context_length"],
  [400, "ValidationException", "Malformed input request: #: extraneous key [foo] is not permitted", "invalid_request"],
  [400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account.", "quota_exhausted"],
  [403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", "auth"],
  [403, "UnrecognizedClientException", `The security token included in the request is invalid: ${ACCESS_KEY}`, "auth"],
  [404, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier.", "not_found"],
];

test("HTTP errors are classified by exception name; credential errors carry no upstream text", async (t) => {
  let current = HTTP_EXCEPTIONS[0];
  const fake = await useFake(t, () =>
    new FakeUpstream({
      http2: true,
      defaultReply: () => ({ kind: "error", error: "server_error" }),
      render(_request, _reply, res) {
        res.writeHead(current[0], { "content-type": "application/json", "x-amzn-errortype": `${current[1]}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
        res.end(JSON.stringify({ message: current[2] }));
      },
    }).start(),
  );
  const adapter = await directAdapter(t, fake);
  for (const row of HTTP_EXCEPTIONS) {
    current = row;
    const error = await t.throwsAsync(adapter.complete(HI, TARGET, new AbortController().signal));
    t.true(error instanceof UpstreamError, row[1]);
    t.is((error as UpstreamError).kind, row[3], `${row[1]}: ${error?.message}`);
    t.is((error as UpstreamError).status, row[0]);
    if (row[3] === "auth") t.false(error?.message.includes(ACCESS_KEY), "no key in the message");
  }
});

test("unary calls share one HTTP/2 connection", async (t) => {
  const { fake, client } = await setup(t);
  for (let i = 0; i < 3; i++) await client.complete({ model: "chat", messages: [userText(`call ${i}`)] });
  t.is(fake.requests.length, 3);
  t.is(fake.connectionsAccepted, 1);
});

test("a consumer that stops reading aborts the upstream stream", async (t) => {
  const fake = await useFake(t, () => startBedrockFake());
  const adapter = await directAdapter(t, fake);
  fake.enqueue({ kind: "reply", chunks: ["one ", "two ", "three"], chunkDelayMs: 300 });
  for await (const event of adapter.stream(HI, TARGET, new AbortController().signal)) {
    if (event.type === "text") break;
  }
  await fake.settled();
  t.true(fake.last().aborted);
});

test("Titan embeddings: one InvokeModel per input, dimensions passed, token counts summed", async (t) => {
  const { fake, client } = await setup(t, {}, "amazon.titan-embed-text-v2:0");
  const res = await client.embed({ model: "embed", inputs: ["alpha", "beta gamma"], dimensions: 256 });
  t.is(res.embeddings.length, 2);
  t.is(res.embeddings[0].values.length, 256);
  t.true(Math.abs(res.embeddings[1].values[0] - 1.0) < 1e-6, "vectors keep the order of the inputs");
  t.is(res.usage?.inputTokens, 3n + 4n);
  t.false(res.usage?.estimated);
  t.is(fake.requests.length, 2);
  const bodies = fake.requests.map((r) => r.body as { inputText: string; dimensions: number }).sort((a, b) => a.inputText.localeCompare(b.inputText));
  t.deepEqual(bodies, [
    { inputText: "alpha", dimensions: 256 },
    { inputText: "beta gamma", dimensions: 256 },
  ]);
  t.true(fake.requests.every((r) => r.path === "/model/amazon.titan-embed-text-v2%3A0/invoke"));
});

test("Cohere embeddings: one call with every text as search_document, usage estimated", async (t) => {
  const { fake, client } = await setup(t, {}, "cohere.embed-english-v3");
  const res = await client.embed({ model: "embed", inputs: ["alpha", "beta gamma", "delta"] });
  t.is(res.embeddings.length, 3);
  t.true(res.embeddings.every((e) => e.values.length === 5));
  t.true(Math.abs(res.embeddings[1].values[0] - 1.0) < 1e-6);
  t.true(res.usage?.estimated, "Cohere's body carries no token counts");
  t.true((res.usage?.inputTokens ?? 0n) > 0n);
  t.is(fake.requests.length, 1);
  t.deepEqual(fake.last().body, { texts: ["alpha", "beta gamma", "delta"], input_type: "search_document" });
  t.is(bedrockModelId(fake.last()), "cohere.embed-english-v3");
  t.regex(String(fake.last().headers.authorization), /^AWS4-HMAC-SHA256 /);
});

test("a chat model asked for embeddings is UNIMPLEMENTED without a call", async (t) => {
  const { fake, client } = await setup(t);
  const error = ConnectError.from(await t.throwsAsync(client.embed({ model: "embed", inputs: ["x"] })));
  t.is(error.code, Code.Unimplemented);
  t.is(fake.requests.length, 0);
});
