// The upper bound of a call's cost really bounds: against the o200k tokenizer on a table of
// prompts (non-ASCII, emoji, code, tools), at the most expensive reachable target, hedges included.
import test from "ava";
import { createPriceCatalog, costNanoUsd } from "../../server/core/pricing.js";
import { countMessageTokens, countTokens } from "../../server/core/tokens.js";
import type { ChatMessage, CompletionRequest, ToolDefinition } from "../../server/core/types.js";
import { boundCompletion, boundEmbedding, type BoundTarget } from "../../server/policy/limits/cost-bound.js";
import { imageTokenCeiling } from "../../server/policy/limits/image-tokens.js";
import type { ProviderType } from "../../server/config/schema.js";

const catalog = createPriceCatalog({ "my-llama": { input: 0.1, output: 0.1 } });

function target(providerType: ProviderType, model: string): BoundTarget {
  return { name: `${providerType}/${model}`, providerType, model, price: catalog.lookup(model) };
}

const user = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });

function request(messages: ChatMessage[], tools: ToolDefinition[] = [], maxOutputTokens?: number): Pick<CompletionRequest, "messages" | "tools" | "generation"> {
  return { messages, tools, generation: { stopSequences: [], maxOutputTokens } };
}

// A seeded generator (mulberry32) for the random-text row, so the table is the same every run.
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomUnicode(length: number, random: () => number): string {
  const ranges = [
    [0x20, 0x7e],
    [0xc0, 0x24f],
    [0x391, 0x3c9],
    [0x410, 0x44f],
    [0x4e00, 0x9fff],
    [0x3040, 0x30ff],
    [0x1f300, 0x1faff],
  ] as const;
  let out = "";
  for (let i = 0; i < length; i++) {
    const [lo, hi] = ranges[Math.floor(random() * ranges.length)]!;
    out += String.fromCodePoint(lo + Math.floor(random() * (hi - lo + 1)));
  }
  return out;
}

const code = `export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
\tconst decoder = new TextDecoder();
\tlet buffer = "";
\tfor await (const chunk of stream) {
\t\tbuffer += decoder.decode(chunk, { stream: true });
\t\tlet i: number;
\t\twhile ((i = buffer.indexOf("\\n")) >= 0) { yield buffer.slice(0, i); buffer = buffer.slice(i + 1); }
\t}
}\n`;

const weatherTool: ToolDefinition = {
  name: "get_weather",
  description: "Current weather for a city — °C, wind in km/h",
  parameters: { type: "object", properties: { city: { type: "string", description: "城市 / Stadt" } }, required: ["city"] },
};

