// The telemetry step, first in the policy chain so it sees every call, refused ones included: the
// call's server span (RPC conventions, parented on the caller's W3C trace context) with a GenAI
// child span per upstream attempt, the call-level metrics, one access log line and, optionally, one
// CloudWatch EMF line. With tracing off and no traceparent from the caller it makes no span objects.
import { Code } from "@connectrpc/connect";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import {
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
} from "@opentelemetry/semantic-conventions/incubating";
import type { Admission, CallOutcome, InboundCall, Method, PolicyStep, Protocol } from "../policy/chain.js";
import { statusName } from "../policy/ledger-step.js";
import { AttemptSpans, PassThroughTrace, nowMs } from "./attempt-spans.js";
import { emfLine } from "./emf.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import type { Logger } from "./log.js";
import { callerSpanContext } from "./trace-context.js";

export type TelemetryStepOptions = {
  metrics: GatewayMetrics;
  log: Logger;
  /** Absent when traces are off. */
  tracer?: Tracer;
  /** Where EMF lines go, when cloudwatch_emf is on. */
  emf?: (line: string) => void;
};

const SERVICE = "switchboard.v1.InferenceService";
const RPC_METHOD: Record<Method, string> = { complete: "Complete", stream_complete: "StreamComplete", embed: "Embed", list_models: "ListModels" };
const SPAN_NAME: Record<Method, string> = {
  complete: `${SERVICE}/Complete`,
  stream_complete: `${SERVICE}/StreamComplete`,
  embed: `${SERVICE}/Embed`,
  list_models: `${SERVICE}/ListModels`,
};
const OPERATION: Record<Method, string> = { complete: "chat", stream_complete: "chat", embed: "embeddings", list_models: "list_models" };
// The OpenAI-compatible door is plain HTTP; its calls keep the RPC names and say their protocol.
const RPC_SYSTEM: Record<Protocol, string> = { grpc: "grpc", "grpc-web": "grpc", connect: "connect_rpc", openai: "http" };
// Server-side RPC conventions: only these codes mark a server span as failed; the rest are the caller's.
const SERVER_ERRORS = new Set<number>([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

export function createTelemetryStep(options: TelemetryStepOptions): PolicyStep {
  const { metrics, log, tracer, emf } = options;
  return (call, request) => {
    const startedAt = Date.now();
    const startMs = nowMs();
    const method = call.method;
    const alias = (request as { alias?: string } | undefined)?.alias ?? "";
    metrics.started(method);
    const parent = callerSpanContext(call);
    let spans: AttemptSpans | undefined;
    let server: ReturnType<Tracer["startSpan"]> | undefined;
    let observer: Admission["observer"];
    if (tracer) {
      const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
      const attributes: Attributes = { [ATTR_RPC_SYSTEM]: RPC_SYSTEM[call.protocol], [ATTR_RPC_SERVICE]: SERVICE, [ATTR_RPC_METHOD]: RPC_METHOD[method] };
      if (alias !== "") attributes["switchboard.alias"] = alias;
      server = tracer.startSpan(SPAN_NAME[method], { kind: SpanKind.SERVER, startTime: startMs, attributes }, parentContext);
      call.traceId = server.spanContext().traceId;
      observer = spans = new AttemptSpans(tracer, trace.setSpan(ROOT_CONTEXT, server), OPERATION[method]);
    } else if (parent) {
      call.traceId = parent.traceId;
      observer = new PassThroughTrace(parent);
    }
    return {
      observer,
      settle(outcome: CallOutcome): undefined {
        const endMs = nowMs();
        const endedAt = Date.now();
        const durationMs = endMs - startMs;
        metrics.ended({ method, alias, outcome, durationSeconds: durationMs / 1000, startedAt, endedAt });
        accessLine(log, call, alias, outcome, durationMs, startedAt);
        if (emf) {
          emf(
            emfLine({
              time: endedAt,
              method,
              alias,
              provider: outcome.provider ?? "",
              model: outcome.targetModel ?? "",
              code: statusName(outcome.code),
              durationMs: Math.round(durationMs * 1000) / 1000,
              ttftMs: outcome.firstOutputAt === undefined ? undefined : outcome.firstOutputAt - startedAt,
              inputTokens: outcome.usage?.inputTokens ?? 0,
              outputTokens: outcome.usage?.outputTokens ?? 0,
              costNanoUsd: outcome.usage?.costNanoUsd ?? 0n,
            }),
          );
        }
        if (server) {
          spans?.end(outcome, endMs);
          endServerSpan(server, call, outcome);
          server.end(endMs);
        }
        return undefined;
      },
    };
  };
}

function endServerSpan(span: NonNullable<ReturnType<Tracer["startSpan"]>>, call: InboundCall, outcome: CallOutcome): void {
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, outcome.code);
  if (call.requestId) span.setAttribute("switchboard.request_id", call.requestId);
  if (outcome.caller) span.setAttribute("switchboard.caller", outcome.caller.name);
  if (outcome.provider) span.setAttribute("switchboard.provider", outcome.provider);
  if (outcome.targetModel) span.setAttribute("switchboard.model", outcome.targetModel);
  if (outcome.usage) {
    span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, outcome.usage.inputTokens);
    span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, outcome.usage.outputTokens);
    span.setAttribute("switchboard.cost_nano_usd", Number(outcome.usage.costNanoUsd));
  }
  if (outcome.refusal) span.setAttribute("switchboard.refusal", outcome.refusal);
  if (SERVER_ERRORS.has(outcome.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: statusName(outcome.code) });
}

/** One line per call: who, what, where, how it ended, how long, how much. Never the prompt or a secret. */
function accessLine(log: Logger, call: InboundCall, alias: string, outcome: CallOutcome, durationMs: number, startedAt: number): void {
  if (!log.isLevelEnabled("info")) return;
  const usage = outcome.usage;
  log.info(
    {
      request_id: call.requestId,
      trace_id: call.traceId,
      key: outcome.caller?.name,
      team: outcome.caller?.team,
      protocol: call.protocol,
      method: call.method,
      alias: alias === "" ? undefined : alias,
      provider: outcome.provider,
      model: outcome.targetModel,
      code: statusName(outcome.code),
      latency_ms: Math.round(durationMs * 1000) / 1000,
      ttft_ms: outcome.firstOutputAt === undefined ? undefined : outcome.firstOutputAt - startedAt,
      input_tokens: usage?.inputTokens,
      output_tokens: usage?.outputTokens,
      cost_nano_usd: usage === undefined ? undefined : String(usage.costNanoUsd),
      attempts: outcome.attempts?.length,
      refusal: outcome.refusal,
    },
    "call",
  );
  if (outcome.attempts && log.isLevelEnabled("debug")) {
    for (const attempt of outcome.attempts) {
      log.debug(
        { request_id: call.requestId, trace_id: call.traceId, provider: attempt.provider, model: attempt.targetModel, outcome: attempt.outcome, duration_ms: attempt.durationMs },
        "upstream attempt",
      );
    }
  }
}
