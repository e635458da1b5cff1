// The standard OpenTelemetry variables that fill `telemetry.traces` fields the config leaves unset,
// resolved once at load so the config says what the tracer does. A variable asking for what the
// gateway cannot do is a problem named by the variable, not the SDK's silent fallback. Other
// programs' variables in the same environment matter only when this gateway makes spans.
import type { GatewayConfig } from "./schema.js";

type Traces = GatewayConfig["telemetry"]["traces"];

const OTLP_PROTOCOL_VARIABLES = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] as const;

/**
 * `protocol` when the config leaves it unset: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, then
 * OTEL_EXPORTER_OTLP_PROTOCOL (as the exporter's headers and batch variables are honoured), then
 * http/json. grpc is refused: the gateway exports OTLP over HTTP.
 */
export function otlpProtocol(config: GatewayConfig, env: NodeJS.ProcessEnv): string[] {
  const traces = config.telemetry.traces;
  if (traces.protocol !== undefined || traces.exporter !== "otlp") return [];
  for (const name of OTLP_PROTOCOL_VARIABLES) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (value !== "http/json" && value !== "http/protobuf") {
      return [`${name}: "${value}" is not supported for traces: the gateway exports OTLP over HTTP (http/json or http/protobuf)`];
    }
    traces.protocol = value;
    return [];
  }
  traces.protocol = "http/json";
  return [];
}

export const SAMPLERS = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"] as const;
export type SamplerName = (typeof SAMPLERS)[number];

const isSampler = (value: string): value is SamplerName => (SAMPLERS as readonly string[]).includes(value);
export const usesRatio = (sampler: SamplerName) => sampler.endsWith("traceidratio");

/**
 * `sampler` and `sample_ratio` when the config leaves them unset. A ratio alone means
 * parentbased_traceidratio; otherwise OTEL_TRACES_SAMPLER, then parentbased_always_on (every call
 * traced unless the caller's traceparent says it is not sampled). A ratio sampler's ratio comes from
 * the config, then OTEL_TRACES_SAMPLER_ARG, then 1.
 */
export function tracesSampler(config: GatewayConfig, env: NodeJS.ProcessEnv): string[] {
  const traces: Traces = config.telemetry.traces;
  if (traces.exporter === "none") return [];
  if (traces.sampler === undefined) {
    const named = env.OTEL_TRACES_SAMPLER?.trim();
    if (traces.sample_ratio !== undefined) traces.sampler = "parentbased_traceidratio";
    else if (!named) traces.sampler = "parentbased_always_on";
    else if (isSampler(named)) traces.sampler = named;
    else return [`OTEL_TRACES_SAMPLER: "${named}" is not a sampler the gateway knows (${SAMPLERS.join(", ")})`];
  }
  if (!usesRatio(traces.sampler) || traces.sample_ratio !== undefined) return [];
  const argument = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (!argument) {
    traces.sample_ratio = 1;
    return [];
  }
  const ratio = Number(argument);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) return [`OTEL_TRACES_SAMPLER_ARG: "${argument}" is not a ratio between 0 and 1`];
  traces.sample_ratio = ratio;
  return [];
}