const rows: { name: string; messages: ChatMessage[]; tools?: ToolDefinition[] }[] = [
  { name: "ASCII prose", messages: [user("The quick brown fox jumps over the lazy dog. ".repeat(40))] },
  { name: "a system prompt and several turns", messages: [{ role: "system", content: [{ type: "text", text: "Be brief." }] }, user("Hi"), { role: "assistant", content: [{ type: "text", text: "Hello!" }] }, user("Bye")] },
  { name: "fifty one-letter messages (framing dominates)", messages: Array.from({ length: 50 }, () => user("a")) },
  { name: "empty text", messages: [user("")] },
  { name: "German, French, Polish", messages: [user("Größenmaßstäbe für Übergänge; été à Noël; zażółć gęślą jaźń. ".repeat(20))] },
  { name: "Chinese and Japanese", messages: [user("我们的网关把每个请求路由到最便宜的模型。日本語のテキストもあります。".repeat(20))] },
  { name: "Arabic and Hindi", messages: [user("مرحبا بالعالم، هذا اختبار. नमस्ते दुनिया, यह एक परीक्षण है। ".repeat(20))] },
  { name: "emoji: ZWJ families, flags, skin tones", messages: [user("👨‍👩‍👧‍👦🏳️‍🌈🇩🇪🇯🇵👍🏽🤷🏿‍♀️🧑‍💻".repeat(30))] },
  { name: "code with tabs and escapes", messages: [user(code.repeat(10))] },
  { name: "whitespace runs", messages: [user(" \n\t".repeat(300) + "x" + " ".repeat(500))] },
  { name: "seeded random Unicode", messages: [user(randomUnicode(2000, seeded(14)))] },
  {
    name: "tools, tool calls and tool results",
    tools: [weatherTool],
    messages: [
      user("Weather in Zürich?"),
      { role: "assistant", content: [{ type: "tool_call", id: "call_1", name: "get_weather", argumentsJson: '{"city":"Zürich"}' }] },
      { role: "tool", content: [{ type: "tool_result", toolCallId: "call_1", name: "get_weather", content: '{"temp_c":3.5,"wind":"12 km/h","summary":"☁️ bedeckt"}', isError: false }] },
    ],
  },
  { name: "an image", messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image", mimeType: "image/png", url: "https://example.com/x.png" }] }] },
];

const targets = [target("openai", "gpt-4o"), target("anthropic", "claude-sonnet-4"), target("gemini", "gemini-2.5-pro"), target("bedrock", "anthropic.claude-3-haiku")];

for (const row of rows) {
  test(`bound-covers-tokenizer-count: ${row.name}`, (t) => {
    const tools = row.tools ?? [];
    // What o200k really counts for this prompt, message framing included, plus the tools' JSON.
    const actual = countMessageTokens(row.messages) + tools.reduce((n, tool) => n + countTokens(JSON.stringify(tool)), 0);
    for (const one of targets) {
      const bound = boundCompletion({ request: request(row.messages, tools, 100), targets: [one], hedging: false, assumedOutputTokens: 256, budgetApplies: true });
      t.true(bound.inputTokens >= actual, `${one.name}: bound ${bound.inputTokens} < ${actual} tokens`);
      const realCost = costNanoUsd({ inputTokens: actual, outputTokens: 100, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false }, one.price);
      t.true(bound.costNanoUsd >= realCost, `${one.name}: cost bound ${bound.costNanoUsd} < ${realCost}`);
    }
  });
}

test("bytes-bound-tokens: no text in the table has more o200k tokens than UTF-8 bytes", (t) => {
  for (const row of rows) {
    for (const message of row.messages) {
      for (const part of message.content) {
        if (part.type !== "text") continue;
        t.true(countTokens(part.text) <= Buffer.byteLength(part.text), row.name);
      }
    }
  }
});

test("bound-prices-the-most-expensive-target, and the two dearest when hedging", (t) => {
  const messages = [user("x".repeat(1000))];
  const reachable = [target("openai", "gpt-4o-mini"), target("openai", "gpt-4o"), target("anthropic", "claude-opus-4"), target("gemini", "gemini-2.5-flash")];
  const alone = (one: BoundTarget) => boundCompletion({ request: request(messages, [], 500), targets: [one], hedging: false, assumedOutputTokens: 256, budgetApplies: true }).costNanoUsd;
  const costs = reachable.map(alone).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  const single = boundCompletion({ request: request(messages, [], 500), targets: reachable, hedging: false, assumedOutputTokens: 256, budgetApplies: true });
  t.is(single.costNanoUsd, alone(reachable[2]!), "claude-opus-4 is the dearest");
  t.is(single.costNanoUsd, costs[0]);
  // 1,000 bytes + 16 + 8 + 16 framing = 1,040 input tokens at the dearest input rate (claude-opus-4's
  // 5-minute cache write, 18.75 USD/M: the whole prompt may be written to the cache), 500 output at 75 USD/M.
  t.is(single.costNanoUsd, (1040n * 18_750_000_000n + 500n * 75_000_000_000n + 500_000n) / 1_000_000n);
  const hedged = boundCompletion({ request: request(messages, [], 500), targets: reachable, hedging: true, assumedOutputTokens: 256, budgetApplies: true });
  t.is(hedged.costNanoUsd, costs[0]! + costs[1]!);
});

test("bound-output: max_output_tokens, else the alias's assumed_output_tokens — sent upstream only under a budget", (t) => {
  const messages = [user("hello")];
  const one = [target("openai", "gpt-4o")];
  const asked = boundCompletion({ request: request(messages, [], 1234), targets: one, hedging: false, assumedOutputTokens: 256, budgetApplies: true });
  t.is(asked.outputTokens, 1234);
  t.is(asked.maxOutputTokensToSend, undefined, "the caller's own limit is sent as it is");
  const assumed = boundCompletion({ request: request(messages), targets: one, hedging: false, assumedOutputTokens: 256, budgetApplies: true });
  t.is(assumed.outputTokens, 256);
  t.is(assumed.maxOutputTokensToSend, 256);
  const free = boundCompletion({ request: request(messages), targets: one, hedging: false, assumedOutputTokens: 256, budgetApplies: false });
  t.is(free.maxOutputTokensToSend, undefined);
  t.is(free.expectedTokens, Math.ceil(5 / 4) + 40 + 256);
});

test("bound-images at each provider's ceiling; gpt-4o-mini's multiplier", (t) => {
  const withImage = [{ role: "user" as const, content: [{ type: "image" as const, mimeType: "image/jpeg", data: new Uint8Array(10) }] }];
  for (const [type, model, ceiling] of [
    ["openai", "gpt-4o", 3_779],
    ["openai", "gpt-4o-mini", 48_169],
    ["anthropic", "claude-sonnet-4", 1_600],
    ["gemini", "gemini-2.5-pro", 4_128],
    ["bedrock", "anthropic.claude-sonnet-4", 3_200],
    ["sagemaker", "my-llama", 16_384],
  ] as const) {
    t.is(imageTokenCeiling(type, model), ceiling);
    const bound = boundCompletion({ request: request(withImage, [], 1), targets: [target(type, model)], hedging: false, assumedOutputTokens: 1, budgetApplies: true });
    t.is(bound.inputTokens, ceiling + 16 + 8 + 16, `${type}/${model}`);
  }
});

test("bound-unpriced-target adds 0 and is named; a priced one still sets the bound", (t) => {
  const unpriced = target("openai-compatible", "meta-llama/Llama-3.1-8B-Instruct");
  t.is(unpriced.price, undefined);
  const only = boundCompletion({ request: request([user("hi")], [], 10), targets: [unpriced], hedging: false, assumedOutputTokens: 256, budgetApplies: true });
  t.is(only.costNanoUsd, 0n);
  t.deepEqual(only.unpricedTargets, ["openai-compatible/meta-llama/Llama-3.1-8B-Instruct"]);
  const mixed = boundCompletion({ request: request([user("hi")], [], 10), targets: [unpriced, target("openai", "gpt-4o")], hedging: true, assumedOutputTokens: 256, budgetApplies: true });
  t.true(mixed.costNanoUsd > 0n);
});

test("bound-embedding covers the tokenizer count of every input", (t) => {
  const inputs = ["short", "Größe 👍🏽", code, randomUnicode(500, seeded(7))];
  const bound = boundEmbedding({ request: { inputs }, targets: [target("openai", "text-embedding-3-small")], hedging: false });
  t.true(bound.inputTokens >= inputs.reduce((n, s) => n + countTokens(s), 0));
  t.is(bound.outputTokens, 0);
  t.true(bound.costNanoUsd > 0n);
});
