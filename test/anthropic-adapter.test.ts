// The Anthropic adapter end to end: the generated client → the gateway over a real socket → the
// real @anthropic-ai/sdk → a protocol-faithful fake Messages API. Asserts what went on the wire.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { FinishReason, Role, ToolChoice_Mode, type CompleteChunk } from "../gen/switchboard/v1/inference_pb.js";
import { parts, systemText, userText } from "../clients/inference-client.js";
import type { FinishReason as FinishReasonName } from "../server/core/types.js";
import { MessagesStreamDecoder, finishFromAnthropic } from "../server/providers/anthropic-wire.js";
import { startAnthropicFake, type AnthropicFakeOptions } from "./fakes/anthropic.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

const API_KEY = "sk-ant-api03-test-secret-key-123456";
const WEATHER = {
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

type Body = Record<string, unknown> & { messages: { role: string; content: unknown }[] };

async function setup(t: Parameters<typeof startTestGateway>[0], options: AnthropicFakeOptions = {}) {
  const fake = await useFake(t, () => startAnthropicFake(options));
  const gw = await startTestGateway(
    t,
    singleProviderConfig({ type: "anthropic", base_url: fake.url, api_key: API_KEY }, "claude-haiku-4-5", {
      // One attempt per call: these tests are about the adapter's mapping, not the router's retries.
      models: {
        chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "claude-haiku-4-5" }] },
        embed: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "claude-haiku-4-5" }] },
      },
    }),
  );
  return { fake, ...gw };
}

const ask = (text: string) => ({ model: "chat", messages: [userText(text)] });

async function failure(call: Promise<unknown>) {
  const error = ConnectError.from(await call.then(() => undefined, (e: unknown) => e));
  return { error, reason: error.findDetails(ErrorInfoSchema)[0]?.reason, retry: error.findDetails(RetryInfoSchema)[0] };
}

test("unary: system prompt at the top level, Bearer key, anthropic-version, default max_tokens", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "Hello there", usage: { input: 25, output: 3 }, model: "claude-haiku-4-5-20251001" });
  const res = await client.complete({
    model: "chat",
    messages: [
      systemText("Be brief."),
      userText("Hi"),
      { role: Role.ASSISTANT, content: [parts.text("Hello.")] },
      userText("Again"),
    ],
  });
  t.is(res.message?.content[0]?.part.value, "Hello there");
  t.is(res.finishReason, FinishReason.STOP);
  t.is(res.usage?.inputTokens, 25n);
  t.is(res.usage?.outputTokens, 3n);
  t.is(res.route?.providerType, "anthropic");
  t.is(res.route?.modelVersion, "claude-haiku-4-5-20251001");
  const sent = fake.last();
  t.is(sent.path, "/v1/messages");
  t.is(sent.headers.authorization, `Bearer ${API_KEY}`);
  t.is(sent.headers["x-api-key"], undefined, "exactly one credential header");
  t.is(sent.headers["anthropic-version"], "2026-10-21");
  t.is(sent.headers["x-stainless-retry-count"], "0");
  const body = sent.body as Body;
  t.is(body.model, "claude-haiku-4-5");
  t.is(body.system, "Be brief.");
  t.is(body.max_tokens, 4096, "Anthropic requires max_tokens: the adapter's default");
  t.deepEqual(body.messages, [
    { role: "user", content: [{ type: "text", text: "Hi" }] },
    { role: "assistant", content: [{ type: "text", text: "Hello." }] },
    { role: "user", content: [{ type: "text", text: "Again" }] },
  ]);
});

test("generation: max_tokens and stop_sequences sent; temperature, top_p and seed are not (API 2026-10-21 rejects them)", async (t) => {
  const { fake, client } = await setup(t);
  const res = await client.complete({
    ...ask("Count"),
    generation: { maxOutputTokens: 42, temperature: 0.2, topP: 0.9, stopSequences: ["END"], seed: 7n },
  });
  t.is(res.message?.content[0]?.part.value, "echo: Count", "the fake would answer 400 to a sampling parameter");
  const body = fake.last().body as Body;
  t.is(body.max_tokens, 42);
  t.deepEqual(body.stop_sequences, ["END"]);
  for (const field of ["temperature", "top_p", "top_k", "seed"]) t.false(field in body, `${field} is not sent`);
});

