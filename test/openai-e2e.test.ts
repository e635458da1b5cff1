// The OpenAI adapter end to end: the generated client → the gateway over a real socket → the real
// openai SDK → a protocol-faithful fake OpenAI server.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { FinishReason, Role, ToolChoice_Mode, type CompleteChunk } from "../gen/switchboard/v1/inference_pb.js";
import { parts, streamText, systemText, userText } from "../clients/inference-client.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";
import { streamUntilError } from "./helpers/streams.js";

async function setup(t: Parameters<typeof startTestGateway>[0]) {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(
    t,
    singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-secret-key-123456" }),
  );
  return { fake, ...gw };
}

test("unary completion maps text, usage, cost and route", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "Hello there", usage: { input: 1000, output: 500, cached: 200 }, model: "gpt-4o-mini-2024-07-18" });
  const res = await client.complete({ model: "chat", messages: [systemText("Be brief."), userText("Hi")] });
  t.is(res.message?.content[0]?.part.value, "Hello there");
  t.is(res.message?.role, Role.ASSISTANT);
  t.is(res.finishReason, FinishReason.STOP);
  t.is(res.usage?.inputTokens, 1000n);
  t.is(res.usage?.outputTokens, 500n);
  t.is(res.usage?.cachedInputTokens, 200n);
  // gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
  // 800 × $0.15/M + 200 × $0.075/M + 500 × $0.60/M = 120,000 + 15,000 + 300,000 nano-USD
  t.is(res.usage?.costNanoUsd, 435_000n);
  t.is(res.route?.provider, "upstream");
  t.is(res.route?.providerType, "openai");
  t.is(res.route?.targetModel, "gpt-4o-mini");
  t.is(res.route?.modelVersion, "gpt-4o-mini-2024-07-18");
  t.is(res.route?.attempts, 1);
  const sent = fake.last();
  t.is(sent.path, "/v1/chat/completions");
  t.is(sent.headers.authorization, "Bearer sk-test-secret-key-123456");
  t.deepEqual((sent.body as { messages: unknown }).messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
  ]);
});

test("generation config is forwarded with OpenAI's field names", async (t) => {
  const { fake, client } = await setup(t);
  await client.complete({
    model: "chat",
    messages: [userText("Hi")],
    generation: { maxOutputTokens: 42, temperature: 0.5, topP: 0.9, stopSequences: ["END"], seed: 7n },
  });
  const body = fake.last().body as Record<string, unknown>;
  t.is(body.max_completion_tokens, 42);
  t.is(body.temperature, 0.5);
  t.true(Math.abs((body.top_p as number) - 0.9) < 1e-6);
  t.deepEqual(body.stop, ["END"]);
  t.is(body.seed, 7);
  t.is(body.model, "gpt-4o-mini");
});

test("streaming: text in several chunks, usage on the last chunk", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", chunks: ["One ", "two ", "three"], usage: { input: 7, output: 3 } });
  const chunks: CompleteChunk[] = [];
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Count")] })) chunks.push(chunk);
  const texts = chunks.filter((c) => c.event.case === "textDelta").map((c) => c.event.value as { text: string });
  t.deepEqual(texts.map((x) => x.text), ["One ", "two ", "three"]);
  const last = chunks.at(-1);
  t.is(last?.event.case, "done");
  if (last?.event.case !== "done") return;
  t.is(last.event.value.usage?.inputTokens, 7n);
  t.is(last.event.value.usage?.outputTokens, 3n);
  t.is(last.event.value.finishReason, FinishReason.STOP);
  t.is(last.event.value.route?.provider, "upstream");
  const body = fake.last().body as Record<string, unknown>;
  t.is(body.stream, true);
  t.deepEqual(body.stream_options, { include_usage: true });
});

test("client helper yields the text of a stream", async (t) => {
  const { client } = await setup(t);
  let done = false;
  let text = "";
  for await (const piece of streamText(client, { model: "chat", messages: [userText("ping")] }, { onDone: () => (done = true) })) {
    text += piece;
  }
  t.is(text, "echo: ping");
  t.true(done);
});

