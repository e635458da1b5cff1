// The Gemini adapter end to end: the generated client → the gateway over a real socket → the real
// @google/genai SDK → a protocol-faithful fake Gemini API. Asserts what went over the wire.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { FinishReason, Role, ToolChoice_Mode, type CompleteChunk } from "../gen/switchboard/v1/inference_pb.js";
import { parts, systemText, userText } from "../clients/inference-client.js";
import { startGeminiFake, type GeminiFakeOptions } from "./fakes/gemini.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";
import { streamUntilError } from "./helpers/streams.js";

const API_KEY = "AIzaSyTestGeminiKey000000000000000000001";

async function setup(t: Parameters<typeof startTestGateway>[0], options: GeminiFakeOptions = {}) {
  const fake = await useFake(t, () => startGeminiFake(options));
  // One attempt per call: these tests prove what each upstream answer maps to, not the router's retries.
  const gw = await startTestGateway(t, {
    providers: { upstream: { type: "gemini", base_url: fake.url, api_key: API_KEY } },
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "gemini-2.0-flash" }] } },
  });
  return { fake, ...gw };
}

type SentBody = {
  contents: { role: string; parts: Record<string, unknown>[] }[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig?: Record<string, unknown>;
  tools?: unknown;
  toolConfig?: unknown;
};

const WEATHER = { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } } } };

test("unary: systemInstruction, roles user/model, generation config, usage and route", async (t) => {
  const { fake, client } = await setup(t, { thoughtsTokenCount: 30 });
  fake.enqueue({ kind: "reply", text: "Hello Ada.", usage: { input: 100, output: 20, cached: 40 }, model: "gemini-2.0-flash-001" });
  const res = await client.complete({
    model: "chat",
    messages: [
      systemText("Be brief."),
      userText("My name is Ada."),
      { role: Role.ASSISTANT, content: [parts.text("Noted.")] },
      userText("Greet me."),
    ],
    generation: { maxOutputTokens: 64, temperature: 0.5, topP: 0.9, stopSequences: ["END"], seed: 7n },
  });
  t.is(res.message?.content[0]?.part.value, "Hello Ada.");
  t.is(res.finishReason, FinishReason.STOP);
  t.is(res.usage?.inputTokens, 100n);
  t.is(res.usage?.cachedInputTokens, 40n);
  t.is(res.usage?.outputTokens, 50n, "thinking tokens are billed as output");
  t.is(res.usage?.reasoningTokens, 30n);
  t.is(res.route?.modelVersion, "gemini-2.0-flash-001");

  const sent = fake.last();
  t.is(sent.path, "/v1beta/models/gemini-2.0-flash:generateContent");
  t.is(sent.headers["x-goog-api-key"], API_KEY);
  const body = sent.body as SentBody;
  t.deepEqual(body.systemInstruction?.parts, [{ text: "Be brief." }]);
  t.deepEqual(
    body.contents.map((c) => [c.role, c.parts]),
    [
      ["user", [{ text: "My name is Ada." }]],
      ["model", [{ text: "Noted." }]],
      ["user", [{ text: "Greet me." }]],
    ],
  );
  t.is(body.generationConfig?.maxOutputTokens, 64);
  t.is(body.generationConfig?.temperature, 0.5);
  t.true(Math.abs((body.generationConfig?.topP as number) - 0.9) < 1e-6);
  t.deepEqual(body.generationConfig?.stopSequences, ["END"]);
  t.is(body.generationConfig?.seed, 7);
});

