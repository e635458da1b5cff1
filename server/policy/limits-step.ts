// RPM/TPM limits and budgets on the request path: every scope that applies to a call (its key, its
// team, the alias it asked for) is admitted at once through Admissions, and settled with what the
// call really used. Where the cost bound needs routing facts — the targets the alias could reach and
// their prices — it asks a plain lookup the router implements; it knows nothing else of routing.
import type { CompletionRequest, EmbeddingRequest } from "../core/types.js";
import type { CallOutcome, Method } from "./chain.js";
import type { KeyIdentity } from "./keys.js";
import { Admissions } from "./limits/admission.js";
import { boundCompletion, boundEmbedding, type BoundTarget, type CallBound } from "./limits/cost-bound.js";
import type { LimitScope } from "./limits/scopes.js";

/** The targets a call on an alias could end up billed at: its own, and those of any alias a rule could redirect it to. */
export type AliasReach = {
  readonly targets: readonly BoundTarget[];
  /** Some reachable alias hedges: two targets can run, and bill, at once. */
  readonly hedging: boolean;
  readonly assumedOutputTokens: number;
};

export type RoutingLookup = { reach(alias: string): AliasReach | undefined };

export type LimitedCall = {
  /** Sent upstream as max_output_tokens: the bound assumed it because a budget applies. */
  maxOutputTokens?: number;
  settle?: (outcome: CallOutcome) => void;
};

export type LimitsContext = {
  admissions: Admissions;
  aliasScopes: ReadonlyMap<string, LimitScope>;
  routing: RoutingLookup;
  logError(error: unknown): void;
};

const NOTHING: LimitedCall = {};

function settleWith(admission: { settle(outcome: { tokens: number; costNanoUsd: bigint; reachedUpstream: boolean }): unknown }, logError: (e: unknown) => void) {
  return (outcome: CallOutcome): void => {
    const usage = outcome.usage;
    try {
      const settled = admission.settle({
        tokens: usage ? usage.inputTokens + usage.outputTokens : 0,
        costNanoUsd: usage?.costNanoUsd ?? 0n,
        reachedUpstream: outcome.reachedUpstream ?? outcome.code === 0,
      });
      if (settled instanceof Promise) settled.catch(logError);
    } catch (error) {
      logError(error);
    }
  };
}

/** Admits one call against its limits and budgets; throws RESOURCE_EXHAUSTED when one is spent. */
export async function admitLimits(
  context: LimitsContext,
  method: Method,
  identity: KeyIdentity | undefined,
  request: CompletionRequest | EmbeddingRequest | undefined,
): Promise<LimitedCall> {
  if (method === "list_models" || request === undefined) return NOTHING;
  const reach = context.routing.reach(request.alias);
  // An unknown alias is the router's NOT_FOUND; nothing to count it against.
  if (!reach) return NOTHING;
  const key = identity?.limits.key;
  const team = identity?.limits.team;
  const budgetApplies = Admissions.budgetApplies({ key, team });
  let bound: CallBound | undefined;
  // A method, not a named arrow: tsx renames every closure made per call, at ~1 µs each.
  const admission = await context.admissions.admit({
    key,
    team,
    alias: context.aliasScopes.get(request.alias),
    estimate() {
      bound =
        "messages" in request
          ? boundCompletion({ request, targets: reach.targets, hedging: reach.hedging, assumedOutputTokens: reach.assumedOutputTokens, budgetApplies })
          : boundEmbedding({ request, targets: reach.targets, hedging: reach.hedging });
      return { tokens: bound.expectedTokens, costNanoUsd: bound.costNanoUsd };
    },
  });
  return { maxOutputTokens: bound?.maxOutputTokensToSend, settle: settleWith(admission, context.logError) };
}
