// Public list prices of common models, USD per million tokens, as each provider documents them:
// [input, output, cache read, cache write]. A missing cache rate bills as plain input: OpenAI and
// Gemini charge nothing extra to write their caches; Anthropic (directly and on Bedrock) bills a
// 5-minute cache write at 1.25× input and a cache read at 0.1× input. Reasoning tokens are output.
// Names are upstream model names without snapshot suffixes (see lookupNames in pricing.ts); the
// config's `prices:` section overrides or extends this list.
export type UsdPerMillion = [input: number, output: number, cacheRead?: number, cacheWrite?: number];

/** Anthropic's rates: cache reads at 0.1×, 5-minute cache writes at 1.25× the input rate. */
function anthropic(input: number, output: number): UsdPerMillion {
  return [input, output, input / 10, input * 1.25];
}

export const BUILT_IN_PRICES: Record<string, UsdPerMillion> = {
  // OpenAI
  "gpt-4o": [2.5, 10, 1.25],
  "gpt-4o-2024-05-13": [5, 15],
  "gpt-4o-mini": [0.15, 0.6, 0.075],
  "gpt-4.1": [2, 8, 0.5],
  "gpt-4.1-mini": [0.4, 1.6, 0.1],
  "gpt-4.1-nano": [0.1, 0.4, 0.025],
  "gpt-4-turbo": [10, 30],
  "gpt-3.5-turbo": [0.5, 1.5],
  "gpt-5": [1.25, 10, 0.125],
  "gpt-5-mini": [0.25, 2, 0.025],
  "gpt-5-nano": [0.05, 0.4, 0.005],
  "gpt-5-pro": [15, 120],
  "gpt-5.1": [1.25, 10, 0.125],
  "o1": [15, 60, 7.5],
  "o1-mini": [1.1, 4.4, 0.55],
  "o3": [2, 8, 0.5],
  "o3-mini": [1.1, 4.4, 0.55],
  "o3-pro": [20, 80],
  "o4-mini": [1.1, 4.4, 0.275],
  "text-embedding-3-small": [0.02, 0],
  "text-embedding-3-large": [0.13, 0],
  "text-embedding-ada-002": [0.1, 0],
  // Anthropic
  "claude-3-haiku": [0.25, 1.25, 0.03, 0.3],
  "claude-3-5-haiku": anthropic(0.8, 4),
  "claude-haiku-4-5": anthropic(1, 5),
  "claude-3-5-sonnet": anthropic(3, 15),
  "claude-3-7-sonnet": anthropic(3, 15),
  "claude-sonnet-4": anthropic(3, 15),
  "claude-sonnet-4-5": anthropic(3, 15),
  "claude-3-opus": anthropic(15, 75),
  "claude-opus-4": anthropic(15, 75),
  "claude-opus-4-1": anthropic(15, 75),
  "claude-opus-4-5": anthropic(5, 25),
  // Google Gemini (prompts up to 200k tokens where a model is tiered)
  "gemini-1.5-flash": [0.075, 0.3, 0.01875],
  "gemini-1.5-pro": [1.25, 5, 0.3125],
  "gemini-2.0-flash": [0.1, 0.4, 0.025],
  "gemini-2.0-flash-lite": [0.075, 0.3],
  "gemini-2.5-flash": [0.3, 2.5, 0.075],
  "gemini-2.5-flash-lite": [0.1, 0.4, 0.025],
  "gemini-2.5-pro": [1.25, 10, 0.31],
  "text-embedding-004": [0, 0],
  "gemini-embedding-001": [0.15, 0],
  // AWS Bedrock
  "anthropic.claude-3-haiku": [0.25, 1.25, 0.03, 0.3],
  "anthropic.claude-3-5-haiku": anthropic(0.8, 4),
  "anthropic.claude-haiku-4-5": anthropic(1, 5),
  "anthropic.claude-3-5-sonnet": anthropic(3, 15),
  "anthropic.claude-3-7-sonnet": anthropic(3, 15),
  "anthropic.claude-sonnet-4": anthropic(3, 15),
  "anthropic.claude-sonnet-4-5": anthropic(3, 15),
  "anthropic.claude-opus-4": anthropic(15, 75),
  "anthropic.claude-opus-4-1": anthropic(15, 75),
  "amazon.nova-micro-v1": [0.035, 0.14, 0.00875],
  "amazon.nova-lite-v1": [0.06, 0.24, 0.015],
  "amazon.nova-pro-v1": [0.8, 3.2, 0.2],
  "amazon.titan-embed-text-v2": [0.02, 0],
  "cohere.embed-english-v3": [0.1, 0],
  "cohere.embed-multilingual-v3": [0.1, 0],
  "meta.llama3-1-70b-instruct-v1": [0.72, 0.72],
  "meta.llama3-1-8b-instruct-v1": [0.22, 0.22],
  "mistral.mistral-large-2407-v1": [2, 6],
};
