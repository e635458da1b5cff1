// Keeps credentials out of logs, errors and traces. The config loader records every secret a
// config uses; anything that leaves the process as text goes through redact().
//
// The set redact() looks for is the union of the secrets of the configs in force (one per holder:
// whoever applies configs calls useSecretsOf) and of the configs loaded since the last swap (a
// load in progress, or one rejected). A swap drops everything else, so rotating a secret does not
// grow the set.

const held = new Map<object, ReadonlySet<string>>();
let loading = new Set<string>();
const secretsByConfig = new WeakMap<object, ReadonlySet<string>>();
/** The union, longest first so a secret that contains another is replaced whole. */
let searched: string[] = [];

// Shapes of common credentials, for secrets the gateway was never told about (an upstream echoing
// a key back in its error message, for instance).
const SECRET_SHAPES = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI, Anthropic
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{12,}/g, // AWS access key ids
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
];

/** Shorter values would redact ordinary words; no credential is this short. */
const MIN_SECRET_LENGTH = 4;

function rebuild(): void {
  const all = new Set(loading);
  for (const secrets of held.values()) for (const secret of secrets) all.add(secret);
  searched = [...all].sort((a, b) => b.length - a.length);
}

/** Registers a secret at once (until the next swap), e.g. while a config is being loaded. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH || loading.has(value)) return;
  loading.add(value);
  rebuild();
}

/** Records the secrets `config` uses (the loader calls this once the config is built). */
export function attachSecrets(config: object, secrets: Iterable<string>): void {
  secretsByConfig.set(config, new Set([...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH)));
}

export function secretsOf(config: object): ReadonlySet<string> {
  return secretsByConfig.get(config) ?? new Set();
}

/**
 * `holder` now applies `config` (undefined: it stopped): the secrets redacted from now on are
 * those of the configs in force, and the secrets of loads that were never applied are dropped.
 */
export function useSecretsOf(holder: object, config: object | undefined): void {
  if (config === undefined) held.delete(holder);
  else held.set(holder, secretsOf(config));
  loading = new Set();
  rebuild();
}

export function isRegisteredSecret(value: string): boolean {
  return searched.includes(value);
}

export function registeredSecretCount(): number {
  return searched.length;
}

export function redact(text: string): string {
  let out = text;
  for (const secret of searched) {
    if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
  }
  for (const shape of SECRET_SHAPES) {
    out = out.replace(shape, "[REDACTED]");
  }
  return out;
}