test("tools: declarations, ANY for a named tool, functionCall and functionResponse shapes", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", toolCalls: [{ id: "ignored", name: "get_weather", arguments: { city: "Paris" } }] });
  const first = await client.complete({
    model: "chat",
    messages: [userText("Weather in Paris?")],
    tools: [WEATHER],
    toolChoice: { mode: ToolChoice_Mode.TOOL, toolName: "get_weather" },
  });
  t.is(first.finishReason, FinishReason.TOOL_CALLS);
  const call = first.message?.content.find((p) => p.part.case === "toolCall")?.part;
  if (call?.case !== "toolCall") return t.fail("no tool call");
  t.is(call.value.id, "call_0", "Gemini sent no id: a positional one is made up");
  t.deepEqual(JSON.parse(call.value.argumentsJson), { city: "Paris" });
  const firstBody = fake.last().body as SentBody;
  t.deepEqual(firstBody.tools, [{ functionDeclarations: [{ name: "get_weather", description: "Weather for a city", parametersJsonSchema: WEATHER.parameters }] }]);
  t.deepEqual(firstBody.toolConfig, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });

  fake.enqueue({ kind: "reply", text: "Sunny." });
  await client.complete({
    model: "chat",
    tools: [WEATHER],
    messages: [
      userText("Weather in Paris?"),
      { role: Role.ASSISTANT, content: [{ part: call }] },
      {
        role: Role.TOOL,
        content: [
          { part: { case: "toolResult", value: { toolCallId: "call_0", content: '{"sky":"sunny"}' } } },
          { part: { case: "toolResult", value: { toolCallId: "call_0", content: "21 degrees" } } },
          { part: { case: "toolResult", value: { toolCallId: "call_0", content: "station offline", isError: true } } },
        ],
      },
      userText("And tomorrow?"),
    ],
  });
  const body = fake.last().body as SentBody;
  t.is(body.contents.length, 3, "the tool results and the next user text are one user turn");
  t.deepEqual(body.contents[1], { role: "model", parts: [{ functionCall: { id: "call_0", name: "get_weather", args: { city: "Paris" } } }] });
  t.deepEqual(body.contents[2], {
    role: "user",
    parts: [
      { functionResponse: { id: "call_0", name: "get_weather", response: { sky: "sunny" } } },
      { functionResponse: { id: "call_0", name: "get_weather", response: { result: "21 degrees" } } },
      { functionResponse: { id: "call_0", name: "get_weather", response: { error: "station offline" } } },
      { text: "And tomorrow?" },
    ],
  });
});

test("function call ids sent by Gemini are kept", async (t) => {
  const { fake, client } = await setup(t, { functionCallIds: true });
  fake.enqueue({ kind: "reply", toolCalls: [{ id: "fc_9x", name: "get_weather", arguments: {} }] });
  const res = await client.complete({ model: "chat", messages: [userText("?")], tools: [WEATHER] });
  const call = res.message?.content.find((p) => p.part.case === "toolCall")?.part.value as { id: string };
  t.is(call.id, "fc_9x");
});

test("images: bytes as inlineData, URLs as fileData", async (t) => {
  const { fake, client } = await setup(t);
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  await client.complete({
    model: "chat",
    messages: [
      {
        role: Role.USER,
        content: [
          parts.text("What is this?"),
          parts.imageBytes("image/png", png),
          parts.imageUrl("https://example.com/cat.webp"),
        ],
      },
    ],
  });
  t.deepEqual((fake.last().body as SentBody).contents[0].parts, [
    { text: "What is this?" },
    { inlineData: { mimeType: "image/png", data: Buffer.from(png).toString("base64") } },
    { fileData: { mimeType: "image/webp", fileUri: "https://example.com/cat.webp" } },
  ]);
});

test("streaming: usage is the running total of the last event, never a sum", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", chunks: ["One ", "two ", "three"], usage: { input: 9, output: 4 } });
  const chunks: CompleteChunk[] = [];
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Count")] })) chunks.push(chunk);
  t.deepEqual(
    chunks.flatMap((c) => (c.event.case === "textDelta" ? [c.event.value.text] : [])),
    ["One ", "two ", "three"],
  );
  const done = chunks.at(-1)?.event;
  if (done?.case !== "done") return t.fail("no done event");
  t.is(done.value.usage?.inputTokens, 9n);
  t.is(done.value.usage?.outputTokens, 4n);
  t.is(done.value.finishReason, FinishReason.STOP);
  t.is(done.value.route?.modelVersion, "gemini-2.0-flash-001");
  t.is(fake.last().path, "/v1beta/models/gemini-2.0-flash:streamGenerateContent");
  t.is(fake.last().query.get("alt"), "sse");
});

test("safety: a blocked answer and a blocked prompt are FINISH_REASON_CONTENT_FILTER", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "", finish: "content_filter" });
  const answer = await client.complete({ model: "chat", messages: [userText("unsafe")] });
  t.is(answer.finishReason, FinishReason.CONTENT_FILTER);

  fake.enqueue({ kind: "error", error: "content_filter" });
  const prompt = await client.complete({ model: "chat", messages: [userText("unsafe")] });
  t.is(prompt.finishReason, FinishReason.CONTENT_FILTER);
  t.is(prompt.usage?.inputTokens, 8n);

  fake.enqueue({ kind: "error", error: "content_filter" });
  let finish: FinishReason | undefined;
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("unsafe")] })) {
    if (chunk.event.case === "done") finish = chunk.event.value.finishReason;
  }
  t.is(finish, FinishReason.CONTENT_FILTER);
});

