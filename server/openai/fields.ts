// Reading untrusted JSON field by field: each reader checks one value's type and, when it is wrong,
// records a problem under the OpenAI parameter path (`messages[2].content[0].image_url.url`) instead
// of throwing, so one 400 names the first wrong field and nothing is guessed.
import type { FieldViolation } from "../rpc/convert-request.js";
import { quoted } from "../rpc/bounds.js";

export type JsonObject = Record<string, unknown>;

export class Fields {
  readonly problems: FieldViolation[] = [];

  problem(field: string, description: string): void {
    this.problems.push({ field, description });
  }

  isObject(value: unknown): value is JsonObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }

  object(value: unknown, field: string): JsonObject | undefined {
    if (value === undefined || value === null) return undefined;
    if (this.isObject(value)) return value;
    this.problem(field, "must be an object");
    return undefined;
  }

  string(value: unknown, field: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    this.problem(field, "must be a string");
    return undefined;
  }

  boolean(value: unknown, field: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === "boolean") return value;
    this.problem(field, "must be a boolean");
    return undefined;
  }

  number(value: unknown, field: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    this.problem(field, "must be a number");
    return undefined;
  }

  integer(value: unknown, field: string): number | undefined {
    const n = this.number(value, field);
    if (n === undefined || Number.isSafeInteger(n)) return n;
    this.problem(field, "must be an integer");
    return undefined;
  }

  array(value: unknown, field: string): unknown[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value;
    this.problem(field, "must be an array");
    return undefined;
  }

  /** A string that must be one of `allowed`. */
  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T | undefined {
    const text = this.string(value, field);
    if (text === undefined) return undefined;
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.problem(field, `must be one of ${allowed.join(", ")}, got ${quoted(text)}`);
    return undefined;
  }

  /** A string-to-string map (metadata); other values are refused, not coerced. */
  stringMap(value: unknown, field: string): Record<string, string> {
    const object = this.object(value, field);
    const out: Record<string, string> = {};
    for (const [key, entry] of Object.entries(object ?? {})) {
      if (typeof entry === "string") out[key] = entry;
      else this.problem(`${field}.${key}`, "must be a string");
    }
    return out;
  }

  /** A parameter the gateway cannot honour, refused when set to anything but its neutral value. */
  unsupported(value: unknown, field: string, neutral: (value: unknown) => boolean, why: string): void {
    if (value === undefined || value === null || neutral(value)) return;
    this.problem(field, why);
  }
}