test("tools round trip: definition, call, result, final answer", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }] });
  const tools = [{ name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } } } }];
  const first = await client.complete({
    model: "chat",
    messages: [userText("Weather in Paris?")],
    tools,
    toolChoice: { mode: ToolChoice_Mode.AUTO },
  });
  t.is(first.finishReason, FinishReason.TOOL_CALLS);
  const call = first.message?.content.find((p) => p.part.case === "toolCall")?.part.value as { id: string; name: string; argumentsJson: string };
  t.is(call.name, "get_weather");
  t.deepEqual(JSON.parse(call.argumentsJson), { city: "Paris" });
  const sentTools = (fake.last().body as { tools: unknown; tool_choice: unknown });
  t.deepEqual(sentTools.tools, [{ type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: tools[0].parameters } }]);
  t.is(sentTools.tool_choice, "auto");

  fake.enqueue({ kind: "reply", text: "It is sunny in Paris." });
  const second = await client.complete({
    model: "chat",
    tools,
    messages: [
      userText("Weather in Paris?"),
      { role: Role.ASSISTANT, content: [{ part: { case: "toolCall", value: call } }] },
      { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId: "call_1", content: "{\"sky\":\"sunny\"}" } } }] },
    ],
  });
  t.is(second.message?.content[0]?.part.value, "It is sunny in Paris.");
  const messages = (fake.last().body as { messages: unknown[] }).messages;
  t.deepEqual(messages[1], {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }],
  });
  t.deepEqual(messages[2], { role: "tool", tool_call_id: "call_1", content: "{\"sky\":\"sunny\"}" });
});

test("streaming tool-call deltas arrive keyed by index", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", toolCalls: [{ id: "call_9", name: "lookup", arguments: { q: "switchboard" } }] });
  let args = "";
  let name = "";
  let finish: FinishReason | undefined;
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("look it up")], tools: [{ name: "lookup" }] })) {
    if (chunk.event.case === "toolCallDelta") {
      name ||= chunk.event.value.name;
      args += chunk.event.value.argumentsDelta;
      t.is(chunk.event.value.index, 0);
    }
    if (chunk.event.case === "done") finish = chunk.event.value.finishReason;
  }
  t.is(name, "lookup");
  t.deepEqual(JSON.parse(args), { q: "switchboard" });
  t.is(finish, FinishReason.TOOL_CALLS);
});

test("an image part is forwarded as an image_url data URL", async (t) => {
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
          parts.imageUrl("https://example.com/cat.jpg"),
        ],
      },
    ],
  });
  const content = (fake.last().body as { messages: { content: unknown }[] }).messages[0].content;
  t.deepEqual(content, [
    { type: "text", text: "What is this?" },
    { type: "image_url", image_url: { url: `data:image/png;base64,${Buffer.from(png).toString("base64")}` } },
    { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
  ]);
});

test("429 → RESOURCE_EXHAUSTED with the retry delay in RetryInfo", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 7 });
  const error = await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }));
  const e = ConnectError.from(error);
  t.is(e.code, Code.ResourceExhausted);
  const retry = e.findDetails(RetryInfoSchema)[0];
  t.is(retry?.retryDelay?.seconds, 7n);
  t.is(fake.requests.length, 1, "the SDK's own retries are off");
});

test("500 → UNAVAILABLE, and the operator sees the failed attempts in the log", async (t) => {
  const { fake, client, logs } = await setup(t);
  fake.enqueue({ kind: "error", error: "server_error" });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.Unavailable);
  const line = logs.map((l) => JSON.parse(l) as { level: number; kind?: string; attempts?: string[] }).find((l) => l.kind === "unavailable");
  t.is(line?.level, 40, "logged as a warning");
  t.deepEqual(line?.attempts, ["upstream/gpt-4o-mini:UNAVAILABLE"]);
});

test("400 context_length_exceeded → INVALID_ARGUMENT", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "context_length" });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.InvalidArgument);
  t.regex(e.message, /maximum context length/);
});

test("401 → INTERNAL that names the provider and never the key", async (t) => {
  const { fake, client, logs } = await setup(t);
  fake.enqueue({ kind: "error", error: "auth" });
  const e = ConnectError.from(await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] })));
  t.is(e.code, Code.Internal);
  t.regex(e.message, /upstream/);
  t.notRegex(e.rawMessage, /sk-test/);
  t.false(logs.join("").includes("sk-test-secret-key-123456"));
});

