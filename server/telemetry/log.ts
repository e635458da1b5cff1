// Structured JSON logs (pino). One root logger; nothing here runs per call unless a call fails.
import { pino, type Logger } from "pino";
import { redact } from "../core/redact.js";
import { logValue } from "./log-value.js";

export type { Logger };

/**
 * Redacts the message arguments. Without a message pino would take an error's own message as
 * the line's `msg`, unredacted, so that case gets an explicit (redacted) one.
 */
function redactArguments(args: unknown[]): unknown[] {
  const [first, second] = args;
  if (typeof second !== "string") {
    if (first instanceof Error) return [{ err: first }, redact(first.message)];
    const err = first !== null && typeof first === "object" ? (first as { err?: unknown }).err : undefined;
    if (err instanceof Error && !("msg" in (first as object))) return [first, redact(err.message)];
  }
  return args.map((arg) => (typeof arg === "string" ? redact(arg) : arg));
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "switchboard" },
      // Never let a credential out through a log line, whatever field it hides in. pino calls these
      // only for lines at an enabled level, so a call that logs nothing pays nothing.
      formatters: { log: (object) => logValue(object) as Record<string, unknown> },
      // logValue already made errors plain ({type, message, stack, cause}); pino's own error
      // serializer would flatten the cause chain into the message and call the type "Object".
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          method.apply(this, redactArguments(args) as Parameters<typeof method>);
        },
      },
    },
    destination ?? process.stderr,
  );
}
