// The official openai SDK against the gateway's /v1, with every provider fake behind the alias: an
// Anthropic, Gemini, Bedrock or SageMaker target is reached through the OpenAI shape. One table:
// each scenario runs against each conformance row (test/conformance/rows).
import test, { type ExecutionContext } from "ava";
import { Code } from "@connectrpc/connect";
import OpenAI from "openai";
import type { AdapterRow, ScenarioName } from "../conformance/adapter-row.js";
import { ROWS } from "../conformance/rows/index.js";
import { startWithRow, type OpenAISetup } from "./setup.js";

const WEATHER_TOOL: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
const PNG_DATA_URL = `data:image/png;base64,${PNG.toString("base64")}`;
/** Providers whose wire reports cache reads (the others' fakes leave the bucket out). */
const REPORTS_CACHE = new Set(["openai", "anthropic", "gemini", "bedrock"]);

const HTTP_STATUS: Partial<Record<Code, number>> = { [Code.InvalidArgument]: 400, [Code.Unimplemented]: 501 };

type Scenario = (t: ExecutionContext, s: OpenAISetup, row: AdapterRow) => Promise<void>;

/** A scenario the row cannot support must fail exactly as the conformance table documents, over HTTP. */
async function expectUnsupported(t: ExecutionContext, row: AdapterRow, name: ScenarioName, call: () => Promise<unknown>) {
  const unsupported = row.unsupported[name];
  if (!unsupported || !("code" in unsupported.outcome)) return false;
  const error = await t.throwsAsync(call, { instanceOf: OpenAI.APIError });
  t.is(error?.status, HTTP_STATUS[unsupported.outcome.code]);
  t.regex(error?.message ?? "", unsupported.outcome.message);
  return true;
}

