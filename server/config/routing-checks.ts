// Config checks that need more than the schema: the article's JSON policy file, and rules that
// name aliases, providers and CEL expressions. Run once at load, never per call.
import { resolve } from "node:path";
import { parse as parseCel } from "@bufbuild/cel";
import type { AliasConfig, GatewayConfig } from "./schema.js";

type PolicyEntry = { model?: unknown; priority?: unknown; weight?: unknown };

/**
 * Reads `{"routing": [{"model": "gpt-4o", "priority": 1}, …]}` and applies each entry's priority
 * (and weight, when given) to the alias's target of that name. Returns problems, if any. `read`
 * is the loader's, so the file is among those the config watcher watches.
 */
export function applyPolicyFile(alias: AliasConfig, at: string, baseDir: string, read: (path: string) => string): string[] {
  const path = resolve(baseDir, alias.policy_file ?? "");
  let document: { routing?: unknown };
  try {
    document = JSON.parse(read(path)) as { routing?: unknown };
  } catch (error) {
    return [`${at}: cannot read policy file ${path}: ${(error as Error).message}`];
  }
  if (!Array.isArray(document.routing)) return [`${at}: ${path} must hold {"routing": [{"model": ..., "priority": ...}]}`];
  const problems: string[] = [];
  const byName = new Map<string, AliasConfig["targets"]>();
  for (const t of alias.targets) byName.set(t.name ?? t.model, [...(byName.get(t.name ?? t.model) ?? []), t]);
  (document.routing as PolicyEntry[]).forEach((entry, i) => {
    const where = `${at} (${path}) routing[${i}]`;
    const matches = typeof entry.model === "string" ? (byName.get(entry.model) ?? []) : [];
    if (matches.length > 1) {
      problems.push(`${where}.model: "${String(entry.model)}" names ${matches.length} targets: give them distinct name: fields`);
      return;
    }
    const target = matches[0];
    if (!target) {
      problems.push(`${where}.model: "${String(entry.model)}" is not a target of this alias (targets: ${[...byName.keys()].join(", ")})`);
      return;
    }
    if (!Number.isInteger(entry.priority) || (entry.priority as number) < 0) {
      problems.push(`${where}.priority: expected a non-negative integer`);
      return;
    }
    target.priority = entry.priority as number;
    if (entry.weight !== undefined) {
      if (!Number.isInteger(entry.weight) || (entry.weight as number) < 0) problems.push(`${where}.weight: expected a non-negative integer`);
      else target.weight = entry.weight as number;
    }
  });
  return problems;
}

export function checkRules(config: GatewayConfig): string[] {
  const problems: string[] = [];
  const aliases = Object.keys(config.models);
  const providers = Object.keys(config.providers);
  config.rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    const when = [rule.when.alias ?? []].flat();
    for (const alias of when) {
      if (!aliases.includes(alias)) problems.push(`${at}.when.alias: unknown alias "${alias}" (known: ${aliases.join(", ")})`);
    }
    if (rule.then.alias !== undefined && !aliases.includes(rule.then.alias)) {
      problems.push(`${at}.then.alias: unknown alias "${rule.then.alias}" (known: ${aliases.join(", ")})`);
    }
    for (const provider of rule.then.providers ?? []) {
      if (!providers.includes(provider)) problems.push(`${at}.then.providers: unknown provider "${provider}" (known: ${providers.join(", ")})`);
    }
    if (rule.when.cel !== undefined) {
      try {
        parseCel(rule.when.cel);
      } catch (error) {
        problems.push(`${at}.when.cel: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  });
  return problems;
}
