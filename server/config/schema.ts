// The shape of switchboard.yaml. Every object is strict, so a misspelt key is reported with its
// path instead of being ignored.
import { z } from "zod";
import { SAMPLERS } from "./otel-env.js";

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

/** HTTP headers sent as configured: names are RFC 9110 tokens, values one line each. */
const httpHeaders = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)"),
  z.string().regex(/^[^\r\n\0]*$/, "a header value cannot contain a line break or NUL"),
);

export const providerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("openai"), ...base, api_key: z.string().min(1), organization: z.string().optional() }),
  z.strictObject({
    type: z.literal("openai-compatible"),
    ...base,
    base_url: z.url(),
    api_key: z.string().min(1).optional(),
    headers: httpHeaders.optional(),
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
  /** How routing policies and rules name this target; defaults to `model`. */
  name: z.string().min(1).optional(),
  provider: z.string().min(1),
  /** The upstream model name (for SageMaker: the endpoint name). */
  model: z.string().min(1),
  priority: z.number().int().min(0).default(1),
  weight: z.number().int().min(0).default(1),
  region: z.string().min(1).optional(),
  internal: z.boolean().default(false),
  /** The model's context window in tokens: a prompt too long for one target may fall back to a larger one. */
  context_window: positiveInt.optional(),
  /** SageMaker: production variant, inference component and custom attributes. */
  target_variant: z.string().min(1).optional(),
  inference_component: z.string().min(1).optional(),
  custom_attributes: z.string().min(1).optional(),
});

export const STRATEGIES = ["priority", "weighted", "round-robin", "least-busy", "latency", "cost"] as const;
export const strategySchema = z.enum(STRATEGIES);

const retrySchema = z.strictObject({
  /** Attempts per target, the first included (1 = no retry on the same target). */
  max_attempts: z.number().int().min(1).max(10).default(2),
  initial_backoff_ms: z.number().int().min(0).default(100),
  max_backoff_ms: z.number().int().min(0).default(2_000),
});

const circuitSchema = z.strictObject({
  /** Failures within window_ms that open the circuit. */
  failure_threshold: positiveInt.default(5),
  window_ms: durationMs.default(30_000),
  /** How long an open circuit skips the target before one probe call. */
  cooldown_ms: durationMs.default(15_000),
});

export const aliasSchema = z.strictObject({
  strategy: strategySchema.default("priority"),
  /** The source article's JSON policy form: {"routing": [{"model": <target name>, "priority": N}]}. */
  policy_file: z.string().min(1).optional(),
  /** Deadline applied when the caller sends none (ms). */
  timeout_ms: durationMs.default(120_000),
  /** No upstream attempt starts with less than this left before the deadline. */
  min_attempt_ms: z.number().int().min(0).default(50),
  retry: retrySchema.default({ max_attempts: 2, initial_backoff_ms: 100, max_backoff_ms: 2_000 }),
  circuit: circuitSchema.default({ failure_threshold: 5, window_ms: 30_000, cooldown_ms: 15_000 }),
  /** Streams: the longest wait for the first event of an attempt (before it, a stall fails over). */
  first_chunk_timeout_ms: durationMs.default(60_000),
  /** Streams: the longest wait between two events (after the first, a stall ends the stream UNAVAILABLE). */
  idle_timeout_ms: durationMs.default(30_000),
  /** Start the next target too when the first has produced nothing after this long. */
  hedge_after_ms: positiveInt.optional(),
  /** Latency strategy: the share of calls that try a non-fastest target, so recovery is noticed. */
  exploration: z.number().min(0).max(1).default(0.05),
  /** Cost strategy and budgets: output tokens assumed when the request sets no max_output_tokens. */
  assumed_output_tokens: positiveInt.default(256),
  /** Requests / tokens per minute across every caller of this alias. */
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  targets: z.array(targetSchema).min(1),
});

const ruleSchema = z.strictObject({
  name: z.string().min(1),
  when: z
    .strictObject({
      /** The alias the caller asked for (one or several). */
      alias: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
      /** Every listed metadata key must have exactly this value. */
      metadata: z.record(z.string(), z.string()).optional(),
      /** The caller's identity (a virtual key's name, once keys exist). */
      caller: z.string().min(1).optional(),
      min_input_tokens: z.number().int().min(0).optional(),
      max_input_tokens: z.number().int().min(0).optional(),
      /** A CEL expression over `request` (alias, metadata, caller, input_tokens, max_output_tokens, has_tools, has_images). */
      cel: z.string().min(1).optional(),
    })
    .default({}),
  then: z.strictObject({
    /** Send the call to this alias instead. */
    alias: z.string().min(1).optional(),
    /** Only targets of these providers. */
    providers: z.array(z.string().min(1)).min(1).optional(),
    /** Only targets whose region matches one of these (a trailing * matches a prefix: "eu-*"). */
    regions: z.array(z.string().min(1)).min(1).optional(),
    /** Only targets marked internal: true. */
    internal_only: z.boolean().optional(),
    strategy: strategySchema.optional(),
  }),
});

const priceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
  /** USD per million tokens written to the prompt cache; the input rate when left out. */
  cache_write_input: z.number().min(0).optional(),
});

const budgetSchema = z.strictObject({
  usd: z.number().positive(),
  window: z.enum(["day", "month"]),
  /** Fractions of the budget at which a soft alert fires once per window. */
  alerts: z.array(z.number().gt(0).max(1)).default([]),
  webhook: z.url().optional(),
});

/** What a team or a key may use; a key without `models` has its team's. */
const accessFields = {
  /** Alias globs ("chat*", "embed"). */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** Only targets of these providers (a restriction the router applies, like a rule). */
  providers: z.array(z.string().min(1)).min(1).optional(),
  /** Only targets whose region matches ("eu-*"). */
  regions: z.array(z.string().min(1)).min(1).optional(),
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  budget: budgetSchema.optional(),
  /** Defaults merged into the request's metadata (the request's own values win). */
  metadata: z.record(z.string(), z.string()).optional(),
};

export const teamSchema = z.strictObject(accessFields);

const keySchema = z
  .strictObject({
    /** The caller's identity in rules, ledger and audit. */
    name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, "key names use letters, digits, _ . : -"),
    team: z.string().min(1),
    /** The key's secret (from ${ENV} or ${file:…}), or its SHA-256 hex digest instead. */
    secret: z.string().min(16).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lower-case hex SHA-256 digest").optional(),
    expires_at: z.iso.datetime({ offset: true }).optional(),
    role: z.enum(["user", "admin"]).default("user"),
    ...accessFields,
  })
  .refine((key) => (key.secret === undefined) !== (key.sha256 === undefined), "give exactly one of secret or sha256");

