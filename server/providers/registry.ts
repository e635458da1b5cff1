// Provider type → adapter factory. Adding a provider is one adapter file and one line here.
import type { ProviderConfig, ProviderType } from "../config/schema.js";
import { createAnthropicProvider } from "./anthropic.js";
import { createBedrockProvider } from "./bedrock.js";
import { createGeminiProvider } from "./gemini.js";
import { createOpenAICompatibleProvider, createOpenAIProvider } from "./openai.js";
import type { ProviderAdapter, ProviderDeps, ProviderFactory } from "./provider.js";
import { createSageMakerProvider } from "./sagemaker.js";

type Factories = { [T in ProviderType]?: ProviderFactory<T> };

const FACTORIES: Factories = {
  openai: createOpenAIProvider,
  "openai-compatible": createOpenAICompatibleProvider,
  bedrock: createBedrockProvider,
  gemini: createGeminiProvider,
  anthropic: createAnthropicProvider,
  sagemaker: createSageMakerProvider,
};

export function availableProviderTypes(): ProviderType[] {
  return Object.keys(FACTORIES) as ProviderType[];
}

export function createProvider(name: string, config: ProviderConfig, deps: ProviderDeps): ProviderAdapter {
  const factory = FACTORIES[config.type] as ProviderFactory<typeof config.type> | undefined;
  if (!factory) {
    const known = Object.keys(FACTORIES).join(", ");
    throw new Error(`providers.${name}.type: provider type "${config.type}" is not available in this build (available: ${known})`);
  }
  return factory(name, config as never, deps);
}
