// The governance step in the policy chain: authenticate the virtual key (unless auth.mode is none),
// check the alias asked for against the key's allow-list, then admit the call against its limits and
// budgets. Rebuilt per config generation; the limit and budget counters outlive reloads.
import { authMode, type GatewayConfig } from "../config/schema.js";
import type { CompletionRequest, EmbeddingRequest } from "../core/types.js";
import type { Store } from "../store/store.js";
import type { Logger } from "../telemetry/log.js";
import { authenticate } from "./auth.js";
import type { Admission, PolicyChain, PolicyStep } from "./chain.js";
import { KeyDirectory, type KeyIdentity } from "./keys.js";
import { Admissions } from "./limits/admission.js";
import { BudgetAlerts, InMemoryAlertLog, type AlertPost } from "./limits/budget-alerts.js";
import { InProcessBudgetStore, type BudgetSpend, type BudgetStore, type SeedSpend } from "./limits/budget-store.js";
import { InProcessLimitStore, type LimitStore } from "./limits/limit-store.js";
import { limitScope, type Budget, type BudgetWindow, type LimitScope } from "./limits/scopes.js";
import { admitLimits, type RoutingLookup } from "./limits-step.js";

/** A key's budget also names the key's id and team (who may read it). */
export type KeyBudget = Budget & { keyId: string; team: string };
export type BudgetView = { budget: Budget | KeyBudget; spend: BudgetSpend };

export type GovernanceOptions = {
  log: Logger;
  /** The routing lookup of the generation in force (the router). */
  routing: () => RoutingLookup;
  /** Run-time keys and spend seeding; config keys work without it. */
  store?: Store;
  /** Budget alert delivery (default: a JSON POST to the budget's webhook). */
  post?: AlertPost;
  clock?: () => number;
  /** Rate-limit buckets and budget counters; in-process unless shared_state puts them in Redis. */
  limits?: LimitStore;
  budgets?: BudgetStore;
};

const OPEN: Admission = Object.freeze({});

type Generation = { mode: "keys" | "none"; aliasScopes: Map<string, LimitScope>; teamBudgets: Budget[] };

export type BudgetLeft = { team: string; window: BudgetWindow; remainingNanoUsd: bigint };

function generation(config: GatewayConfig): Generation {
  const aliasScopes = new Map<string, LimitScope>();
  for (const [name, alias] of Object.entries(config.models)) {
    if (alias.rpm !== undefined || alias.tpm !== undefined) aliasScopes.set(name, limitScope("alias", name, alias));
  }
  const teamBudgets = Object.entries(config.teams).flatMap(([name, team]) => limitScope("team", name, team).budget ?? []);
  return { mode: authMode(config), aliasScopes, teamBudgets };
}

export class Governance {
  readonly keys: KeyDirectory;
  readonly alerts: BudgetAlerts;
  readonly policy: PolicyChain;
  readonly #admissions: Admissions;
  readonly #budgets: BudgetStore;
  readonly #options: GovernanceOptions;
  #generation: Generation;
  readonly #budgetsLeft = new Map<string, BudgetLeft>();
  // Made once: tsx renames every closure made per call, at ~1 µs each.
  readonly #logSettleError = (error: unknown) => this.#options.log.error({ err: error }, "settling limits failed");

  constructor(config: GatewayConfig, options: GovernanceOptions) {
    this.#options = options;
    this.#budgets = options.budgets ?? new InProcessBudgetStore();
    const { log } = options;
    this.keys = new KeyDirectory(config, { store: options.store, clock: options.clock, warn: (fields, message) => log.warn(fields, message) });
    // The store remembers sent alerts across restarts; without one they are remembered in memory.
    const alertLog = options.store
      ? { wasSent: options.store.wasAlertSent.bind(options.store), markSent: options.store.markAlertSent.bind(options.store) }
      : new InMemoryAlertLog();
    this.alerts = new BudgetAlerts({ log: alertLog, post: options.post, logger: log, clock: options.clock });
    this.#admissions = new Admissions({ limits: options.limits ?? new InProcessLimitStore(), budgets: this.#budgets, alerts: this.alerts, clock: options.clock });
    this.#generation = generation(config);
    this.#warnIfOpen();
    const step: PolicyStep = (call, request) => {
      const { mode, aliasScopes } = this.#generation;
      // Nothing to enforce (auth off, no alias limits): admit without a promise.
      if ((mode === "none" && aliasScopes.size === 0) || (mode === "none" && call.refused)) return OPEN;
      return this.#admit(call, request as CompletionRequest | EmbeddingRequest | undefined);
    };
    this.policy = [step];
  }

