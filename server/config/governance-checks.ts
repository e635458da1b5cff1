// Config checks for keys and teams that need more than the schema: a key's team exists, names and
// secrets are unique, provider allow-lists name real providers. Run once at load, never per call.
import { hashKey } from "../store/key-secrets.js";
import type { GatewayConfig } from "./schema.js";

export function checkGovernance(config: GatewayConfig): string[] {
  const problems: string[] = [];
  const teams = Object.keys(config.teams);
  const providers = Object.keys(config.providers);
  const names = new Map<string, number>();
  const hashes = new Map<string, number>();
  const checkProviders = (at: string, list: readonly string[] | undefined) => {
    for (const provider of list ?? []) {
      if (!providers.includes(provider)) problems.push(`${at}.providers: unknown provider "${provider}" (known: ${providers.join(", ") || "none"})`);
    }
  };
  for (const [name, team] of Object.entries(config.teams)) checkProviders(`teams.${name}`, team.providers);
  config.keys.forEach((key, i) => {
    const at = `keys[${i}]`;
    if (!(key.team in config.teams)) problems.push(`${at}.team: unknown team "${key.team}" (known: ${teams.join(", ") || "none"})`);
    const sameName = names.get(key.name);
    if (sameName !== undefined) problems.push(`${at}.name: "${key.name}" is already the name of keys[${sameName}]`);
    else names.set(key.name, i);
    // Never print the secret or its digest: which key repeats it is enough to find it.
    const hash = key.sha256 ?? (key.secret === undefined ? undefined : hashKey(key.secret));
    const sameSecret = hash === undefined ? undefined : hashes.get(hash);
    if (sameSecret !== undefined) problems.push(`${at}: the same secret as keys[${sameSecret}]`);
    else if (hash !== undefined) hashes.set(hash, i);
    checkProviders(at, key.providers);
  });
  return problems;
}
