// The price catalog and exact cost arithmetic. Prices are configured in USD per million tokens and
// held as integer nano-USD per million tokens; a cost is computed with bigint and rounded half up
// to a whole nano-USD once, at the end. No float ever touches money.
import type { PriceConfig } from "../config/schema.js";
import type { TokenUsage } from "./types.js";
import { BUILT_IN_PRICES, type UsdPerMillion } from "./price-list.js";

export type ModelPrice = {
  /** nano-USD per million tokens, one rate per pricing bucket */
  input: bigint;
  output: bigint;
  /** Cache reads. */
  cachedInput: bigint;
  /** Cache writes. */
  cacheWrite: bigint;
};

/**
 * A usage's disjoint pricing buckets. Reasoning is part of output (billed as output) and is
 * reported alone for information. Counts an upstream reported inconsistently (more cached tokens
 * than input) are clamped so that no bucket is negative and their sum is the input.
 */
export type PricingBuckets = { uncachedInput: number; cacheRead: number; cacheWrite: number; output: number; reasoning: number };

export function pricingBuckets(usage: TokenUsage): PricingBuckets {
  const input = Math.max(0, usage.inputTokens);
  const cacheRead = Math.min(Math.max(0, usage.cachedInputTokens), input);
  const cacheWrite = Math.min(Math.max(0, usage.cacheWriteInputTokens), input - cacheRead);
  const output = Math.max(0, usage.outputTokens);
  return { uncachedInput: input - cacheRead - cacheWrite, cacheRead, cacheWrite, output, reasoning: Math.min(Math.max(0, usage.reasoningTokens), output) };
}

const NANO_PER_USD = 1_000_000_000;

function toNano(usd: number): bigint {
  // Prices have at most a few decimals; rounding the product removes binary-float noise.
  return BigInt(Math.round(usd * NANO_PER_USD));
}

// A bucket without a rate of its own costs what an uncached input token costs: providers that do not
// discount cache reads, or do not charge extra for cache writes, bill them as plain input.
function fromUsd([input, output, cacheRead, cacheWrite]: UsdPerMillion): ModelPrice {
  return { input: toNano(input), output: toNano(output), cachedInput: toNano(cacheRead ?? input), cacheWrite: toNano(cacheWrite ?? input) };
}

export type PriceCatalog = { lookup(model: string): ModelPrice | undefined };

// Bedrock cross-region inference profiles prefix the model id with a geography.
const GEO_PREFIX = /^(?:us|eu|apac|global|us-gov|jp|au|ca)\./;

// Suffixes that name a snapshot or revision of the same model, at the same price: Bedrock's ":0"
// revision and "-v1" version, OpenAI's "-2024-08-06", Anthropic's "-20240307", Vertex's "@20240307",
// Gemini's "-001" and every provider's "-latest". Nothing else is ever stripped: "gpt-5-nano" is not
// "gpt-5", so a bare prefix never lends its price to another model.
const SNAPSHOT_SUFFIX = /(?::\d+|-v\d+|-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|@latest|-\d{3}|-latest)$/;

/**
 * The names a model is looked up by, most specific first: the name itself, then without its
 * cross-region prefix, then with one snapshot suffix after another taken off the end.
 * "us.anthropic.claude-3-haiku-20240307-v1:0" → … → "anthropic.claude-3-haiku".
 */
export function lookupNames(model: string): string[] {
  const names = [model];
  let name = model.replace(GEO_PREFIX, "");
  if (name !== model) names.push(name);
  for (let stripped = name.replace(SNAPSHOT_SUFFIX, ""); stripped !== name && stripped !== ""; stripped = name.replace(SNAPSHOT_SUFFIX, "")) {
    names.push(stripped);
    name = stripped;
  }
  return names;
}

export function createPriceCatalog(overrides: Record<string, PriceConfig> = {}): PriceCatalog {
  const table = new Map<string, ModelPrice>();
  for (const [model, usd] of Object.entries(BUILT_IN_PRICES)) table.set(model, fromUsd(usd));
  for (const [model, p] of Object.entries(overrides)) table.set(model, fromUsd([p.input, p.output, p.cached_input, p.cache_write_input]));
  return {
    lookup(model) {
      for (const name of lookupNames(model)) {
        const price = table.get(name);
        if (price) return price;
      }
      return undefined;
    },
  };
}

/** The exact cost of a call in nano-USD, every bucket at its rate, rounded half up once. */
export function costNanoUsd(usage: TokenUsage, price: ModelPrice | undefined): bigint {
  if (!price) return 0n;
  const b = pricingBuckets(usage);
  const perMillion =
    BigInt(b.uncachedInput) * price.input +
    BigInt(b.cacheRead) * price.cachedInput +
    BigInt(b.cacheWrite) * price.cacheWrite +
    BigInt(b.output) * price.output;
  return (perMillion + 500_000n) / 1_000_000n;
}
