// Keeps credentials out of logs, errors and traces. The config loader registers every secret it
// reads; anything that leaves the process as text goes through redact().

const registered = new Set<string>();

// Shapes of common credentials, for secrets the gateway was never told about (an upstream echoing
// a key back in its error message, for instance).
const SECRET_SHAPES = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI, Anthropic
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{12,}/g, // AWS access key ids
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
];

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
  }
  for (const shape of SECRET_SHAPES) {
    shape.lastIndex = 0;
    out = out.replace(shape, "[REDACTED]");
  }
  return out;
}
