// The shape of switchboard.yaml. Every object is strict, so a misspelt key is reported with its
// path instead of being ignored.
import { z } from "zod";

const positiveInt = z.number().int().positive();
const durationMs = z.number().int().positive().max(24 * 3600 * 1000);

const base = {
  base_url: z.url().optional(),
  /** Upstream request timeout when the caller's deadline is longer (ms). */
  timeout_ms: durationMs.optional(),
};

const aws = {
  region: z.string().min(1).optional(),
  access_key_id: z.string().min(1).optional(),
  secret_access_key: z.string().min(1).optional(),
  session_token: z.string().min(1).optional(),
};

export const providerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("openai"), ...base, api_key: z.string().min(1), organization: z.string().optional() }),
  z.strictObject({
    type: z.literal("openai-compatible"),
    ...base,
    base_url: z.url(),
    api_key: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({ type: z.literal("anthropic"), ...base, api_key: z.string().min(1) }),
  z.strictObject({
    type: z.literal("gemini"),
    ...base,
    api_key: z.string().min(1).optional(),
    project: z.string().min(1).optional(),
    location: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal("bedrock"), ...base, ...aws }),
  z.strictObject({
    type: z.literal("sagemaker"),
    ...base,
    ...aws,
    payload_format: z.enum(["openai", "tgi"]).default("openai"),
  }),
]);

export const targetSchema = z.strictObject({
  provider: z.string().min(1),
  /** The upstream model name (for SageMaker: the endpoint name). */
  model: z.string().min(1),
  priority: z.number().int().min(0).default(1),
  weight: z.number().int().min(0).default(1),
  region: z.string().min(1).optional(),
  internal: z.boolean().default(false),
  /** SageMaker: production variant, inference component and custom attributes. */
  target_variant: z.string().min(1).optional(),
  inference_component: z.string().min(1).optional(),
  custom_attributes: z.string().min(1).optional(),
});

export const aliasSchema = z.strictObject({
  strategy: z.enum(["priority"]).default("priority"),
  /** Deadline applied when the caller sends none (ms). */
  timeout_ms: durationMs.default(120_000),
  targets: z.array(targetSchema).min(1),
});

const priceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
});

export const configSchema = z.strictObject({
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "expected host:port, e.g. 127.0.0.1:50051")
    .default("127.0.0.1:50051"),
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  shutdown_grace_ms: durationMs.default(10_000),
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  max_message_bytes: positiveInt.default(16 * 1024 * 1024),
  providers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "provider names use letters, digits, _ . -"), providerSchema),
  models: z
    .record(z.string().min(1), aliasSchema)
    .refine((models) => Object.keys(models).length > 0, "at least one model alias is required"),
  /** USD per million tokens, per upstream model name; overrides the built-in catalog. */
  prices: z.record(z.string().min(1), priceSchema).default({}),
});

export type ProviderConfig = z.infer<typeof providerSchema>;
export type ProviderType = ProviderConfig["type"];
export type TargetConfig = z.infer<typeof targetSchema>;
export type AliasConfig = z.infer<typeof aliasSchema>;
export type GatewayConfig = z.infer<typeof configSchema>;
export type PriceConfig = z.infer<typeof priceSchema>;
