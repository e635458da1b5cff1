// The routing generation in force: the providers' SDK clients and the router built from one
// config. A reload builds a whole new generation and swaps it in atomically: calls in flight
// finish on the old one, new calls use the new one, and target statistics (latency, circuits)
// carry over for targets that still exist. The old generation's clients close once it is idle.
import type { GatewayConfig } from "./config/schema.js";
import { createPriceCatalog } from "./core/pricing.js";
import { useSecretsOf } from "./core/redact.js";
import { preloadTokenizer } from "./core/tokens.js";
import type { ProviderAdapter } from "./providers/provider.js";
import { createProvider, upstreamTarget } from "./providers/registry.js";
import type { Transport } from "./providers/transport.js";
import { Router, type ResolvedAlias } from "./routing/router.js";
import { TargetStates, type BreakerFactory } from "./routing/target-state.js";
import type { Logger } from "./telemetry/log.js";

/**
 * Targets whose upstream routinely reports no usage, so the gateway counts tokens itself:
 * OpenAI-compatible servers and SageMaker containers often omit it, the Gemini API gives no
 * embedding counts, Cohere on Bedrock none at all.
 *
 * The tokenizer (js-tiktoken o200k) costs ~1 s of CPU and ~160 MB RSS (68 MB heap) to load,
 * measured on the 2-core dev machine; loaded on a live call it would stall the event loop for that
 * second. So it is loaded here, at start-up or reload, when such a target exists (or the cost
 * strategy or rules need counts), and never on a call: the adapters' usage estimates count with it
 * when it is loaded and by ~4 characters a token otherwise (tokens.ts rough*). A gateway whose
 * upstreams all report usage (OpenAI, Anthropic, Bedrock chat) thus never pays 160 MB for the rare
 * answer without usage; that answer is still marked `estimated`, only more roughly.
 */
function estimatesUsage(type: string, model: string): boolean {
  if (type === "openai-compatible" || type === "sagemaker" || type === "gemini") return true;
  return type === "bedrock" && model.includes("cohere.embed");
}

type Generation = {
  config: GatewayConfig;
  /** The config object as loaded (it carries its secrets for redaction). */
  source: GatewayConfig;
  providers: Map<string, ProviderAdapter>;
  router: Router;
  /** Upstream models the price catalog has no price for, each with the aliases that route to it. */
  unpriced: UnpricedTarget[];
};

type UnpricedTarget = { provider: string; model: string; aliases: string[] };

function unpricedTargets(aliases: ResolvedAlias[]): UnpricedTarget[] {
  const byTarget = new Map<string, UnpricedTarget>();
  for (const alias of aliases) {
    for (const target of alias.targets) {
      if (target.price) continue;
      const key = `${target.config.provider}\u0000${target.config.model}`;
      const entry = byTarget.get(key) ?? { provider: target.config.provider, model: target.config.model, aliases: [] };
      if (!entry.aliases.includes(alias.name)) entry.aliases.push(alias.name);
      byTarget.set(key, entry);
    }
  }
  return [...byTarget.values()];
}

// Settings a reload cannot change: bound to the listening sockets, or to what the gateway built once
// at start (the store, the operator listener, the logger, the tracer, prompt capture, the drain).
const RESTART_ONLY = [
  "listen", "web_listen", "tls", "max_message_bytes", "shared_state",
  "store", "audit", "operator", "telemetry", "log_level", "shutdown_grace_ms",
] as const;

function buildGeneration(config: GatewayConfig, transport: Transport, states: TargetStates, random?: () => number): Generation {
  const providers = new Map<string, ProviderAdapter>();
  for (const [name, providerConfig] of Object.entries(config.providers)) {
    providers.set(name, createProvider(name, providerConfig, { transport }));
  }
  const catalog = createPriceCatalog(config.prices);
  const aliases: ResolvedAlias[] = Object.entries(config.models).map(([name, alias]) => ({
    name,
    config: alias,
    roundRobin: alias.targets.map(() => 0),
    targets: alias.targets.map((target) => ({
      config: target,
      upstream: upstreamTarget(target),
      adapter: providers.get(target.provider) as ProviderAdapter,
      price: catalog.lookup(target.model),
      state: states.get(name, target.provider, target.model, alias.circuit),
    })),
  }));
  const needsTokenizer =
    Object.values(config.models).some((m) => m.targets.some((t) => estimatesUsage(config.providers[t.provider]?.type ?? "", t.model))) ||
    Object.values(config.models).some((m) => m.strategy === "cost") ||
    config.rules.length > 0;
  if (needsTokenizer) preloadTokenizer();
  return { config, source: config, providers, router: new Router(aliases, { states, rules: config.rules, random }), unpriced: unpricedTargets(aliases) };
}

export class Runtime {
  private current: Generation;
  private readonly states: TargetStates;

  constructor(
    config: GatewayConfig,
    private readonly transport: Transport,
    private readonly log: Logger,
    /** The routing strategies' random source (seeded in tests). */
    private readonly random?: () => number,
    /** Circuit breakers shared with other replicas (shared_state); in-process ones otherwise. */
    breakers?: BreakerFactory,
  ) {
    this.states = new TargetStates(breakers);
    this.current = buildGeneration(config, transport, this.states, random);
    useSecretsOf(this.current, config);
    this.warnUnpriced();
  }

  // One line per upstream model without a price: its calls answer priced=false and cost 0, and the
  // cost strategy and budgets cannot weigh it, which an operator should know before the first bill.
  private warnUnpriced(): void {
    for (const target of this.current.unpriced) {
      this.log.warn(target, `no price for model "${target.model}" of provider "${target.provider}": its calls report priced=false and cost 0`);
    }
  }

  router(): Router {
    return this.current.router;
  }

  config(): GatewayConfig {
    return this.current.config;
  }

  /**
   * Swaps in a generation built from `config` (already validated). Provider clients are rebuilt,
   * so rotated credentials take effect. If building fails, the old generation stays in force.
   */
  reload(config: GatewayConfig): void {
    const changed = RESTART_ONLY.filter((key) => JSON.stringify(config[key]) !== JSON.stringify(this.current.config[key]));
    if (changed.length > 0) this.log.warn({ fields: changed }, "config reload: these settings need a restart and were not applied");
    const next = {
      ...buildGeneration(
        { ...config, listen: this.current.config.listen, web_listen: this.current.config.web_listen, tls: this.current.config.tls, shared_state: this.current.config.shared_state },
        this.transport,
        this.states,
        this.random,
      ),
      source: config,
    };
    const old = this.current;
    this.current = next;
    // Redaction covers the secrets of the generations still serving calls, not every secret ever
    // rotated out: the old generation's are dropped once it retires.
    useSecretsOf(next, config);
    const targets = Object.entries(config.models).flatMap(([alias, m]) => m.targets.map((t) => ({ alias, ...t })));
    this.states.retain(
      new Set(targets.map((t) => TargetStates.key(t.provider, t.model))),
      new Set(targets.map((t) => TargetStates.breakerKey(t.alias, t.provider, t.model))),
    );
    this.log.info({ aliases: Object.keys(config.models) }, "config reloaded");
    this.warnUnpriced();
    void this.retire(old);
  }

  private async retire(generation: Generation): Promise<void> {
    if (generation.router.idle && generation !== this.current) useSecretsOf(generation, undefined);
    await generation.router.whenIdle();
    await Promise.all([...generation.providers.values()].map((p) => p.close().catch(() => undefined)));
    if (generation !== this.current) useSecretsOf(generation, undefined);
  }

  async close(): Promise<void> {
    await this.retire(this.current);
  }
}