test("cache reads and writes: inputTokens counts both, cachedInputTokens is the read part", async (t) => {
  const { fake, client } = await setup(t, { cacheCreationTokens: 100 });
  const usage = { input: 1000, output: 50, cached: 600 };
  fake.enqueue({ kind: "reply", text: "cached", usage }, { kind: "reply", chunks: ["cac", "hed"], usage });
  const res = await client.complete(ask("Hi"));
  t.is(res.usage?.inputTokens, 1000n, "300 uncached + 600 read + 100 written");
  t.is(res.usage?.cachedInputTokens, 600n);
  t.is(res.usage?.outputTokens, 50n);
  let done: CompleteChunk | undefined;
  for await (const chunk of client.streamComplete(ask("Hi"))) if (chunk.event.case === "done") done = chunk;
  const streamed = done?.event.case === "done" ? done.event.value.usage : undefined;
  t.is(streamed?.inputTokens, 1000n);
  t.is(streamed?.cachedInputTokens, 600n);
  t.is(streamed?.outputTokens, 50n, "the cumulative count from message_delta, not message_start's 1");
});

test("tools: input_schema, tool_choice any/tool, tool_use and tool_result blocks with is_error", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "reply", text: "Let me check.", toolCalls: [{ id: "toolu_01", name: "get_weather", arguments: { city: "Paris" } }] });
  const first = await client.complete({ ...ask("Weather in Paris?"), tools: [WEATHER], toolChoice: { mode: ToolChoice_Mode.REQUIRED } });
  t.is(first.finishReason, FinishReason.TOOL_CALLS);
  const firstBody = fake.last().body as Body;
  t.deepEqual(firstBody.tools, [{ name: "get_weather", description: "Weather for a city", input_schema: WEATHER.parameters }]);
  t.deepEqual(firstBody.tool_choice, { type: "any" });
  const call = first.message?.content.find((p) => p.part.case === "toolCall")?.part;
  if (call?.case !== "toolCall") return t.fail("no tool call");
  t.is(call.value.id, "toolu_01");
  t.deepEqual(JSON.parse(call.value.argumentsJson), { city: "Paris" });

  fake.enqueue({ kind: "reply", text: "The lookup failed." });
  await client.complete({
    model: "chat",
    tools: [WEATHER],
    toolChoice: { mode: ToolChoice_Mode.TOOL, toolName: "get_weather" },
    messages: [
      userText("Weather in Paris?"),
      { role: Role.ASSISTANT, content: [parts.text("Let me check."), { part: call }] },
      { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId: "toolu_01", content: "timeout", isError: true } } }] },
    ],
  });
  const body = fake.last().body as Body;
  t.deepEqual(body.tool_choice, { type: "tool", name: "get_weather" });
  t.deepEqual(body.messages.slice(1), [
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "timeout", is_error: true }] },
  ]);
});

test("images: bytes and data: URLs as base64 sources, https URLs as url sources", async (t) => {
  const { fake, client } = await setup(t);
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  await client.complete({
    model: "chat",
    messages: [
      {
        role: Role.USER,
        content: [
          parts.text("Compare."),
          parts.imageBytes("image/png", png),
          parts.imageUrl("https://example.com/cat.jpg"),
          parts.imageUrl("data:image/gif;base64,R0lGOD=="),
        ],
      },
    ],
  });
  t.deepEqual((fake.last().body as Body).messages[0].content, [
    { type: "text", text: "Compare." },
    { type: "image", source: { type: "base64", media_type: "image/png", data: Buffer.from(png).toString("base64") } },
    { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    { type: "image", source: { type: "base64", media_type: "image/gif", data: "R0lGOD==" } },
  ]);
});

test("streaming: tool-call index is the call's ordinal, not the content block index", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({
    kind: "reply",
    text: "Checking both.",
    toolCalls: [
      { id: "toolu_a", name: "get_weather", arguments: { city: "Oslo" } },
      { id: "toolu_b", name: "get_weather", arguments: { city: "Rome" } },
    ],
    usage: { input: 20, output: 30 },
  });
  const chunks: CompleteChunk[] = [];
  for await (const chunk of client.streamComplete({ ...ask("Weather?"), tools: [WEATHER] })) chunks.push(chunk);
  const text = chunks.map((c) => (c.event.case === "textDelta" ? c.event.value.text : "")).join("");
  t.is(text, "Checking both.");
  const deltas = chunks.flatMap((c) => (c.event.case === "toolCallDelta" ? [c.event.value] : []));
  t.deepEqual([...new Set(deltas.map((d) => d.index))], [0, 1]);
  const byIndex = (i: number) => deltas.filter((d) => d.index === i);
  t.deepEqual([byIndex(0)[0].id, byIndex(1)[0].id], ["toolu_a", "toolu_b"]);
  t.deepEqual(JSON.parse(byIndex(1).map((d) => d.argumentsDelta).join("")), { city: "Rome" });
  const done = chunks.at(-1)?.event;
  if (done?.case !== "done") return t.fail("no done event");
  t.is(done.value.finishReason, FinishReason.TOOL_CALLS);
  t.is(done.value.usage?.inputTokens, 20n);
  t.is(done.value.usage?.outputTokens, 30n);
  t.is((fake.last().body as Body).stream, true);
});

