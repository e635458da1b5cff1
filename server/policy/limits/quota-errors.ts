// Over a limit → RESOURCE_EXHAUSTED with the standard google.rpc details: QuotaFailure (every limit
// the call failed), ErrorInfo (RPM_LIMIT / TPM_LIMIT / BUDGET_EXHAUSTED, naming the scope, never a
// secret) and, only where waiting helps, RetryInfo.
//
// Budgets get no RetryInfo, daily ones included: the wait runs to midnight or the month's end, and
// a client that honours RetryInfo automatically would hold the call for hours. The time the window
// renews is in the message and in ErrorInfo.metadata.resets_at instead.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ErrorInfoSchema,
  QuotaFailure_ViolationSchema,
  QuotaFailureSchema,
  RetryInfoSchema,
  type QuotaFailure_Violation,
} from "../../../gen/google/rpc/error_details_pb.js";
import type { BudgetSpend } from "./budget-store.js";
import type { BucketShortfall } from "./limit-store.js";
import { formatUsd, type Budget, type RateLimit } from "./scopes.js";

type Details = NonNullable<ConstructorParameters<typeof ConnectError>[3]>;

const DOMAIN = "switchboard";
const METRIC = { rpm: "switchboard/requests_per_minute", tpm: "switchboard/tokens_per_minute" } as const;
const UNIT = { rpm: "requests", tpm: "tokens" } as const;

function rateDescription(limit: RateLimit): string {
  return `${limit.kind.toUpperCase()} limit of ${limit.scope} ${limit.name} (${limit.perMinute} ${UNIT[limit.kind]} / minute)`;
}

function rateViolation({ limit, amount }: BucketShortfall): QuotaFailure_Violation {
  return create(QuotaFailure_ViolationSchema, {
    subject: `${limit.scope}:${limit.name}`,
    description: limit.kind === "tpm" ? `${rateDescription(limit)} reached: this call needs about ${amount} tokens` : `${rateDescription(limit)} reached`,
    quotaMetric: METRIC[limit.kind],
    quotaId: `${limit.kind.toUpperCase()}-per-${limit.scope}`,
    quotaDimensions: { [limit.scope]: limit.name },
    quotaValue: BigInt(limit.perMinute),
  });
}

function retryInfo(ms: number): Details[number] {
  return {
    desc: RetryInfoSchema,
    value: create(RetryInfoSchema, { retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 } }),
  };
}

/** The call exceeded one or more RPM/TPM buckets; it may retry once the slowest of them has refilled. */
export function rateLimitExceeded(shortfalls: readonly BucketShortfall[]): ConnectError {
  let slowest = shortfalls[0]!;
  for (const s of shortfalls) if (s.retryAfterMs > slowest.retryAfterMs) slowest = s;
  const { limit, retryAfterMs } = slowest;
  const seconds = (retryAfterMs / 1000).toFixed(retryAfterMs < 10_000 ? 1 : 0);
  const message = `${rateViolation(slowest).description}; retry in ${seconds} s`;
  return new ConnectError(message, Code.ResourceExhausted, undefined, [
    { desc: QuotaFailureSchema, value: create(QuotaFailureSchema, { violations: shortfalls.map(rateViolation) }) },
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, {
        reason: limit.kind === "rpm" ? "RPM_LIMIT" : "TPM_LIMIT",
        domain: DOMAIN,
        metadata: { scope: limit.scope, [limit.scope]: limit.name, limit: String(limit.perMinute), retry_after_ms: String(retryAfterMs) },
      }),
    },
    retryInfo(retryAfterMs),
  ]);
}

export function budgetName(budget: Budget): string {
  return `budget of ${budget.scope} ${budget.name} (${budget.usd} USD / ${budget.window})`;
}

/** A hard stop: the budget cannot take this call's upper bound. */
export function budgetExhausted(budget: Budget, spend: BudgetSpend, boundNanoUsd: bigint): ConnectError {
  const resetsAt = new Date(spend.windowEnd).toISOString();
  const message =
    `${budgetName(budget)} is exhausted: ${formatUsd(spend.committedNanoUsd)} USD spent, ` +
    `${formatUsd(spend.reservedNanoUsd)} USD reserved by calls in flight, this call may cost up to ` +
    `${formatUsd(boundNanoUsd)} USD; it renews at ${resetsAt}`;
  return new ConnectError(message, Code.ResourceExhausted, undefined, [
    {
      desc: QuotaFailureSchema,
      value: create(QuotaFailureSchema, {
        violations: [
          {
            subject: `${budget.scope}:${budget.name}`,
            description: `${budgetName(budget)} is exhausted`,
            quotaMetric: `switchboard/spend_nano_usd_per_${budget.window}`,
            quotaId: `BUDGET-per-${budget.scope}-${budget.window}`,
            quotaDimensions: { [budget.scope]: budget.name },
            quotaValue: budget.limitNanoUsd,
          },
        ],
      }),
    },
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, {
        reason: "BUDGET_EXHAUSTED",
        domain: DOMAIN,
        metadata: { scope: budget.scope, [budget.scope]: budget.name, limit_usd: String(budget.usd), window: budget.window, resets_at: resetsAt },
      }),
    },
  ]);
}
