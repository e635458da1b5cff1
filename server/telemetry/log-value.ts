// Turns what a log call was given into plain, redacted JSON values. Errors become
// {type, message, stack, cause, …} with their whole cause chain; every string is redacted; fields
// named like credentials are censored. Runs only when a line is actually written, and is bounded
// (depth, array length, string length), so a huge SDK error cannot make a huge line.
import { redact } from "../core/redact.js";

const MAX_DEPTH = 6;
const MAX_ITEMS = 20;
const MAX_KEYS = 40;
const MAX_STRING = 4_000;
const CENSORED = "[REDACTED]";

/** Keys whose value is a credential wherever they appear (headers, SDK options, configs). */
const CREDENTIAL_KEYS = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "api_key",
  "apikey",
  "x-goog-api-key",
  "secret_access_key",
  "secretaccesskey",
  "session_token",
  "sessiontoken",
  "cookie",
  "set-cookie",
  "password",
]);

function text(value: string): string {
  const redacted = redact(value);
  return redacted.length > MAX_STRING ? `${redacted.slice(0, MAX_STRING)}… (${redacted.length} chars)` : redacted;
}

function errorValue(error: Error, depth: number, seen: Set<object>, isCause: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.constructor?.name ?? error.name, message: text(error.message) };
  // DOMException's name (AbortError, TimeoutError) says more than its type.
  if (error.name && error.name !== out.type && error.name !== "Error") out.name = text(error.name);
  // Where it was thrown; a cause's own stack mostly repeats it.
  if (error.stack && !isCause) out.stack = text(error.stack);
  // Own fields (code, status, provider, kind…) say what failed; large ones are bounded below.
  let keys = 0;
  for (const [key, field] of Object.entries(error)) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause" || ++keys > MAX_KEYS) continue;
    out[key] = logValue(field, depth + 1, seen, key);
  }
  if (error.cause !== undefined) out.cause = logValue(error.cause, depth + 1, seen, "cause");
  if (error instanceof AggregateError) out.errors = logValue(error.errors, depth + 1, seen);
  return out;
}

/** A JSON-safe, redacted copy of `value`. */
export function logValue(value: unknown, depth = 0, seen = new Set<object>(), key?: string): unknown {
  if (key !== undefined && CREDENTIAL_KEYS.has(key.toLowerCase())) return CENSORED;
  switch (typeof value) {
    case "string":
      return text(value);
    case "number":
    case "boolean":
    case "undefined":
      return value;
    case "bigint":
      return value.toString();
    case "symbol":
      return value.toString();
    case "function":
      return `[function ${value.name || "anonymous"}]`;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return "[circular]";
  if (depth >= MAX_DEPTH) return `[${object.constructor?.name ?? "object"}]`;
  seen.add(object);
  try {
    if (object instanceof Error) return errorValue(object, depth, seen, key === "cause");
    if (object instanceof Date) return object.toISOString();
    if (Array.isArray(object)) {
      const items = object.slice(0, MAX_ITEMS).map((item) => logValue(item, depth + 1, seen));
      if (object.length > MAX_ITEMS) items.push(`… ${object.length - MAX_ITEMS} more`);
      return items;
    }
    if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
    if (object instanceof Map) return logValue(Object.fromEntries(object), depth, seen);
    if (object instanceof Set) return logValue([...object], depth, seen);
    const out: Record<string, unknown> = {};
    let keys = 0;
    for (const [field, item] of Object.entries(object)) {
      if (++keys > MAX_KEYS) {
        out["…"] = `${Object.keys(object).length - MAX_KEYS} more fields`;
        break;
      }
      out[field] = logValue(item, depth + 1, seen, field);
    }
    return out;
  } catch {
    // A getter that throws must not turn a log line into a crash.
    return `[unreadable ${object.constructor?.name ?? "object"}]`;
  } finally {
    seen.delete(object);
  }
}
