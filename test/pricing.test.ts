// The price catalog's naming rule and the one pricing function, checked against list prices
// written out here (USD per million tokens; 1 USD/M = 1000 nano-USD per token).
import test from "ava";
import { BUILT_IN_PRICES } from "../server/core/price-list.js";
import { costNanoUsd, createPriceCatalog, lookupNames, pricingBuckets, type ModelPrice } from "../server/core/pricing.js";
import { emptyUsage, type TokenUsage } from "../server/core/types.js";

const catalog = createPriceCatalog();
const usd = (perMillion: number) => BigInt(Math.round(perMillion * 1e9));
const usage = (u: Partial<TokenUsage>): TokenUsage => ({ ...emptyUsage(), ...u });

test("pricing-never-lends-a-price-by-bare-prefix: gpt-5-nano is not gpt-5, o3 and gpt-5.1 have prices", (t) => {
  t.deepEqual(catalog.lookup("gpt-5-nano"), { input: usd(0.05), output: usd(0.4), cachedInput: usd(0.005), cacheWrite: usd(0.05) });
  t.notDeepEqual(catalog.lookup("gpt-5-nano"), catalog.lookup("gpt-5"));
  t.is(catalog.lookup("o3")?.input, usd(2));
  t.is(catalog.lookup("o3")?.output, usd(8));
  t.is(catalog.lookup("gpt-5.1")?.input, usd(1.25));
  for (const unknown of ["gpt-5-codex", "gpt-4o-realtime-preview", "gpt-4o-mini-search-preview", "claude-sonnet-4-5-extra", "o3-deep-research"]) {
    t.is(catalog.lookup(unknown), undefined, `${unknown} has no price of its own and borrows none`);
  }
});

test("pricing-strips-only-snapshot-suffixes: dated, versioned, cross-region and -latest names", (t) => {
  const same: [snapshot: string, model: string][] = [
    ["gpt-4o-2024-08-06", "gpt-4o"],
    ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"],
    ["gpt-5-nano-2025-08-07", "gpt-5-nano"],
    ["o3-2025-04-16", "o3"],
    ["claude-sonnet-4-20250514", "claude-sonnet-4"],
    ["claude-haiku-4-5-20251001", "claude-haiku-4-5"],
    ["claude-3-5-sonnet-latest", "claude-3-5-sonnet"],
    ["claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"],
    ["gemini-2.0-flash-001", "gemini-2.0-flash"],
    ["anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku"],
    ["us.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku"],
    ["eu.amazon.nova-pro-v1:0", "amazon.nova-pro-v1"],
    ["amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2"],
  ];
  for (const [snapshot, model] of same) {
    t.truthy(catalog.lookup(model), `${model} is listed`);
    t.deepEqual(catalog.lookup(snapshot), catalog.lookup(model), `${snapshot} → ${model}`);
  }
  // A listed snapshot keeps its own price: gpt-4o's first snapshot cost more.
  t.is(catalog.lookup("gpt-4o-2024-05-13")?.input, usd(5));
  // The most specific listed name wins: titan v1 is not titan v2.
  t.is(catalog.lookup("amazon.titan-embed-text-v1:0"), undefined);
  t.deepEqual(lookupNames("us.anthropic.claude-3-haiku-20240307-v1:0"), [
    "us.anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-haiku-20240307-v1",
    "anthropic.claude-3-haiku-20240307",
    "anthropic.claude-3-haiku",
  ]);
});

test("pricing-anthropic-cache-write-is-1.25x-input and a read 0.1x, directly and on Bedrock", (t) => {
  const claude = Object.keys(BUILT_IN_PRICES).filter((name) => name.startsWith("claude-") || name.startsWith("anthropic."));
  t.true(claude.length >= 10);
  for (const name of claude) {
    const price = catalog.lookup(name)!;
    // Claude 3 Haiku is the documented exception: 0.30 write and 0.03 read on a 0.25 input.
    if (name.endsWith("claude-3-haiku")) {
      t.deepEqual([price.cachedInput, price.cacheWrite], [usd(0.03), usd(0.3)], name);
      continue;
    }
    t.is(price.cacheWrite, (price.input * 125n) / 100n, `${name} write`);
    t.is(price.cachedInput, price.input / 10n, `${name} read`);
  }
});

test("pricing-every-bucket-at-its-rate: uncached, cache read, cache write, output; reasoning is output", (t) => {
  const price = catalog.lookup("claude-sonnet-4")!; // 3 in, 0.3 read, 3.75 write, 15 out
  const bill = usage({ inputTokens: 10_000, cachedInputTokens: 6_000, cacheWriteInputTokens: 1_000, outputTokens: 2_000, reasoningTokens: 500 });
  t.deepEqual(pricingBuckets(bill), { uncachedInput: 3_000, cacheRead: 6_000, cacheWrite: 1_000, output: 2_000, reasoning: 500 });
  t.is(costNanoUsd(bill, price), 3_000n * 3_000n + 6_000n * 300n + 1_000n * 3_750n + 2_000n * 15_000n);
  t.is(costNanoUsd({ ...bill, reasoningTokens: 0 }, price), costNanoUsd(bill, price), "reasoning is not billed twice");
  t.is(costNanoUsd(bill, undefined), 0n);
});

test("pricing-rounds-once-not-per-bucket", (t) => {
  const half: ModelPrice = { input: usd(0.0005), output: usd(0.0005), cachedInput: usd(0.0005), cacheWrite: usd(0.0005) };
  // Four buckets of half a nano-USD each: 2 nano-USD, where rounding each bucket would give 4.
  t.is(costNanoUsd(usage({ inputTokens: 3, cachedInputTokens: 1, cacheWriteInputTokens: 1, outputTokens: 1 }), half), 2n);
  t.is(costNanoUsd(usage({ inputTokens: 1 }), half), 1n, "half up");
  // Nova Micro's cache read is 8.75 nano-USD a token.
  t.is(costNanoUsd(usage({ inputTokens: 3, cachedInputTokens: 3 }), catalog.lookup("amazon.nova-micro-v1:0")), 26n);
});

test("pricing-clamps-inconsistent-counts: more cached than input never goes negative", (t) => {
  const odd = usage({ inputTokens: 100, cachedInputTokens: 80, cacheWriteInputTokens: 50, outputTokens: 10, reasoningTokens: 20 });
  t.deepEqual(pricingBuckets(odd), { uncachedInput: 0, cacheRead: 80, cacheWrite: 20, output: 10, reasoning: 10 });
  const price = catalog.lookup("claude-sonnet-4")!;
  t.is(costNanoUsd(odd, price), 80n * 300n + 20n * 3_750n + 10n * 15_000n);
});

test("pricing-config-prices-every-bucket: cache_write_input, else the input rate", (t) => {
  const custom = createPriceCatalog({
    "my-endpoint": { input: 1, output: 2, cached_input: 0.5, cache_write_input: 1.5 },
    "plain-endpoint": { input: 1, output: 2 },
    "gpt-4o": { input: 9, output: 9 },
  });
  t.deepEqual(custom.lookup("my-endpoint"), { input: usd(1), output: usd(2), cachedInput: usd(0.5), cacheWrite: usd(1.5) });
  t.deepEqual(custom.lookup("plain-endpoint"), { input: usd(1), output: usd(2), cachedInput: usd(1), cacheWrite: usd(1) });
  t.is(custom.lookup("gpt-4o-2024-08-06")?.input, usd(9), "an override applies to the model's snapshots too");
});
