// The most input tokens one image can cost, per provider type, from each provider's published rule.
// These are ceilings for budget reservations, not estimates: where a rule depends on the model or
// on a setting the gateway does not see, the largest documented case is taken.
import type { ProviderType } from "../../config/schema.js";

const IMAGE_TOKEN_CEILING: Record<ProviderType, number> = {
  // OpenAI vision guide. Tile models (gpt-4o, gpt-4.1, o-series): fit in 2048², shortest side to
  // 768 → at most 2×4 tiles of 512 px = 85 + 170 × 8 = 1,445. Patch models (gpt-4.1-mini/nano,
  // o4-mini, gpt-5-mini/nano): at most 1,536 patches of 32 px × the largest multiplier (2.46) = 3,779.
  openai: 3_779,
  // Anthropic vision docs: tokens ≈ width × height / 750, and larger images are resized to at most
  // ~1.15 megapixels (1568 px on the long edge) → ≈ 1,534; the docs round it to about 1,600.
  anthropic: 1_600,
  // Gemini token counting: 258 per image up to 384 px; larger ones are cut into 768 × 768 tiles of
  // 258 each, after scaling to at most 3072 × 3072 → 16 tiles = 4,128. (Gemini 3's
  // media_resolution "high" is 1,120 per image, below this.)
  gemini: 4_128,
  // Converse serves Claude (≈ 1,600 as above) and other families (Nova, Llama vision) whose
  // per-image counts run higher; twice Claude's ceiling covers the documented ones.
  bedrock: 3_200,
  // Self-hosted vision models decide for themselves; Qwen2-VL's default max_pixels (12,845,056 =
  // 16,384 patches of 28²) is the largest common default.
  "openai-compatible": 16_384,
  sagemaker: 16_384,
};

// gpt-4o-mini bills images at a multiplier that keeps their price near gpt-4o's: 2,833 + 5,667 per tile.
const MODEL_CEILINGS: readonly (readonly [prefix: string, tokens: number])[] = [["gpt-4o-mini", 2_833 + 5_667 * 8]];

export function imageTokenCeiling(providerType: ProviderType, model: string): number {
  for (const [prefix, tokens] of MODEL_CEILINGS) if (model.startsWith(prefix)) return tokens;
  return IMAGE_TOKEN_CEILING[providerType];
}
