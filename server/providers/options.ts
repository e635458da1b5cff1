// The plain options each adapter factory takes. registry.ts maps the config file's provider blocks
// to these in one place, so adapters never depend on the config schema.

export type ProviderType = "openai" | "openai-compatible" | "anthropic" | "gemini" | "bedrock" | "sagemaker";

type Common = {
  /** The provider's endpoint, when not the public default. */
  baseUrl?: string;
  /** The provider's `timeout_ms`, enforced by routing (see ProviderAdapter.timeoutMs). */
  timeoutMs?: number;
};

/** AWS credentials and region; each optional (the AWS default chain applies). */
export type AwsOptions = {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
};

export type OpenAIOptions = Common & { type: "openai"; apiKey: string; organization?: string };
export type OpenAICompatibleOptions = Common & {
  type: "openai-compatible";
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
};
export type AnthropicOptions = Common & { type: "anthropic"; apiKey: string };
export type GeminiOptions = Common & { type: "gemini"; apiKey?: string; project?: string; location?: string };
export type BedrockOptions = Common & AwsOptions & { type: "bedrock" };
export type SageMakerOptions = Common & AwsOptions & { type: "sagemaker"; payloadFormat: "openai" | "tgi" };

export type ProviderOptions =
  | OpenAIOptions
  | OpenAICompatibleOptions
  | AnthropicOptions
  | GeminiOptions
  | BedrockOptions
  | SageMakerOptions;