const SCENARIOS: Record<string, Scenario> = {
  async "unary with route and cost headers"(t, { openai, fake }, row) {
    fake.enqueue({ kind: "reply", text: "Bonjour!", usage: { input: 30, output: 7, cached: 10 } });
    const { data, response } = await openai.chat.completions
      .create({ model: "chat", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }], max_tokens: 50, stop: ["END"] })
      .withResponse();
    t.is(data.object, "chat.completion");
    t.is(data.choices[0]?.message.content, "Bonjour!");
    t.is(data.choices[0]?.finish_reason, "stop");
    if (!row.estimatesUsage) {
      t.is(data.usage?.prompt_tokens, 30);
      t.is(data.usage?.completion_tokens, 7);
      t.is(data.usage?.total_tokens, 37);
      if (REPORTS_CACHE.has(row.name)) t.is(data.usage?.prompt_tokens_details?.cached_tokens, 10);
    }
    const sent = row.inspect(fake.last());
    t.is(sent.system, "Be brief.");
    t.is(sent.maxTokens, 50);
    t.deepEqual(sent.stopSequences, ["END"]);
    t.is(response.headers.get("x-switchboard-provider"), "upstream");
    t.is(response.headers.get("x-switchboard-model"), row.model);
    t.regex(response.headers.get("x-switchboard-cost-nano-usd") ?? "", /^\d+$/);
    t.regex(response.headers.get("x-switchboard-overhead-ms") ?? "", /^\d+\.\d{3}$/);
    t.truthy(response.headers.get("x-request-id"));
  },

  async "streaming with usage in the last chunk"(t, { openai, fake }, row) {
    fake.enqueue({ kind: "reply", chunks: ["Once ", "upon ", "a time"], usage: { input: 21, output: 5 } });
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "chat", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Tell me a story" }] })
      .withResponse();
    t.is(response.headers.get("x-switchboard-provider"), "upstream");
    t.is(response.headers.get("x-switchboard-model"), row.model);
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    t.is(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "Once upon a time");
    t.is(chunks[0]?.choices[0]?.delta.role, "assistant");
    t.is(chunks.at(-2)?.choices[0]?.finish_reason, "stop");
    const last = chunks.at(-1);
    t.deepEqual(last?.choices, [], "the usage chunk has no choices");
    if (row.estimatesUsage) t.true((last?.usage?.completion_tokens ?? 0) > 0);
    else t.like(last?.usage, { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    t.true(row.inspect(fake.last()).stream);
  },

  async "tools round trip with streamed tool-call deltas"(t, { openai, fake }, row) {
    const tools = [WEATHER_TOOL];
    const ask = { role: "user" as const, content: "Weather in Paris?" };
    if (await expectUnsupported(t, row, "streaming tool-call deltas", () => openai.chat.completions.create({ model: "chat", tools, messages: [ask] }))) return;
    fake.enqueue({ kind: "reply", toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Paris" } }] });
    // The SDK's own helper reassembles the streamed tool_calls[].index deltas.
    const runner = openai.chat.completions.stream({ model: "chat", tools, tool_choice: "auto", messages: [ask] });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    t.is(choice?.finish_reason, "tool_calls");
    const call = choice?.message.tool_calls?.[0];
    if (call?.type !== "function") return t.fail("no function tool call");
    t.is(call.function.name, "get_weather");
    t.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
    t.truthy(call.id);
    t.deepEqual(row.inspect(fake.last()).toolNames, ["get_weather"]);

    fake.enqueue({ kind: "reply", text: "Sunny, 21 °C." });
    const second = await openai.chat.completions.create({
      model: "chat",
      tools,
      messages: [ask, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: '{"sky":"sunny","c":21}' }],
    });
    t.is(second.choices[0]?.message.content, "Sunny, 21 °C.");
    t.deepEqual(row.inspect(fake.last()).toolResults, ['{"sky":"sunny","c":21}']);
  },

  async "image input as a data: URL"(t, { openai, fake }, row) {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: "user", content: [{ type: "text", text: "Describe this." }, { type: "image_url", image_url: { url: PNG_DATA_URL } }] },
    ];
    if (await expectUnsupported(t, row, "image input", () => openai.chat.completions.create({ model: "chat", messages }))) return;
    await openai.chat.completions.create({ model: "chat", messages });
    t.is(row.inspect(fake.last()).images, 1);
  },

  async "embeddings (base64, as the SDK asks, and float)"(t, { openai, fake }, row) {
    const request = { model: "embed", input: ["alpha", "beta gamma"] };
    if (await expectUnsupported(t, row, "embeddings", () => openai.embeddings.create(request))) return;
    const { data: decoded, response } = await openai.embeddings.create(request).withResponse();
    t.is(decoded.object, "list");
    t.is(decoded.data.length, 2);
    t.true(decoded.data.every((e, i) => e.index === i && e.embedding.length > 0));
    t.true(decoded.usage.prompt_tokens > 0);
    t.is(response.headers.get("x-switchboard-model"), row.embeddingModel ?? null);
    const floats = await openai.embeddings.create({ ...request, encoding_format: "float" });
    // The base64 the SDK decoded is the same float32 vector as the JSON numbers rounded to float32.
    t.deepEqual(decoded.data[0]?.embedding, Array.from(Float32Array.from(floats.data[0]?.embedding ?? [])));
    t.true(row.inspect(fake.last()).authenticated);
  },

  async "rate limited → RateLimitError with retry-after"(t, { openai, fake }, row) {
    fake.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 3 });
    const error = await t.throwsAsync(openai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "Hi" }] }), { instanceOf: OpenAI.RateLimitError });
    t.is(error?.status, 429);
    t.is(error?.headers?.get("retry-after") ?? null, row.reportsRetryDelay ? "3" : null);
    t.is(error?.type, "rate_limit_error");
  },
};

// One at a time: 42 gateways and fakes at once would crowd out the timing-sensitive tests in the
// other files on a small machine.
for (const row of ROWS) {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    test.serial(`${row.label ?? row.name} · ${name}`, async (t) => {
      await scenario(t, await startWithRow(t, row), row);
    });
  }
}
