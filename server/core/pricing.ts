// The price catalog and exact cost arithmetic. Prices are configured in USD per million tokens and
// held as integer nano-USD per million tokens; a cost is computed with bigint and rounded half up
// to a whole nano-USD once, at the end. No float ever touches money.
import type { PriceConfig } from "../config/schema.js";
import type { TokenUsage } from "./types.js";

export type ModelPrice = {
  /** nano-USD per million tokens */
  input: bigint;
  output: bigint;
  cachedInput: bigint;
};

type UsdPerMillion = [input: number, output: number, cachedInput?: number];

// Public list prices (USD per million tokens) for common models of every provider. The config's
// `prices:` section overrides or extends this.
const BUILT_IN: Record<string, UsdPerMillion> = {
  "gpt-4o": [2.5, 10, 1.25],
  "gpt-4o-mini": [0.15, 0.6, 0.075],
  "gpt-4.1": [2, 8, 0.5],
  "gpt-4.1-mini": [0.4, 1.6, 0.1],
  "gpt-4.1-nano": [0.1, 0.4, 0.025],
  "gpt-5": [1.25, 10, 0.125],
  "gpt-5-mini": [0.25, 2, 0.025],
  "o3-mini": [1.1, 4.4, 0.55],
  "o4-mini": [1.1, 4.4, 0.275],
  "text-embedding-3-small": [0.02, 0],
  "text-embedding-3-large": [0.13, 0],
  "claude-3-5-sonnet": [3, 15, 0.3],
  "claude-3-7-sonnet": [3, 15, 0.3],
  "claude-sonnet-4": [3, 15, 0.3],
  "claude-3-5-haiku": [0.8, 4, 0.08],
  "claude-3-haiku": [0.25, 1.25, 0.03],
  "claude-haiku-4-5": [1, 5, 0.1],
  "claude-opus-4": [15, 75, 1.5],
  "gemini-1.5-flash": [0.075, 0.3, 0.01875],
  "gemini-1.5-pro": [1.25, 5, 0.3125],
  "gemini-2.0-flash": [0.1, 0.4, 0.025],
  "gemini-2.5-flash": [0.3, 2.5, 0.075],
  "gemini-2.5-pro": [1.25, 10, 0.31],
  "text-embedding-004": [0, 0],
  "anthropic.claude-3-5-sonnet": [3, 15, 0.3],
  "anthropic.claude-3-haiku": [0.25, 1.25],
  "anthropic.claude-sonnet-4": [3, 15, 0.3],
  "amazon.nova-micro-v1": [0.035, 0.14],
  "amazon.nova-lite-v1": [0.06, 0.24],
  "amazon.nova-pro-v1": [0.8, 3.2],
  "amazon.titan-embed-text-v2": [0.02, 0],
  "cohere.embed-english-v3": [0.1, 0],
  "meta.llama3-1-70b-instruct-v1": [0.72, 0.72],
  "meta.llama3-1-8b-instruct-v1": [0.22, 0.22],
  "mistral.mistral-large-2407-v1": [2, 6],
};

const NANO_PER_USD = 1_000_000_000;

function toNano(usd: number): bigint {
  // Prices have at most a few decimals; rounding the product removes binary-float noise.
  return BigInt(Math.round(usd * NANO_PER_USD));
}

function fromUsd([input, output, cached]: UsdPerMillion): ModelPrice {
  return { input: toNano(input), output: toNano(output), cachedInput: toNano(cached ?? input) };
}

export type PriceCatalog = { lookup(model: string): ModelPrice | undefined };

// Bedrock cross-region inference profiles prefix the model id with a geography.
const GEO_PREFIX = /^(us|eu|apac|global|us-gov|jp|au|ca)\./;

export function createPriceCatalog(overrides: Record<string, PriceConfig> = {}): PriceCatalog {
  const table = new Map<string, ModelPrice>();
  for (const [model, usd] of Object.entries(BUILT_IN)) table.set(model, fromUsd(usd));
  for (const [model, p] of Object.entries(overrides)) table.set(model, fromUsd([p.input, p.output, p.cached_input]));
  const keys = [...table.keys()].sort((a, b) => b.length - a.length);
  return {
    lookup(model) {
      const exact = table.get(model);
      if (exact) return exact;
      // Dated or versioned names ("gpt-4o-2024-08-06", "anthropic.claude-3-haiku-20240307-v1:0")
      // take the price of the longest catalog name they start with.
      const name = model.replace(GEO_PREFIX, "");
      const key = keys.find((k) => name === k || name.startsWith(`${k}-`) || name.startsWith(`${k}:`));
      return key ? table.get(key) : undefined;
    },
  };
}

/** The exact cost of a call in nano-USD, rounded half up. */
export function costNanoUsd(usage: TokenUsage, price: ModelPrice | undefined): bigint {
  if (!price) return 0n;
  const cached = BigInt(Math.min(usage.cachedInputTokens, usage.inputTokens));
  const uncached = BigInt(usage.inputTokens) - cached;
  const perMillion = uncached * price.input + cached * price.cachedInput + BigInt(usage.outputTokens) * price.output;
  return (perMillion + 500_000n) / 1_000_000n;
}
