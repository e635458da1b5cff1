// A connection that never opened, told as what it was. SDKs wrap the socket's error in their own
// (APIConnectionError, "fetch failed", a stream error without a type), which made a refused port
// read as "failed mid-stream: error"; the errno is somewhere in the cause chain, so look there.
import { UpstreamError } from "../core/errors.js";

type SystemError = Error & { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown; errors?: unknown };

const CAUSE_DEPTH = 6;

function* causes(error: unknown): Generator<SystemError> {
  let current: unknown = error;
  for (let depth = 0; depth < CAUSE_DEPTH && current instanceof Error; depth++) {
    const system = current as SystemError;
    yield system;
    // Happy-eyeballs connects fail with an AggregateError of one error per address tried.
    if (Array.isArray(system.errors)) for (const inner of system.errors) if (inner instanceof Error) yield inner as SystemError;
    current = system.cause;
  }
}

function where(error: SystemError): string {
  const host = typeof error.address === "string" ? error.address : typeof error.hostname === "string" ? error.hostname : "";
  const port = typeof error.port === "number" || typeof error.port === "string" ? `:${error.port}` : "";
  return host ? `${host}${port}` : "";
}

/** The UpstreamError for a refused connection or a failed DNS lookup, or undefined for anything else. */
export function connectFailure(provider: string, error: unknown): UpstreamError | undefined {
  for (const cause of causes(error)) {
    const code = typeof cause.code === "string" ? cause.code : "";
    if (code === "ECONNREFUSED") {
      const at = where(cause);
      return new UpstreamError("unavailable", provider, `provider "${provider}" connection refused${at ? `: ${at}` : ""}`);
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
      const host = typeof cause.hostname === "string" ? cause.hostname : where(cause);
      return new UpstreamError("unavailable", provider, `provider "${provider}" DNS lookup failed${host ? `: ${host}` : ""} (${code})`);
    }
  }
  return undefined;
}
