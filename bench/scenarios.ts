// The bench scenarios, one entry each. A scenario says how the gateway is configured, what a caller
// sends, what a correct answer looks like and how many upstream calls one call must cost; the
// runner applies the load shapes to it. Later issues add theirs here (policy on, tracing on, the
// OpenAI-compatible HTTP API, Redis-backed limits).
import { create, fromBinary, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import {
  CompleteChunkSchema,
  CompleteRequestSchema,
  CompleteResponseSchema,
  Role,
} from "../gen/switchboard/v1/inference_pb.js";
import { grpcFrame } from "./h2load.js";
import { fakeProvider, type GatewayDocument } from "./targets.js";

export const SERVICE = "/switchboard.v1.InferenceService";

export type Scenario = {
  name: string;
  what: string;
  /** The gateway's config, given the fake's port. */
  document(fakePort: number): GatewayDocument;
  method: "Complete" | "StreamComplete";
  request: MessageInitShape<typeof CompleteRequestSchema>;
  /** Extra request headers (later: `authorization: Bearer <virtual key>`). */
  headers: string[];
  /** Upstream calls one gateway call must cause, by the fake's counters. */
  upstreamPerCall: { ok: number; failed: number };
  /** Whether each gRPC response message set is a correct answer; undefined when it is. */
  check(messages: Uint8Array[]): string | undefined;
  /** The body that calls the fake directly for the same answer (the "direct" baseline). */
  directBody: string;
};

const ping = { model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "ping" } }] }] };
const directUnary = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "ping" }] });
const oneTarget = (fakePort: number): GatewayDocument => ({
  providers: { up: fakeProvider(fakePort) },
  models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
});

function checkPong(messages: Uint8Array[], attempts: number): string | undefined {
  if (messages.length !== 1) return `expected one response message, got ${messages.length}`;
  const response = fromBinary(CompleteResponseSchema, messages[0]!);
  const text = response.message?.content.map((c) => (c.part.case === "text" ? c.part.value : "")).join("");
  if (text !== "pong") return `unexpected answer ${JSON.stringify(text)}`;
  if (response.route?.provider !== "up" || response.route.attempts !== attempts) {
    return `unexpected route ${response.route?.provider} after ${response.route?.attempts} attempts`;
  }
  return undefined;
}

export const STREAM_TOKENS = 200;

/** The bench's virtual key (policy on). */
export const BENCH_KEY = "sk-sb-bench-policy-on-000000000000000001";

/**
 * Every policy step on, nothing refused: a virtual key of a team, RPM/TPM limits on the key, the
 * team and the alias, a team and a key budget (reserved and settled per call), ledger and audit
 * records, metrics, and traces exported over OTLP/HTTP (to the fake, standing in for a collector).
 */
const policyOn = (fakePort: number): GatewayDocument => {
  const base = oneTarget(fakePort);
  const chat = (base.models as { chat: Record<string, unknown> }).chat;
  return {
    ...base,
    auth: { mode: "keys" },
    telemetry: { traces: { exporter: "otlp", endpoint: `http://127.0.0.1:${fakePort}/v1/traces` } },
    models: { chat: { ...chat, rpm: 100_000_000, tpm: 1_000_000_000_000 } },
    teams: { bench: { models: ["chat*"], rpm: 100_000_000, tpm: 1_000_000_000_000, budget: { usd: 1_000_000, window: "month", alerts: [0.9] } } },
    keys: [{ name: "bench-api", team: "bench", secret: BENCH_KEY, rpm: 100_000_000, tpm: 1_000_000_000_000, budget: { usd: 1_000_000, window: "day" } }],
  };
};

/** A streamed "ping" to alias chat asking for `tokens` output tokens. */
export const streamRequest = (tokens: number) => ({ ...ping, generation: { maxOutputTokens: tokens } });

/** The policy-on config with `traces` merged into its traces settings. */
const policyWithTraces = (fakePort: number, traces: Record<string, unknown>): GatewayDocument => {
  const document = policyOn(fakePort);
  const telemetry = document.telemetry as { traces: Record<string, unknown> };
  return { ...document, telemetry: { ...telemetry, traces: { ...telemetry.traces, ...traces } } };
};

const policyScenario: Scenario = {
  name: "policy",
  what: "unary, policy on: virtual key, RPM/TPM limits (key, team, alias), team and key budgets, ledger, audit, metrics, OTLP traces",
  document: policyOn,
  method: "Complete",
  request: ping,
  headers: [`authorization: Bearer ${BENCH_KEY}`],
  upstreamPerCall: { ok: 1, failed: 0 },
  check: (messages) => checkPong(messages, 1),
  directBody: directUnary,
};

