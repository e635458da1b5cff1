// The ledger on the request path: a policy step that gives every inference call a request id
// (a time-ordered UUIDv7, returned as `x-request-id`) and, when the call ends, commits its ledger row and audit record
// before the caller sees the end of the call (the settle promise the binding awaits).
import { Code } from "@connectrpc/connect";
import { redact } from "../core/redact.js";
import { newRequestId } from "../core/request-id.js";
import type { ChatMessage } from "../core/types.js";
import type { LedgerAttempt, LedgerEntry, LedgerMethod, Store, UsageBuckets } from "../store/store.js";
import type { Admission, CallOutcome, InboundCall, OutcomeTokens, PolicyStep } from "./chain.js";

export const REQUEST_ID_HEADER = "x-request-id";

export type LedgerStepOptions = {
  store: Store;
  /**
   * The patterns to redact when audit records keep the prompt text, or undefined when they do not.
   * Read per call: a reload may change it.
   */
  promptCapture(): readonly RegExp[] | undefined;
  /** The configured region of an alias's target, "" when none. */
  regionOf?(alias: string, provider: string, model: string): string;
  /** A call refused by authentication (it gets no row). */
  onUnauthenticated?(call: InboundCall): void;
  /** A row the store could not commit: the call still gets its answer (the ledger fails open). */
  onAppendError(error: unknown, requestId: string): void;
};

type LedgeredRequest = { alias: string; metadata: Record<string, string>; messages?: ChatMessage[] };

const METHODS: Partial<Record<InboundCall["method"], LedgerMethod>> = { complete: "complete", stream_complete: "stream_complete", embed: "embed" };
const NOTHING: Admission = Object.freeze({});

/** OK, UNAVAILABLE, DEADLINE_EXCEEDED, … as gRPC names them. */
export function statusName(code: number): string {
  if (code === 0) return "OK";
  if (code === Code.Canceled) return "CANCELLED";
  const name = Code[code] as string | undefined;
  return name === undefined ? String(code) : name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

export function usageBuckets(usage: OutcomeTokens | undefined): UsageBuckets {
  if (usage === undefined) return { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 };
  const cacheRead = usage.cachedInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteInputTokens ?? 0;
  return {
    uncachedInput: Math.max(0, usage.inputTokens - cacheRead - cacheWrite),
    cacheRead,
    cacheWrite,
    output: usage.outputTokens,
    reasoning: usage.reasoningTokens ?? 0,
  };
}

function promptText(messages: ChatMessage[], patterns: readonly RegExp[]): string {
  const lines: string[] = [];
  for (const message of messages) {
    for (const part of message.content) if (part.type === "text") lines.push(`${message.role}: ${part.text}`);
  }
  let text = redact(lines.join("\n"));
  for (const pattern of patterns) text = text.replace(pattern, "[REDACTED]");
  return text;
}

function attemptsOf(outcome: CallOutcome): LedgerAttempt[] {
  return (outcome.attempts ?? []).map((a) => ({
    provider: a.provider,
    model: a.targetModel,
    outcome: a.outcome,
    durationMs: a.durationMs,
    usage: a.usage && usageBuckets(a.usage),
    costNanoUsd: a.costNanoUsd,
  }));
}

export function createLedgerStep(options: LedgerStepOptions): PolicyStep {
  return (call, request) => {
    const method = METHODS[call.method];
    if (method === undefined) return NOTHING;
    const time = Date.now();
    const requestId = newRequestId(time);
    call.setResponseHeader?.(REQUEST_ID_HEADER, requestId);
    call.requestId = requestId;
    const { alias, metadata, messages } = request as LedgeredRequest;
    return {
      settle(outcome: CallOutcome): Promise<void> | undefined {
        // A caller refused by authentication is not anyone's call: it is logged, not ledgered.
        if (outcome.code === Code.Unauthenticated) {
          options.onUnauthenticated?.(call);
          return undefined;
        }
        const end = Date.now();
        const capture = options.promptCapture();
        const provider = outcome.provider ?? "";
        const model = outcome.targetModel ?? "";
        const entry: LedgerEntry = {
          row: {
            time,
            requestId,
            keyId: outcome.caller?.keyId ?? "",
            keyName: outcome.caller?.name ?? "",
            team: outcome.caller?.team ?? "",
            protocol: call.protocol,
            method,
            alias,
            provider,
            model,
            modelVersion: outcome.modelVersion ?? "",
            region: outcome.region ?? (provider === "" ? "" : (options.regionOf?.(alias, provider, model) ?? "")),
            attempts: attemptsOf(outcome),
            usage: usageBuckets(outcome.usage),
            estimated: outcome.usage?.estimated ?? false,
            priced: outcome.priced ?? true,
            costNanoUsd: outcome.usage?.costNanoUsd ?? 0n,
            latencyMs: end - time,
            ttftMs: outcome.firstOutputAt === undefined ? undefined : outcome.firstOutputAt - time,
            status: statusName(outcome.code),
            traceId: call.traceId ?? "",
            metadata,
          },
          audit: {
            requestBytes: call.requestBytes?.(), // hashed by the store's writer, off the request path
            prompt: messages && capture ? promptText(messages, capture) : undefined,
          },
        };
        return options.store.append(entry).catch((error: unknown) => options.onAppendError(error, requestId));
      },
    };
  };
}
