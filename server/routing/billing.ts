// What a call consumed and where: the attempt log (each attempt identified by its record, never
// found by position), the bill of the serving attempt, and estimates for what an abandoned or broken
// attempt consumed.
import { costNanoUsd, type ModelPrice } from "../core/pricing.js";
import { roughMessageTokens, roughTokens } from "../core/tokens.js";
import { emptyUsage, type CompletionRequest, type EmbeddingRequest, type TokenUsage } from "../core/types.js";

export type AttemptRecord = {
  provider: string;
  targetModel: string;
  outcome: string;
  durationMs: number;
  /** What the attempt consumed: the served answer's usage, or an estimate for an aborted or broken attempt. */
  usage?: TokenUsage;
  costNanoUsd?: bigint;
  /** False when the attempt's model has no price: its cost is unknown, not 0. */
  priced?: boolean;
};

/** An attempt skipped by its open circuit never reached the upstream. */
export const SKIPPED_CIRCUIT_OPEN = "SKIPPED_CIRCUIT_OPEN";

/** How many upstream requests the attempts actually made. */
export function upstreamRequests(attempts: readonly AttemptRecord[]): number {
  let n = 0;
  for (const a of attempts) if (a.outcome !== SKIPPED_CIRCUIT_OPEN) n++;
  return n;
}

export type RouteInfo = {
  alias: string;
  provider: string;
  providerType: string;
  targetModel: string;
  modelVersion?: string;
  attempts: AttemptRecord[];
};
/** `priced` is false when the serving model has no price: `costNanoUsd` is then 0 but unknown. */
export type Billed = { usage: TokenUsage; costNanoUsd: bigint; priced: boolean; route: RouteInfo };

export type BilledTarget = { provider: string; providerType: string; model: string; price: ModelPrice | undefined };

/** The bill of `record`'s answer: its usage and cost go on the record itself and on the route. */
export function billAttempt(alias: string, target: BilledTarget, record: AttemptRecord, attempts: AttemptRecord[], usage: TokenUsage, version?: string): Billed {
  const cost = costNanoUsd(usage, target.price);
  const priced = target.price !== undefined;
  record.usage = usage;
  record.costNanoUsd = cost;
  record.priced = priced;
  return {
    usage,
    costNanoUsd: cost,
    priced,
    route: { alias, provider: target.provider, providerType: target.providerType, targetModel: target.model, modelVersion: version, attempts },
  };
}

/** The prompt an attempt abandoned in flight is assumed to have consumed (an estimate). */
export function abandonedUsage(request: CompletionRequest | EmbeddingRequest): TokenUsage {
  const inputTokens = "messages" in request ? roughMessageTokens(request.messages) : request.inputs.reduce((n, t) => n + roughTokens(t), 0);
  return { ...emptyUsage(), inputTokens, estimated: true };
}

/** What a broken stream consumed, estimated: the whole prompt and the text that got through. */
export function partialUsage(request: CompletionRequest, text: string): TokenUsage {
  return { ...emptyUsage(), inputTokens: roughMessageTokens(request.messages), outputTokens: roughTokens(text), estimated: true };
}
