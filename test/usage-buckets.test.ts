// Every provider's usage convention, pinned end to end: the fake reports usage in its provider's
// own shape, and the gateway's Usage has the neutral buckets and the exact cost of each, the same
// unary and streamed. Expected costs are worked out by hand from the documented rates below, not
// with the gateway's pricing code.
import test, { type ExecutionContext } from "ava";
import type { CompleteChunk, Usage } from "../gen/switchboard/v1/inference_pb.js";
import { userText } from "../clients/inference-client.js";
import type { FakeUsage } from "./fakes/script.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";
import type { AdapterRow } from "./conformance/adapter-row.js";
import { anthropicRow } from "./conformance/rows/anthropic.js";
import { bedrockRow } from "./conformance/rows/bedrock.js";
import { geminiRow } from "./conformance/rows/gemini.js";
import { openaiCompatibleRow, openaiRow } from "./conformance/rows/openai.js";
import { sagemakerRow, sagemakerTgiRow } from "./conformance/rows/sagemaker.js";

/** A prompt of 1000 tokens: 600 read from the cache, 100 written to it; 300 output, 120 of them reasoning. */
const REPORTED: FakeUsage = { input: 1000, output: 300, cached: 600, cacheWrite: 100, reasoning: 120 };

type Buckets = { input: number; cacheRead: number; cacheWrite: number; output: number; reasoning: number };

type ConventionRow = {
  row: AdapterRow;
  /** What the gateway must report for REPORTED, in the neutral convention. */
  expected: Buckets;
  /** The exact cost in nano-USD (1 USD per million tokens = 1000 nano-USD per token). */
  costNanoUsd: bigint;
  why: string;
};

// A SageMaker endpoint name has no list price; the config gives it one with every bucket.
const SAGEMAKER_PRICE = { input: 0.2, output: 0.6, cached_input: 0.1, cache_write_input: 0.25 };

const CONVENTIONS: ConventionRow[] = [
  {
    row: openaiRow,
    expected: { input: 1000, cacheRead: 600, cacheWrite: 0, output: 300, reasoning: 120 },
    // gpt-4o-mini: 0.15 / 0.075 cached / 0.6 out → 400×150 + 600×75 + 300×600
    costNanoUsd: 60_000n + 45_000n + 180_000n,
    why: "prompt_tokens includes cached_tokens; cache writes are not reported; completion_tokens includes reasoning_tokens",
  },
  {
    row: anthropicRow,
    expected: { input: 1000, cacheRead: 600, cacheWrite: 100, output: 300, reasoning: 120 },
    // claude-haiku-4-5: 1 in / 0.1 read / 1.25 write / 5 out → 300×1000 + 600×100 + 100×1250 + 300×5000
    costNanoUsd: 300_000n + 60_000n + 125_000n + 1_500_000n,
    why: "input_tokens excludes cache_read_input_tokens and cache_creation_input_tokens; output_tokens includes thinking",
  },
  {
    row: geminiRow,
    expected: { input: 1000, cacheRead: 600, cacheWrite: 0, output: 300, reasoning: 120 },
    // gemini-2.0-flash: 0.1 in / 0.025 cached / 0.4 out → 400×100 + 600×25 + 300×400
    costNanoUsd: 40_000n + 15_000n + 120_000n,
    why: "promptTokenCount includes cachedContentTokenCount; thoughtsTokenCount is apart from candidatesTokenCount and billed as output",
  },
  {
    row: bedrockRow,
    expected: { input: 1000, cacheRead: 600, cacheWrite: 100, output: 300, reasoning: 0 },
    // anthropic.claude-3-5-haiku (the -20241022-v1:0 snapshot): 0.8 in / 0.08 read / 1 write / 4 out
    costNanoUsd: 300n * 800n + 600n * 80n + 100n * 1000n + 300n * 4000n,
    why: "inputTokens excludes cacheReadInputTokens and cacheWriteInputTokens; reasoning is not broken out",
  },
  {
    row: sagemakerRow,
    expected: { input: 1000, cacheRead: 600, cacheWrite: 0, output: 300, reasoning: 120 },
    // the configured price: 0.2 in / 0.1 read / 0.6 out → 400×200 + 600×100 + 300×600
    costNanoUsd: 80_000n + 60_000n + 180_000n,
    why: "an OpenAI-format container: prompt_tokens includes cached_tokens",
  },
];