test("a streamed tool call with no argument JSON still yields an object", (t) => {
  const decoder = new MessagesStreamDecoder();
  const message = { id: "msg_1", model: "claude-haiku-4-5", usage: { input_tokens: 5, output_tokens: 1 } };
  const events = [
    { type: "message_start", message },
    { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_x", name: "now", input: {} } },
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 7, input_tokens: null } },
    { type: "message_stop" },
  ];
  const out = events.flatMap((e) => decoder.push(e as Parameters<MessagesStreamDecoder["push"]>[0]));
  t.deepEqual(out, [
    { type: "tool_call", index: 0, id: "toolu_x", name: "now", argumentsDelta: "" },
    { type: "tool_call", index: 0, argumentsDelta: "{}" },
  ]);
  t.true(decoder.finished);
  const done = decoder.finish();
  t.is(done.finishReason, "tool_calls");
  t.like(done.usage, { inputTokens: 5, outputTokens: 7 });
});

test("stop reasons map to neutral finish reasons", (t) => {
  const cases: [string, FinishReasonName][] = [
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["pause_turn", "stop"],
    ["max_tokens", "length"],
    ["model_context_window_exceeded", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
  ];
  for (const [wire, neutral] of cases) t.is(finishFromAnthropic(wire), neutral, wire);
});

test("529 overloaded_error → UNAVAILABLE, not retried by the SDK", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "overloaded" });
  const { error, reason } = await failure(client.complete(ask("Hi")));
  t.is(error.code, Code.Unavailable);
  t.is(reason, "OVERLOADED");
  t.is(fake.requests.length, 1);
});

test("429 rate_limit_error → RESOURCE_EXHAUSTED with retry-after in RetryInfo", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 12 });
  const { error, reason, retry } = await failure(client.complete(ask("Hi")));
  t.is(error.code, Code.ResourceExhausted);
  t.is(reason, "RATE_LIMITED");
  t.is(retry?.retryDelay?.seconds, 12n);
  t.is(fake.requests.length, 1);
});

test("429 enforced_spend_limit_reached → RESOURCE_EXHAUSTED as quota, not to be retried", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "quota" });
  const { error, reason, retry } = await failure(client.complete(ask("Hi")));
  t.is(error.code, Code.ResourceExhausted);
  t.is(reason, "QUOTA_EXHAUSTED");
  t.is(retry?.retryDelay, undefined);
  t.is(fake.requests.length, 1);
});

test("402 billing_error → RESOURCE_EXHAUSTED as quota", async (t) => {
  const { fake, client } = await setup(t, {
    errors: { quota: { status: 402, type: "billing_error", message: "Your credit balance is too low to access the Anthropic API." } },
  });
  fake.enqueue({ kind: "error", error: "quota" });
  const { error, reason } = await failure(client.complete(ask("Hi")));
  t.is(error.code, Code.ResourceExhausted);
  t.is(reason, "QUOTA_EXHAUSTED");
});

test("400 prompt is too long → INVALID_ARGUMENT as context length", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "error", error: "context_length" });
  const { error, reason } = await failure(client.complete(ask("Hi")));
  t.is(error.code, Code.InvalidArgument);
  t.is(reason, "CONTEXT_LENGTH");
  t.regex(error.rawMessage, /prompt is too long/);
});

test("mid-stream event: error overloaded_error → UNAVAILABLE after the text already sent", async (t) => {
  const { fake, client } = await setup(t);
  fake.enqueue({ kind: "stream_error", error: "overloaded" });
  const seen: string[] = [];
  const { error, reason } = await failure(
    (async () => {
      for await (const chunk of client.streamComplete(ask("Hi"))) seen.push(chunk.event.case ?? "");
    })(),
  );
  t.is(error.code, Code.Unavailable);
  t.is(reason, "OVERLOADED");
  t.deepEqual(seen, ["textDelta", "done"], "the partial usage arrives in a Done before the error status");
});

test("401 → INTERNAL naming the provider, never the key", async (t) => {
  const { fake, client, logs } = await setup(t);
  fake.enqueue({ kind: "error", error: "auth" });
  const { error } = await failure(client.complete(ask("Hi")));
  t.is(error.code, Code.Internal);
  t.regex(error.rawMessage, /provider "upstream"/);
  t.false(error.rawMessage.includes(API_KEY));
  t.false(logs.join("").includes(API_KEY));
});

test("embeddings → UNIMPLEMENTED: Anthropic has no embeddings API", async (t) => {
  const { fake, client } = await setup(t);
  const { error } = await failure(client.embed({ model: "embed", inputs: ["alpha"] }));
  t.is(error.code, Code.Unimplemented);
  t.regex(error.rawMessage, /no embeddings API/);
  t.is(fake.requests.length, 0);
});