test("429 RetryInfo in the body becomes the RetryInfo detail; SDK retries stay off", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 30 });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.ResourceExhausted);
  t.is(e.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds, 30n);
  t.is(e.findDetails(ErrorInfoSchema)[0]?.reason, "RATE_LIMITED");
  t.is(fake.requests.length, 1);
});

test("a daily quota is QUOTA_EXHAUSTED although Google's wording matches a rate limit", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "quota" });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.ResourceExhausted);
  t.is(e.findDetails(ErrorInfoSchema)[0]?.reason, "QUOTA_EXHAUSTED", "a per-day window is spent quota, not a rate limit");
});

test("API_KEY_INVALID (HTTP 400) is a credentials error that never quotes the key", async (t) => {
  const { fake, client, logs } = await setup(t);
  fake.enqueue({ kind: "error", error: "auth" });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.Internal);
  t.is(e.findDetails(ErrorInfoSchema)[0]?.reason, "AUTH");
  t.notRegex(e.rawMessage, /AIza/);
  t.false(logs.join("").includes(API_KEY));
});

test("context length 400 → INVALID_ARGUMENT", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "context_length" });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.InvalidArgument);
  t.regex(e.message, /input token count/);
});

test("an error event mid-stream ends the call with UNAVAILABLE after the partial text", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "stream_error", error: "overloaded" });
  const { kinds, error } = await streamUntilError(client.streamComplete({ model: "chat", messages: [userText("Hi")] }));
  t.is(error.code, Code.Unavailable);
  t.is(kinds[0], "textDelta", "the partial text reached the caller before the error");
});

test("embeddings go through batchEmbedContents; usage is estimated and marked so", async (t) => {
  const { fake, client } = await setup(t);
  const res = await client.embed({ model: "chat", inputs: ["hello", "switchboard"], dimensions: 4 });
  t.is(res.embeddings.length, 2);
  t.true(Math.abs(res.embeddings[1].values[0] - 1.1) < 1e-6);
  t.true(res.usage?.estimated);
  t.true((res.usage?.inputTokens ?? 0n) > 0n);
  const sent = fake.last();
  t.is(sent.path, "/v1beta/models/gemini-2.0-flash:batchEmbedContents");
  const requests = (sent.body as { requests: { model: string; content: unknown; outputDimensionality?: number }[] }).requests;
  t.deepEqual(requests[1].content, { parts: [{ text: "switchboard" }], role: "user" });
  t.is(requests[1].model, "models/gemini-2.0-flash");
  t.is(requests[1].outputDimensionality, 4);
});

test("Gemini 3 thought signatures travel as provider_state and come back with the call", async (t) => {
  const { fake, client } = await setup(t);
  const signature = "CiQBVKhc7sig-opaque==";
  fake.enqueue({ kind: "reply", toolCalls: [{ id: "x", name: "get_weather", arguments: { city: "Oslo" }, signature }] });
  const first = await client.complete({ model: "chat", messages: [userText("Weather?")], tools: [WEATHER] });
  const call = first.message?.content.find((p) => p.part.case === "toolCall")?.part;
  if (call?.case !== "toolCall") return t.fail("no tool call");
  t.is(call.value.providerState, signature);

  await client.complete({
    model: "chat",
    tools: [WEATHER],
    messages: [
      userText("Weather?"),
      { role: Role.ASSISTANT, content: [{ part: call }] },
      { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId: call.value.id, content: "{\"c\":3}" } } }] },
    ],
  });
  const echoed = (fake.last().body as SentBody).contents[1].parts[0];
  t.is(echoed.thoughtSignature, signature, "the signature is sent back on the functionCall part");

  fake.enqueue({ kind: "reply", toolCalls: [{ id: "y", name: "get_weather", arguments: {}, signature }] });
  let streamed = "";
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Weather?")], tools: [WEATHER] })) {
    if (chunk.event.case === "toolCallDelta") streamed += chunk.event.value.providerState;
  }
  t.is(streamed, signature);
});
