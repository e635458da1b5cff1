// Custom routing rules, evaluated in order before an alias's strategy. A rule matches on the
// requested alias, request metadata, the caller, the estimated prompt size, or a CEL expression, and
// can send the call to another alias, restrict the targets it may reach, or override the strategy.
// Matching rules all apply: restrictions add up, the first alias redirect wins, the last strategy wins.
import { celEnv, isCelError, parse, plan, type CelInput } from "@bufbuild/cel";
import type { RuleConfig, Strategy, TargetConfig } from "../config/schema.js";

export type RequestFacts = {
  alias: string;
  metadata: Record<string, string>;
  caller: string;
  /** The caller's team ("" without one). */
  team: string;
  /** Estimated prompt tokens; computed only when a rule asks for it. */
  inputTokens(): number;
  maxOutputTokens: number;
  hasTools: boolean;
  hasImages: boolean;
};

export type TargetFilter = (target: TargetConfig) => boolean;

export type RuleOutcome = {
  alias: string;
  strategy?: Strategy;
  /** Every restriction a target must pass, with the rule that imposed it (for error messages). */
  filters: { rule: string; test: TargetFilter; describe: string }[];
  matched: string[];
};

type CompiledRule = { name: string; matches(facts: RequestFacts): boolean; then: RuleConfig["then"] };

const env = celEnv();

function compileCel(expression: string): (facts: RequestFacts) => boolean {
  const evaluate = plan(env, parse(expression));
  const needsTokens = expression.includes("input_tokens");
  return (facts) => {
    const request: Record<string, CelInput> = {
      alias: facts.alias,
      metadata: facts.metadata,
      caller: facts.caller,
      team: facts.team,
      input_tokens: needsTokens ? facts.inputTokens() : 0,
      max_output_tokens: facts.maxOutputTokens,
      has_tools: facts.hasTools,
      has_images: facts.hasImages,
    };
    const result = evaluate({ request });
    // A CEL error (a missing metadata key, say) means the rule does not match.
    return !isCelError(result) && result === true;
  };
}

function compile(rule: RuleConfig): CompiledRule {
  const when = rule.when;
  const aliases = when.alias === undefined ? undefined : new Set([when.alias].flat());
  const metadata = Object.entries(when.metadata ?? {});
  const cel = when.cel === undefined ? undefined : compileCel(when.cel);
  return {
    name: rule.name,
    then: rule.then,
    matches(facts) {
      if (aliases && !aliases.has(facts.alias)) return false;
      if (metadata.some(([key, value]) => facts.metadata[key] !== value)) return false;
      if (when.caller !== undefined && facts.caller !== when.caller) return false;
      if (when.min_input_tokens !== undefined && facts.inputTokens() < when.min_input_tokens) return false;
      if (when.max_input_tokens !== undefined && facts.inputTokens() > when.max_input_tokens) return false;
      return cel ? cel(facts) : true;
    },
  };
}

export function regionMatches(region: string | undefined, patterns: readonly string[]): boolean {
  if (region === undefined) return false;
  return patterns.some((p) => (p.endsWith("*") ? region.startsWith(p.slice(0, -1)) : region === p));
}

export class RuleSet {
  private readonly rules: CompiledRule[];

  constructor(rules: RuleConfig[]) {
    this.rules = rules.map(compile);
  }

  evaluate(facts: RequestFacts): RuleOutcome {
    const outcome: RuleOutcome = { alias: facts.alias, filters: [], matched: [] };
    let redirected = false;
    for (const rule of this.rules) {
      if (!rule.matches({ ...facts, alias: outcome.alias })) continue;
      outcome.matched.push(rule.name);
      const then = rule.then;
      if (then.alias !== undefined && !redirected) {
        outcome.alias = then.alias;
        redirected = true;
      }
      if (then.strategy !== undefined) outcome.strategy = then.strategy;
      if (then.providers) {
        const providers = new Set(then.providers);
        outcome.filters.push({ rule: rule.name, test: (t) => providers.has(t.provider), describe: `providers ${then.providers.join(", ")}` });
      }
      if (then.regions) {
        const regions = then.regions;
        outcome.filters.push({ rule: rule.name, test: (t) => regionMatches(t.region, regions), describe: `regions ${regions.join(", ")}` });
      }
      if (then.internal_only) {
        outcome.filters.push({ rule: rule.name, test: (t) => t.internal, describe: "internal targets only" });
      }
    }
    return outcome;
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }
}