export const configSchema = z.strictObject({
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "expected host:port, e.g. 127.0.0.1:50051")
    .default("127.0.0.1:50051"),
  /** Optional second port for browsers: Connect and gRPC-Web over HTTP/2 and HTTP/1.1 (TLS when `tls` is set). */
  web_listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "expected host:port, e.g. 127.0.0.1:8080")
    .optional(),
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  shutdown_grace_ms: durationMs.default(10_000),
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  max_message_bytes: positiveInt.default(16 * 1024 * 1024),
  providers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "provider names use letters, digits, _ . -"), providerSchema),
  models: z
    .record(z.string().min(1), aliasSchema)
    .refine((models) => Object.keys(models).length > 0, "at least one model alias is required"),
  /** Evaluated in order before each alias's strategy. */
  rules: z.array(ruleSchema).default([]),
  /** USD per million tokens, per upstream model name; overrides the built-in catalog. */
  prices: z.record(z.string().min(1), priceSchema).default({}),
  /** Caller identity: `keys` (the default once any key or team is configured) or `none` (laptop, demo). */
  auth: z
    .strictObject({
      mode: z.enum(["keys", "none"]).optional(),
      /** Bearer secret for AdminService and the CLI's admin commands. */
      admin_key: z.string().min(16).optional(),
    })
    .default({}),
  /** Where keys, the ledger and the audit log live. */
  /** Exactly one of `sqlite` (the default: one process) or `postgres` (shared by many replicas). */
  store: z
    .strictObject({
      sqlite: z.strictObject({ path: z.string().min(1).default("data/switchboard.db") }).optional(),
      postgres: z
        .strictObject({
          /** postgres://user:password@host:port/database; the operator creates the database. */
          url: z.string().regex(/^postgres(ql)?:\/\/./, "must be a postgres:// or postgresql:// URL"),
          /** Connections in this replica's pool. */
          max_connections: positiveInt.optional(),
        })
        .optional(),
      /** Raw ledger rows older than this many days are deleted (rollups are kept). */
      retention_days: positiveInt.optional(),
    })
    .superRefine((store, ctx) => {
      if (store.sqlite && store.postgres) {
        ctx.addIssue({ code: "custom", path: ["postgres"], message: "set store.sqlite or store.postgres, not both" });
      }
    })
    .transform((store) => (store.postgres || store.sqlite ? store : { ...store, sqlite: { path: "data/switchboard.db" } }))
    .default({ sqlite: { path: "data/switchboard.db" } }),
  audit: z
    .strictObject({
      /** Keep the prompt text in audit records (redacted); off by default. */
      capture_prompts: z.boolean().default(false),
      /**
       * Regular expressions (JavaScript syntax, matched case-insensitively) whose matches are replaced
       * by [REDACTED] in captured prompts, on top of every secret the gateway knows.
       */
      redact: z
        .array(
          z.string().min(1).refine((pattern) => {
            try {
              new RegExp(pattern, "gi");
              return true;
            } catch {
              return false;
            }
          }, "not a valid regular expression"),
        )
        .default([]),
    })
    .default({ capture_prompts: false, redact: [] }),
  /** Several replicas: rate-limit buckets, budget counters and circuit state in Redis (needs a restart to change). */
  shared_state: z
    .strictObject({
      redis: z.url({ protocol: /^rediss?$/, error: "expected a redis:// or rediss:// URL, e.g. redis://redis:6379" }),
      /** Redis unreachable: `open` admits calls unchecked (logged once per outage), `closed` refuses them UNAVAILABLE. */
      on_failure: z.enum(["open", "closed"]).default("open"),
      /** How long a budget reservation outlives a replica that died holding it (ms). */
      lease_ms: durationMs.default(600_000),
      /** Fallback re-read of the run-time keys, for a key change whose Redis message was lost (ms). */
      key_poll_ms: durationMs.default(5_000),
    })
    .optional(),
  teams: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "team names use letters, digits, _ . -"), teamSchema).default({}),
  keys: z.array(keySchema).default([]),
  /** The operators' HTTP listener: /metrics (Prometheus), /healthz, /readyz. */
  operator: z
    .strictObject({
      /** Default 127.0.0.1:9464; if that default is taken, the gateway logs it and runs without. */
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "expected host:port, e.g. 127.0.0.1:9464")
        .optional(),
      /** When set, /metrics needs `authorization: Bearer <bearer>` (health and readiness never do). */
      bearer: z.string().min(16, "at least 16 characters").optional(),
    })
    .default({}),
  telemetry: z
    .strictObject({
      traces: z
        .strictObject({
          exporter: z.enum(["otlp", "console", "none"]).default("none"),
          /** OTLP/HTTP traces URL (default http://127.0.0.1:4318/v1/traces). */
          endpoint: z.url({ protocol: /^https?$/, error: "expected an http(s) URL, e.g. http://127.0.0.1:4318/v1/traces" }).optional(),
          /**
           * OTLP/HTTP body encoding: JSON (cheaper on the event loop, measured) or protobuf (half the
           * bytes). Unset: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL, then
           * http/json (the loader fills it in: see otel-env.ts).
           */
          protocol: z.enum(["http/json", "http/protobuf"]).optional(),
          /**
           * Head sampling, by the OTEL_TRACES_SAMPLER names. Unset: parentbased_traceidratio when
           * sample_ratio is set, else OTEL_TRACES_SAMPLER, else parentbased_always_on (otel-env.ts).
           */
          sampler: z.enum(SAMPLERS).optional(),
          /** The share of new traces a *traceidratio sampler keeps (OTEL_TRACES_SAMPLER_ARG). */
          sample_ratio: z.number().min(0).max(1).optional(),
          /** Sent with every export, e.g. a hosted collector's API key from `${ENV}`; never logged. */
          headers: httpHeaders.optional(),
          /** OTLP encoding and export on a thread of their own (the default), or false: on the event loop. */
          export_thread: z.boolean().optional(),
        })
        .default({ exporter: "none" }),
      /** CloudWatch Embedded Metric Format: one JSON line per call on stdout. */
      cloudwatch_emf: z.boolean().default(false),
    })
    .default({ traces: { exporter: "none" }, cloudwatch_emf: false }),
});

export type ProviderConfig = z.infer<typeof providerSchema>;
export type ProviderType = ProviderConfig["type"];
export type TargetConfig = z.infer<typeof targetSchema>;
export type AliasConfig = z.infer<typeof aliasSchema>;
export type GatewayConfig = z.infer<typeof configSchema>;
export type PriceConfig = z.infer<typeof priceSchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type Strategy = z.infer<typeof strategySchema>;
export type TeamConfig = z.infer<typeof teamSchema>;
export type KeyConfig = z.infer<typeof keySchema>;
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type SharedStateConfig = NonNullable<GatewayConfig["shared_state"]>;

/** Auth is on when the config says so, or by default once any key or team is configured. */
export function authMode(config: Pick<GatewayConfig, "auth" | "keys" | "teams">): "keys" | "none" {
  return config.auth.mode ?? (config.keys.length > 0 || Object.keys(config.teams).length > 0 ? "keys" : "none");
}