export const scenarios: Scenario[] = [
  {
    name: "unary",
    what: "unary passthrough: one target, gRPC Complete → openai SDK → fake",
    document: oneTarget,
    method: "Complete",
    request: ping,
    headers: [],
    upstreamPerCall: { ok: 1, failed: 0 },
    check: (messages) => checkPong(messages, 1),
    directBody: directUnary,
  },
  policyScenario,
  {
    ...policyScenario,
    name: "policy-untraced",
    what: "the policy scenario with traces off (bench:quick and bench:profile only: what tracing costs)",
    document: (fakePort) => ({ ...policyOn(fakePort), telemetry: { traces: { exporter: "none" } } }),
  },
  {
    ...policyScenario,
    name: "policy-sampled",
    what: "the policy scenario keeping 10 % of traces (sample_ratio 0.1: what sampling buys, next to the policy row)",
    document: (fakePort) => policyWithTraces(fakePort, { sample_ratio: 0.1 }),
  },
  {
    ...policyScenario,
    name: "policy-inline-export",
    what: "the policy scenario exporting spans from the event loop (export_thread: false; bench:quick and bench:profile only: what the export thread buys)",
    document: (fakePort) => policyWithTraces(fakePort, { export_thread: false }),
  },
  {
    name: "fallback",
    what: "fallback: the first target answers 503, the second serves (circuit kept closed so every call fails over)",
    document: (fakePort) => ({
      providers: { up: fakeProvider(fakePort) },
      models: {
        chat: {
          retry: { max_attempts: 1 },
          circuit: { failure_threshold: 1_000_000_000 },
          targets: [
            { provider: "up", model: "fail-503", priority: 1 },
            { provider: "up", model: "gpt-4o-mini", priority: 2 },
          ],
        },
      },
    }),
    method: "Complete",
    request: ping,
    headers: [],
    upstreamPerCall: { ok: 1, failed: 1 },
    check: (messages) => checkPong(messages, 2),
    directBody: directUnary,
  },
  {
    name: "stream",
    what: `streaming ${STREAM_TOKENS} tokens: gRPC StreamComplete → openai SDK (SSE, include_usage) → fake`,
    document: oneTarget,
    method: "StreamComplete",
    request: streamRequest(STREAM_TOKENS),
    headers: [],
    upstreamPerCall: { ok: 1, failed: 0 },
    check(messages) {
      const chunks = messages.map((m) => fromBinary(CompleteChunkSchema, m));
      const text = chunks.filter((c) => c.event.case === "textDelta").length;
      const done = chunks.at(-1)?.event;
      if (done?.case !== "done") return "the stream did not end with done";
      if (text === 0) return "no text deltas";
      if (Number(done.value.usage?.outputTokens ?? 0) !== STREAM_TOKENS) return `usage ${done.value.usage?.outputTokens} output tokens`;
      return undefined;
    },
    directBody: JSON.stringify({
      model: "gpt-4o-mini",
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: STREAM_TOKENS,
      messages: [{ role: "user", content: "ping" }],
    }),
  },
];

/** The OpenAI-compatible API's body for the same "ping" (the gateway's alias as the model). */
export const openaiApiBody = JSON.stringify({ model: "chat", messages: [{ role: "user", content: "ping" }] });

/** The policy-on config for the OpenAI-compatible API scenario (its key goes in `authorization`). */
export const policyOnDocument = policyOn;

export function scenario(name: string): Scenario {
  const found = scenarios.find((s) => s.name === name);
  if (!found) throw new Error(`no scenario ${name} (known: ${scenarios.map((s) => s.name).join(", ")})`);
  return found;
}

/** The gRPC request body: the 5-byte-prefixed protobuf. */
export function grpcBody(s: Scenario): Uint8Array {
  return grpcFrame(toBinary(CompleteRequestSchema, create(CompleteRequestSchema, s.request)));
}

/** The Connect protocol's JSON body of the same request (HTTP/1.1, as plain curl sends it). */
export function connectJsonBody(s: Scenario): string {
  return toJsonString(CompleteRequestSchema, create(CompleteRequestSchema, s.request));
}

export const isTextDelta = (m: Uint8Array) => fromBinary(CompleteChunkSchema, m).event.case === "textDelta";
export const isDone = (m: Uint8Array) => fromBinary(CompleteChunkSchema, m).event.case === "done";