test("content filter finish reason is mapped", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "", finish: "content_filter" });
  const res = await client.complete({ model: "chat", messages: [userText("Hi")] });
  t.is(res.finishReason, FinishReason.CONTENT_FILTER);
});

test("a refusal as an error (Azure's 400 content_filter) is FINISH_REASON_CONTENT_FILTER, unary and streamed", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "content_filter" }, { kind: "error", error: "content_filter" });
  t.is((await client.complete({ model: "chat", messages: [userText("Hi")] })).finishReason, FinishReason.CONTENT_FILTER);
  const chunks: CompleteChunk[] = [];
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Hi")] })) chunks.push(chunk);
  t.is(chunks.length, 1);
  const done = chunks[0].event;
  t.is(done.case === "done" ? done.value.finishReason : undefined, FinishReason.CONTENT_FILTER);
});

test("max tokens → FINISH_REASON_LENGTH", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "truncat", finish: "length" });
  const res = await client.complete({ model: "chat", messages: [userText("Hi")], generation: { maxOutputTokens: 2 } });
  t.is(res.finishReason, FinishReason.LENGTH);
});

test("embeddings", async (t) => {
  const { fake, client } = await setup(t);
  const res = await client.embed({ model: "chat", inputs: ["hello", "switchboard"] });
  t.is(res.embeddings.length, 2);
  t.is(res.embeddings[1].values.length, 3);
  t.true(Math.abs(res.embeddings[1].values[0] - 1.1) < 1e-6);
  t.is(res.usage?.inputTokens, 6n);
  t.is(fake.last().path, "/v1/embeddings");
});

test("stream error event mid-stream ends the call with a status", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "stream_error", error: "server_error" });
  const { kinds, error } = await streamUntilError(client.streamComplete({ model: "chat", messages: [userText("Hi")] }));
  t.is(error.code, Code.Unavailable);
  t.deepEqual(kinds, ["textDelta", "done"], "the partial usage arrives in a Done before the error status");
});

test("upstream-tool-arguments-not-json-are-a-malformed-answer: UNAVAILABLE unary, Done ERROR then UNAVAILABLE streamed", async (t) => {
  const { fake, client } = await setup(t);
  const broken = { kind: "reply" as const, toolCalls: [{ id: "call_bad", name: "get_weather", arguments: {}, rawArguments: '{"city": "Par' }] };
  const request = { model: "chat", messages: [userText("Weather?")] };
  fake.enqueue(broken);
  const unary = ConnectError.from(await t.throwsAsync(client.complete(request)));
  t.is(unary.code, Code.Unavailable);
  t.regex(unary.rawMessage, /tool call "call_bad" with arguments that are not a JSON object/);
  fake.enqueue(broken);
  const { kinds, error } = await streamUntilError(client.streamComplete(request));
  t.is(error.code, Code.Unavailable);
  t.deepEqual(kinds.slice(-2), ["toolCallDelta", "done"], "the deltas that got through, then the Done, then the status");
});

test("upstream-tool-arguments-empty-become-an-empty-object, unary and streamed; truncated ones pass with LENGTH", async (t) => {
  const { fake, client } = await setup(t);
  const request = { model: "chat", messages: [userText("Now?")] };
  const empty = { kind: "reply" as const, toolCalls: [{ id: "call_now", name: "get_time", arguments: {}, rawArguments: "" }] };
  fake.enqueue(empty);
  const unary = await client.complete(request);
  const call = unary.message?.content.find((p) => p.part.case === "toolCall")?.part;
  t.is(call?.case === "toolCall" ? call.value.argumentsJson : undefined, "{}");
  fake.enqueue(empty);
  let streamed = "";
  for await (const chunk of client.streamComplete(request)) if (chunk.event.case === "toolCallDelta") streamed += chunk.event.value.argumentsDelta;
  t.is(streamed, "{}");
  fake.enqueue({ kind: "reply", finish: "length", toolCalls: [{ id: "call_cut", name: "get_weather", arguments: {}, rawArguments: '{"ci' }] });
  const cut = await client.complete(request);
  t.is(cut.finishReason, FinishReason.LENGTH);
});