async function gatewayFor(t: ExecutionContext, row: AdapterRow) {
  const fake = await useFake(t, () => row.startFake());
  const started = await startTestGateway(t, {
    providers: { upstream: row.providerConfig(fake) },
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: row.model }] } },
    prices: { [sagemakerRow.model]: SAGEMAKER_PRICE, [sagemakerTgiRow.model]: SAGEMAKER_PRICE, [openaiCompatibleRow.model]: SAGEMAKER_PRICE },
  });
  return { fake, ...started };
}

const ask = { model: "chat", messages: [userText("What does the cache hold?")] };

async function streamedUsage(client: Awaited<ReturnType<typeof gatewayFor>>["client"]): Promise<Usage | undefined> {
  let done: CompleteChunk["event"] | undefined;
  for await (const chunk of client.streamComplete(ask)) if (chunk.event.case === "done") done = chunk.event;
  return done?.case === "done" ? done.value.usage : undefined;
}

function bucketsOf(usage: Usage | undefined): Buckets {
  return {
    input: Number(usage?.inputTokens),
    cacheRead: Number(usage?.cachedInputTokens),
    cacheWrite: Number(usage?.cacheWriteInputTokens),
    output: Number(usage?.outputTokens),
    reasoning: Number(usage?.reasoningTokens),
  };
}

for (const convention of CONVENTIONS) {
  const name = convention.row.label ?? convention.row.name;
  test(`usage-buckets-follow-${name}-convention: ${convention.why}`, async (t) => {
    const { fake, client } = await gatewayFor(t, convention.row);
    fake.enqueue({ kind: "reply", text: "It holds the prompt.", usage: REPORTED }, { kind: "reply", chunks: ["It holds ", "the prompt."], usage: REPORTED });
    const unary = (await client.complete(ask)).usage;
    const streamed = await streamedUsage(client);
    for (const [how, usage] of [["unary", unary], ["streamed", streamed]] as const) {
      t.deepEqual(bucketsOf(usage), convention.expected, `${how} buckets`);
      t.is(usage?.costNanoUsd, convention.costNanoUsd, `${how} cost is usage × catalog, per bucket`);
      t.true(usage?.priced, `${how} is priced`);
      t.false(usage?.estimated, `${how} counts are the provider's`);
    }
  });
}

// Rows whose upstream reports no counts: the gateway estimates them, the same way for both shapes.
for (const row of [openaiCompatibleRow, sagemakerTgiRow]) {
  test(`estimated-usage-costs-the-same-unary-and-streamed (${row.label ?? row.name})`, async (t) => {
    const { fake, client } = await gatewayFor(t, row);
    fake.enqueue({ kind: "reply", text: "An estimated answer." }, { kind: "reply", chunks: ["An estimated ", "answer."] });
    const unary = (await client.complete(ask)).usage;
    const streamed = await streamedUsage(client);
    t.deepEqual(bucketsOf(streamed), bucketsOf(unary));
    t.true(unary?.estimated);
    t.true(Number(unary?.outputTokens) > 0);
    // The configured price: 0.2 in, 0.6 out (nano-USD per token: 200, 600); nothing was cached.
    const expected = unary!.inputTokens * 200n + unary!.outputTokens * 600n;
    t.is(unary?.costNanoUsd, expected);
    t.is(streamed?.costNanoUsd, expected);
  });
}

test("unpriced-model-says-priced-false and the gateway warns about it once at start-up", async (t) => {
  const fake = await useFake(t, () => openaiRow.startFake());
  const unpriced = "gpt-5-codex-preview";
  const { client, logs } = await startTestGateway(t, {
    providers: { upstream: openaiRow.providerConfig(fake) },
    models: {
      chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: unpriced }] },
      again: { targets: [{ provider: "upstream", model: unpriced }, { provider: "upstream", model: "gpt-4o-mini" }] },
    },
  });
  const warnings = logs.filter((line) => line.includes("no price for model"));
  t.is(warnings.length, 1, "one line for the one unpriced target, however many aliases route to it");
  t.regex(warnings[0] ?? "", /gpt-5-codex-preview/);
  t.regex(warnings[0] ?? "", /"aliases":\["chat","again"\]/);
  fake.enqueue({ kind: "reply", text: "free?", usage: { input: 10, output: 5 } });
  const response = await client.complete(ask);
  t.false(response.usage?.priced, "an unknown price is not reported as free");
  t.is(response.usage?.costNanoUsd, 0n);
  t.is(response.usage?.inputTokens, 10n);
  t.false(response.route?.attemptLog[0]?.usage?.priced);
});
