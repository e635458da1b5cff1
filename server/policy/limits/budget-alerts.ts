// Soft budget alerts: when committed spend reaches a configured fraction of a budget, log it and
// POST a JSON body to the budget's webhook — once per fraction and window, off the request path,
// with bounded retries. An AlertLog remembers what was sent so a restart does not fire it again.
import { setTimeout as sleep } from "node:timers/promises";
import type { BudgetSpend } from "./budget-store.js";
import type { MaybePromise } from "./limit-store.js";
import { budgetName } from "./quota-errors.js";
import { formatUsd, type Budget } from "./scopes.js";

export interface AlertLog {
  /** `budgetId` is Budget.id ("team:search:month"); `windowStart` the window's UTC start in ms. */
  wasSent(budgetId: string, windowStart: number, fraction: number): MaybePromise<boolean>;
  markSent(budgetId: string, windowStart: number, fraction: number): MaybePromise<void>;
}

export class InMemoryAlertLog implements AlertLog {
  readonly #sent = new Set<string>();
  wasSent(budgetId: string, windowStart: number, fraction: number): boolean {
    return this.#sent.has(`${budgetId}|${windowStart}|${fraction}`);
  }
  markSent(budgetId: string, windowStart: number, fraction: number): void {
    this.#sent.add(`${budgetId}|${windowStart}|${fraction}`);
  }
}

/** Sends one webhook request; resolves with the HTTP status, rejects on a network failure or timeout. */
export type AlertPost = (url: string, body: string) => Promise<number>;

export type AlertLogger = {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
};

export type BudgetAlertOptions = {
  log: AlertLog;
  post?: AlertPost;
  logger?: AlertLogger;
  /** Deliveries per alert, the first included. */
  attempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: () => number;
};

const POST_TIMEOUT_MS = 10_000;

export const postJson: AlertPost = async (url, body) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  await response.body?.cancel();
  return response.status;
};

/** Whether another delivery could succeed: network errors, timeouts, 408, 429 and 5xx. */
function retryable(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

// A webhook URL often carries its credential in the path or query (Slack, Teams): logs get the origin only.
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

export class BudgetAlerts {
  readonly #log: AlertLog;
  readonly #post: AlertPost;
  readonly #logger: AlertLogger | undefined;
  readonly #attempts: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #clock: () => number;
  /** Fractions claimed in each budget's current window, so concurrent settles fire an alert once. */
  readonly #claimed = new Map<string, { windowStart: number; fractions: Set<number> }>();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: BudgetAlertOptions) {
    this.#log = options.log;
    this.#post = options.post ?? postJson;
    this.#logger = options.logger;
    this.#attempts = options.attempts ?? 5;
    this.#initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** After a settle: starts an alert for every fraction the spend has reached. Never throws, never waits. */
  check(budget: Budget, spend: BudgetSpend): void {
    if (budget.alerts.length === 0 || spend.committedNanoUsd <= 0n) return;
    let claimed = this.#claimed.get(budget.id);
    if (!claimed || claimed.windowStart !== spend.windowStart) {
      claimed = { windowStart: spend.windowStart, fractions: new Set() };
      this.#claimed.set(budget.id, claimed);
    }
    for (const fraction of budget.alerts) {
      // Fractions to parts per million, so the comparison stays in integers.
      const threshold = (budget.limitNanoUsd * BigInt(Math.round(fraction * 1_000_000))) / 1_000_000n;
      if (spend.committedNanoUsd < threshold || claimed.fractions.has(fraction)) continue;
      claimed.fractions.add(fraction);
      const delivery = this.#fire(budget, spend, fraction).catch((error: unknown) => {
        this.#logger?.error({ budget: budget.id, fraction, error: String(error) }, "budget alert failed");
      });
      this.#pending.add(delivery);
      void delivery.finally(() => this.#pending.delete(delivery));
    }
  }

  /** Resolves once every alert started so far has been delivered or given up (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #fire(budget: Budget, spend: BudgetSpend, fraction: number): Promise<void> {
    if (await this.#log.wasSent(budget.id, spend.windowStart, fraction)) return;
    await this.#log.markSent(budget.id, spend.windowStart, fraction);
    const fields = {
      budget: budget.id,
      fraction,
      spent_usd: formatUsd(spend.committedNanoUsd),
      limit_usd: String(budget.usd),
      window_start: new Date(spend.windowStart).toISOString(),
    };
    this.#logger?.warn(fields, `${budgetName(budget)} has reached ${Math.round(fraction * 100)} %`);
    if (budget.webhook) await this.#deliver(budget.webhook, JSON.stringify(this.#body(budget, spend, fraction)), budget.id);
  }

  #body(budget: Budget, spend: BudgetSpend, fraction: number): Record<string, string | number> {
    return {
      type: "switchboard.budget_alert",
      budget: budgetName(budget),
      scope: budget.scope,
      name: budget.name,
      window: budget.window,
      window_start: new Date(spend.windowStart).toISOString(),
      window_end: new Date(spend.windowEnd).toISOString(),
      fraction,
      limit_usd: String(budget.usd),
      spent_usd: formatUsd(spend.committedNanoUsd),
      // 64-bit integers as decimal strings, as protobuf JSON writes them.
      limit_nano_usd: budget.limitNanoUsd.toString(),
      spent_nano_usd: spend.committedNanoUsd.toString(),
      at: new Date(this.#clock()).toISOString(),
    };
  }

  async #deliver(url: string, body: string, budgetId: string): Promise<void> {
    let lastProblem = "";
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      let status: number | undefined;
      try {
        status = await this.#post(url, body);
        if (status >= 200 && status < 300) return;
        lastProblem = `HTTP ${status}`;
      } catch (error) {
        lastProblem = error instanceof Error ? error.name : "request failed";
      }
      if (!retryable(status) || attempt === this.#attempts) break;
      await sleep(Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (attempt - 1)), undefined, { ref: false });
    }
    this.#logger?.error({ budget: budgetId, webhook: origin(url), problem: lastProblem }, "budget alert webhook gave up");
  }
}
