// The limits and budget that apply to one key, team or alias, compiled once per config generation
// so that admitting a call builds no strings and parses nothing.

export type ScopeKind = "key" | "team" | "alias";
export type RateKind = "rpm" | "tpm";
export type BudgetWindow = "day" | "month";

/** One token bucket: capacity = the per-minute limit, refilled continuously. */
export type RateLimit = {
  /** The store's name for the bucket ("rpm:key:search-api"); unique per scope and kind. */
  readonly id: string;
  readonly kind: RateKind;
  readonly scope: ScopeKind;
  readonly name: string;
  readonly perMinute: number;
};

/** A spending limit over a calendar day or month (UTC). */
export type Budget = {
  /** The store's name for the budget ("team:search:month"). */
  readonly id: string;
  readonly scope: "key" | "team";
  readonly name: string;
  readonly limitNanoUsd: bigint;
  /** The limit as configured, for messages ("50 USD / month"). */
  readonly usd: number;
  readonly window: BudgetWindow;
  /** Fractions of the limit (0.5, 0.8, 1.0) at which a soft alert fires once per window. */
  readonly alerts: readonly number[];
  readonly webhook?: string;
};

export type LimitScope = {
  readonly scope: ScopeKind;
  readonly name: string;
  readonly rpm?: RateLimit;
  readonly tpm?: RateLimit;
  readonly budget?: Budget;
};

/** The plain option shape; switchboard.yaml's `rpm`, `tpm` and `budget: { usd, window, alerts, webhook }` map onto it. */
export type ScopeLimitOptions = {
  rpm?: number;
  tpm?: number;
  budget?: { usd: number; window: BudgetWindow; alerts?: readonly number[]; webhook?: string };
};

const NANO_PER_USD = 1_000_000_000;

/** USD from config → integer nano-USD; rounding the product removes binary-float noise (0.1 × 1e9). */
export function usdToNano(usd: number): bigint {
  return BigInt(Math.round(usd * NANO_PER_USD));
}

export function budgetId(scope: "key" | "team", name: string, window: BudgetWindow): string {
  return `${scope}:${name}:${window}`;
}

function rateLimit(kind: RateKind, scope: ScopeKind, name: string, perMinute: number): RateLimit {
  if (!Number.isSafeInteger(perMinute) || perMinute <= 0) throw new RangeError(`${scope} ${name}: ${kind} must be a positive integer`);
  return { id: `${kind}:${scope}:${name}`, kind, scope, name, perMinute };
}

export function limitScope(scope: ScopeKind, name: string, options: ScopeLimitOptions): LimitScope {
  const { rpm, tpm, budget } = options;
  if (budget && scope === "alias") throw new RangeError(`alias ${name}: budgets apply to keys and teams only`);
  if (budget && !(budget.usd >= 0)) throw new RangeError(`${scope} ${name}: budget.usd must be ≥ 0`);
  for (const fraction of budget?.alerts ?? []) {
    if (!(fraction > 0)) throw new RangeError(`${scope} ${name}: alert fractions must be > 0`);
  }
  return {
    scope,
    name,
    rpm: rpm === undefined ? undefined : rateLimit("rpm", scope, name, rpm),
    tpm: tpm === undefined ? undefined : rateLimit("tpm", scope, name, tpm),
    budget: budget && {
      id: budgetId(scope as "key" | "team", name, budget.window),
      scope: scope as "key" | "team",
      name,
      limitNanoUsd: usdToNano(budget.usd),
      usd: budget.usd,
      window: budget.window,
      alerts: [...new Set(budget.alerts ?? [])].sort((a, b) => a - b),
      webhook: budget.webhook,
    },
  };
}

/** Decimal USD from nano-USD without floats: 50000000000n → "50", 1234500000n → "1.2345". */
export function formatUsd(nano: bigint): string {
  const sign = nano < 0n ? "-" : "";
  const abs = nano < 0n ? -nano : nano;
  const whole = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${sign}${whole}${fraction ? `.${fraction}` : ""}`;
}