  reload(config: GatewayConfig): void {
    this.keys.reload(config);
    this.#generation = generation(config);
    this.#warnIfOpen();
  }

  /** Loads the run-time keys and seeds the budgets' spend from the store's rollups (one query each). */
  async start(): Promise<void> {
    if (!this.#options.store) return;
    await this.keys.refresh();
    await this.seedBudgets();
  }

  /**
   * Seeds the budgets' spend from the store's rollups. A shared budget store keeps what it already
   * counts (another replica's spend included) and takes the seed only for windows it lacks.
   */
  async seedBudgets(): Promise<void> {
    const store = this.#options.store;
    if (!store) return;
    const [snapshot, keys] = await Promise.all([store.spendSince(), store.loadKeys()]);
    const names = new Map(keys.map((k) => [k.id, k.name]));
    const seeds: SeedSpend[] = [];
    const add = (scope: "key" | "team", name: string, spend: { day: bigint; month: bigint }) => {
      seeds.push({ scope, name, window: "day", windowStart: snapshot.dayStart, spentNanoUsd: spend.day });
      seeds.push({ scope, name, window: "month", windowStart: snapshot.monthStart, spentNanoUsd: spend.month });
    };
    for (const [id, spend] of snapshot.keys) {
      const name = names.get(id);
      if (name !== undefined) add("key", name, spend);
    }
    for (const [team, spend] of snapshot.teams) add("team", team, spend);
    await this.#budgets.seed(seeds);
  }

  /** Every budget in force with its current window's spend (GetBudget, the dashboard, metrics). */
  async budgets(): Promise<BudgetView[]> {
    const now = (this.#options.clock ?? Date.now)();
    const budgets: (Budget | KeyBudget)[] = [];
    for (const team of this.keys.teamLimits().values()) if (team.budget) budgets.push(team.budget);
    for (const identity of this.keys.identities()) {
      const budget = identity.limits.key.budget;
      if (budget) budgets.push({ ...budget, keyId: identity.id, team: identity.team } satisfies KeyBudget);
    }
    return Promise.all(budgets.map(async (budget) => ({ budget, spend: await this.#budgets.spend(budget, now) })));
  }

  /**
   * What each team budget has left in its current window (reservations of calls in flight count as
   * spent), for the metrics scrape, which is synchronous: a shared (Redis) budget store answers
   * asynchronously, so its figure is the one read at the previous scrape.
   */
  teamBudgetsLeft(): BudgetLeft[] {
    const now = (this.#options.clock ?? Date.now)();
    const remember = (budget: Budget, spend: BudgetSpend) => {
      const left = budget.limitNanoUsd - spend.committedNanoUsd - spend.reservedNanoUsd;
      this.#budgetsLeft.set(budget.id, { team: budget.name, window: budget.window, remainingNanoUsd: left > 0n ? left : 0n });
    };
    const result: BudgetLeft[] = [];
    for (const budget of this.#generation.teamBudgets) {
      const spend = this.#budgets.spend(budget, now);
      if (spend instanceof Promise) void spend.then((s) => remember(budget, s)).catch(() => undefined);
      else remember(budget, spend);
      const known = this.#budgetsLeft.get(budget.id);
      if (known) result.push(known);
    }
    return result;
  }

  #warnIfOpen(): void {
    if (this.#generation.mode === "none") {
      this.#options.log.warn("auth.mode is none: ANY caller that reaches the port may use every alias, unauthenticated — for a laptop or the demo only");
    }
  }

  async #admit(call: Parameters<PolicyStep>[0], request: CompletionRequest | EmbeddingRequest | undefined): Promise<Admission> {
    const { mode, aliasScopes } = this.#generation;
    const routing = this.#options.routing();
    let identity: KeyIdentity | undefined;
    if (mode === "keys") {
      identity = authenticate(this.keys, call);
      call.caller = { name: identity.name, team: identity.team, keyId: identity.id };
      if (call.refused) return { caller: call.caller };
      // An alias that does not exist is the router's NOT_FOUND (listing what the key may use).
      if (request && !identity.access.allowAlias(request.alias) && routing.reach(request.alias)) throw identity.access.denied(request.alias);
    }
    const limited = await admitLimits({ admissions: this.#admissions, aliasScopes, routing, logError: this.#logSettleError }, call.method, identity, request);
    return {
      caller: call.caller,
      metadata: identity?.metadata,
      access: identity?.access,
      maxOutputTokens: limited.maxOutputTokens,
      settle: limited.settle,
    };
  }
}
