// The GenAI client span of every upstream attempt of one call, children of the call's server span,
// and the scope that makes each attempt's upstream requests carry its span as their parent.
// Attributes: the GenAI semantic conventions, routing facts and cost — never prompt, completion or key.
import { SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from "@opentelemetry/semantic-conventions/incubating";
import type { CallOutcome } from "../policy/chain.js";
import type { AttemptRecord } from "../routing/billing.js";
import type { AttemptObserver, AttemptStart } from "../routing/observer.js";
import type { AttemptHeaders } from "../routing/observer.js";
import { traceHeaders } from "./trace-context.js";

/** gen_ai.provider.name by adapter type; types without a well-known value keep their own name. */
const PROVIDER_NAME: Record<string, string> = {
  openai: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
  anthropic: GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  gemini: GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI,
  bedrock: GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK,
  sagemaker: "aws.sagemaker",
  "openai-compatible": "openai_compatible",
};

/** Attempt outcomes that are not a failure of the attempt. */
const NOT_FAILED = new Set(["OK", "CANCELED_HEDGE_LOST"]);

/** Epoch milliseconds with sub-millisecond precision, the clock every span of a call uses. */
export const nowMs = () => performance.timeOrigin + performance.now();

type Open = { record: AttemptRecord; span: Span; startMs: number };

export class AttemptSpans implements AttemptObserver {
  private readonly open: Open[] = [];

  constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
    private readonly operation: string,
  ) {}

  attempt<T>(start: AttemptStart, run: (headers?: AttemptHeaders) => Promise<T>): Promise<T> {
    const startMs = nowMs();
    const span = this.tracer.startSpan(
      `${this.operation} ${start.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: startMs,
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: this.operation,
          [ATTR_GEN_AI_PROVIDER_NAME]: PROVIDER_NAME[start.providerType] ?? start.providerType,
          [ATTR_GEN_AI_REQUEST_MODEL]: start.model,
          "switchboard.alias": start.alias,
          "switchboard.strategy": start.strategy,
          "switchboard.provider": start.provider,
          "switchboard.attempt": start.number,
          "switchboard.hedged": start.hedged,
        },
      },
      this.parent,
    );
    this.open.push({ record: start.record, span, startMs });
    return run(traceHeaders(span.spanContext()));
  }

  /** Ends every attempt span with what the attempt log finally says; the serving one at `endMs`. */
  end(outcome: CallOutcome, endMs: number): void {
    let serving: Open | undefined;
    for (const entry of this.open) if (entry.record.outcome === "OK") serving = entry;
    for (const entry of this.open) {
      const { record, span } = entry;
      span.setAttribute("switchboard.outcome", record.outcome);
      if (record.usage) {
        span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, record.usage.inputTokens);
        span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, record.usage.outputTokens);
        if (record.usage.estimated) span.setAttribute("switchboard.usage_estimated", true);
      }
      if (record.costNanoUsd !== undefined) span.setAttribute("switchboard.cost_nano_usd", Number(record.costNanoUsd));
      if (entry === serving) {
        span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, outcome.modelVersion || record.targetModel);
        if (outcome.finishReason) span.setAttribute(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [outcome.finishReason]);
      }
      if (!NOT_FAILED.has(record.outcome)) {
        span.setAttribute("error.type", record.outcome);
        span.setStatus({ code: SpanStatusCode.ERROR, message: record.outcome });
      }
      // The serving attempt of a stream lasts until the stream ends; the others ended when logged.
      span.end(entry === serving ? endMs : entry.startMs + record.durationMs);
    }
  }
}

/** With tracing off, a caller's trace context still reaches the upstream: no spans, same parent. */
export class PassThroughTrace implements AttemptObserver {
  private readonly headers: AttemptHeaders;

  constructor(context: ReturnType<typeof trace.getSpanContext> & object) {
    this.headers = traceHeaders(context);
  }

  attempt<T>(_start: AttemptStart, run: (headers?: AttemptHeaders) => Promise<T>): Promise<T> {
    return run(this.headers);
  }
}
