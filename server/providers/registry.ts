// Provider type → adapter factory, and the one place where the config file's provider and target
// blocks become the plain options adapters take. Adding a provider is one adapter file, one line
// in FACTORIES and one case in providerOptions().
import type { ProviderConfig, TargetConfig } from "../config/schema.js";
import { createAnthropicProvider } from "./anthropic.js";
import { createBedrockProvider } from "./bedrock.js";
import { createGeminiProvider } from "./gemini.js";
import { createOpenAICompatibleProvider, createOpenAIProvider } from "./openai.js";
import type { AwsOptions, ProviderOptions, ProviderType } from "./options.js";
import type { ProviderAdapter, ProviderDeps, ProviderFactory, UpstreamTarget } from "./provider.js";
import { createSageMakerProvider } from "./sagemaker.js";

type Factories = { [T in ProviderType]: ProviderFactory<T> };

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

type AwsConfig = Extract<ProviderConfig, { type: "bedrock" | "sagemaker" }>;

function awsOptions(config: AwsConfig): AwsOptions {
  return {
    region: config.region,
    accessKeyId: config.access_key_id,
    secretAccessKey: config.secret_access_key,
    sessionToken: config.session_token,
  };
}

/** The config file's provider block as the plain options its factory takes. */
export function providerOptions(config: ProviderConfig): ProviderOptions {
  const common = { baseUrl: config.base_url, timeoutMs: config.timeout_ms };
  switch (config.type) {
    case "openai":
      return { ...common, type: "openai", apiKey: config.api_key, organization: config.organization };
    case "openai-compatible":
      return { ...common, type: "openai-compatible", baseUrl: config.base_url, apiKey: config.api_key, headers: config.headers };
    case "anthropic":
      return { ...common, type: "anthropic", apiKey: config.api_key };
    case "gemini":
      return { ...common, type: "gemini", apiKey: config.api_key, project: config.project, location: config.location };
    case "bedrock":
      return { ...common, ...awsOptions(config), type: "bedrock" };
    case "sagemaker":
      return { ...common, ...awsOptions(config), type: "sagemaker", payloadFormat: config.payload_format };
  }
}

/** The config file's target block as the plain per-call target adapters take (built once per config). */
export function upstreamTarget(config: TargetConfig): UpstreamTarget {
  return {
    model: config.model,
    ...(config.target_variant ? { targetVariant: config.target_variant } : {}),
    ...(config.inference_component ? { inferenceComponent: config.inference_component } : {}),
    ...(config.custom_attributes ? { customAttributes: config.custom_attributes } : {}),
  };
}

export function createProvider(name: string, config: ProviderConfig, deps: ProviderDeps): ProviderAdapter {
  const options = providerOptions(config);
  const factory = FACTORIES[options.type] as ProviderFactory<typeof options.type> | undefined;
  if (!factory) {
    const known = Object.keys(FACTORIES).join(", ");
    throw new Error(`providers.${name}.type: provider type "${options.type}" is not available in this build (available: ${known})`);
  }
  return factory(name, options as never, deps);
}
