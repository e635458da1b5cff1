// Structured JSON logs (pino). One root logger; nothing here runs per call unless a call fails.
import { pino, type Logger } from "pino";
import { redact } from "../core/redact.js";

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "switchboard" },
      // Never let a credential out through a log line, whatever field it hides in.
      formatters: { log: (object) => JSON.parse(redact(JSON.stringify(object))) as Record<string, unknown> },
      redact: { paths: ["*.api_key", "*.secret_access_key", "*.session_token", "*.authorization"], censor: "[REDACTED]" },
    },
    destination ?? process.stderr,
  );
}
