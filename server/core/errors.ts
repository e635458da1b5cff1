// One table for what an upstream failure means, shared by every adapter, the router and the RPC
// layer. Adapters classify their SDK's errors into an UpstreamError; nothing else looks at
// provider-specific error shapes.
import { redact } from "./redact.js";

export type UpstreamErrorKind =
  | "rate_limited" // 429: retry later, honouring retryAfterMs
  | "quota_exhausted" // out of credit / spend limit: retrying the same target is useless
  | "overloaded" // 529, 503 "overloaded", model not ready
  | "unavailable" // 5xx, connection refused or reset, stream cut
  | "timeout" // the upstream itself timed out (408/504)
  | "context_length" // the prompt does not fit the model's context window
  | "invalid_request" // the upstream rejected the request as malformed
  | "content_filter" // the upstream refused the content
  | "auth" // the gateway's credentials for the provider were rejected
  | "not_found" // the upstream model or endpoint does not exist
  | "malformed" // the upstream answered something the adapter cannot parse
  | "unsupported"; // the adapter cannot do what was asked (e.g. embeddings on a chat-only API)

export type GrpcCodeName =
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "INVALID_ARGUMENT"
  | "INTERNAL"
  | "UNIMPLEMENTED"
  | "FAILED_PRECONDITION";

type KindRule = {
  code: GrpcCodeName;
  /** Worth another attempt on the same target after a backoff. */
  retrySameTarget: boolean;
  /** Worth trying the next target of the alias. */
  tryOtherTarget: boolean;
};

export const UPSTREAM_ERROR_TABLE: Readonly<Record<UpstreamErrorKind, KindRule>> = {
  rate_limited: { code: "RESOURCE_EXHAUSTED", retrySameTarget: true, tryOtherTarget: true },
  quota_exhausted: { code: "RESOURCE_EXHAUSTED", retrySameTarget: false, tryOtherTarget: true },
  overloaded: { code: "UNAVAILABLE", retrySameTarget: true, tryOtherTarget: true },
  unavailable: { code: "UNAVAILABLE", retrySameTarget: true, tryOtherTarget: true },
  timeout: { code: "UNAVAILABLE", retrySameTarget: true, tryOtherTarget: true },
  malformed: { code: "UNAVAILABLE", retrySameTarget: true, tryOtherTarget: true },
  context_length: { code: "INVALID_ARGUMENT", retrySameTarget: false, tryOtherTarget: false },
  invalid_request: { code: "INVALID_ARGUMENT", retrySameTarget: false, tryOtherTarget: false },
  content_filter: { code: "INVALID_ARGUMENT", retrySameTarget: false, tryOtherTarget: false },
  auth: { code: "INTERNAL", retrySameTarget: false, tryOtherTarget: true },
  not_found: { code: "INTERNAL", retrySameTarget: false, tryOtherTarget: true },
  unsupported: { code: "UNIMPLEMENTED", retrySameTarget: false, tryOtherTarget: true },
};

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly kind: UpstreamErrorKind,
    /** The provider's configured name (never its credentials). */
    readonly provider: string,
    message: string,
    /** `field`: the request field (proto path) an invalid_request is about, for BadRequest details. */
    readonly options: { status?: number; retryAfterMs?: number; field?: string } = {},
  ) {
    super(message);
  }
  get retryAfterMs(): number | undefined {
    return this.options.retryAfterMs;
  }
  get status(): number | undefined {
    return this.options.status;
  }
  get field(): string | undefined {
    return this.options.field;
  }
}

/** The kind an HTTP status means when the body says nothing more specific. */
export function kindForHttpStatus(status: number): UpstreamErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not_found";
  if (status === 408 || status === 504) return "timeout";
  if (status === 529 || status === 503) return "overloaded";
  if (status === 413) return "context_length";
  if (status >= 500) return "unavailable";
  if (status >= 400) return "invalid_request";
  return "malformed";
}

const CONTEXT_LENGTH_HINTS =
  /context.length|context window|maximum context|too many tokens|prompt is too long|input is too long|exceeds the maximum|input token count/i;

/** Whether an upstream's 400 message says the prompt does not fit. */
export function mentionsContextLength(message: string): boolean {
  return CONTEXT_LENGTH_HINTS.test(message);
}

/** Parses a Retry-After header (seconds or HTTP date) and the non-standard retry-after-ms. */
export function retryAfterFromHeaders(get: (name: string) => string | null | undefined): number | undefined {
  const ms = get("retry-after-ms");
  if (ms) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  }
  const after = get("retry-after");
  if (!after) return undefined;
  const seconds = Number.parseFloat(after);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Errors that mean the network failed under us (refused, reset, cut mid-body). */
export function isConnectionFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|UND_ERR_|ERR_HTTP2|ENOTFOUND|EAI_AGAIN)/.test(code)) {
      return true;
    }
    if (/terminated|socket hang up|other side closed|premature close|ECONNRESET|ECONNREFUSED|fetch failed/i.test(current.message)) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

const QUOTA_CODES = /insufficient_quota|enforced_spend_limit|billing|quota_exceeded/i;

/**
 * The shared mapping from an upstream HTTP error to an UpstreamError, used by every adapter whose
 * SDK exposes the status. `code` is the provider's own error code or type, when it gives one;
 * `kind` is the adapter's own classification when the provider's error names say more than the
 * status (AWS: ModelNotReadyException is a 429 that means overloaded, not rate limited).
 * Credentials errors never carry the upstream's message: it may quote the key.
 */
export function upstreamErrorFromHttp(
  provider: string,
  status: number,
  upstreamMessage: string,
  options: { retryAfterMs?: number; code?: string; kind?: UpstreamErrorKind } = {},
): UpstreamError {
  let kind = options.kind ?? kindForHttpStatus(status);
  const code = options.code ?? "";
  if (kind === "rate_limited" && QUOTA_CODES.test(code + " " + upstreamMessage)) kind = "quota_exhausted";
  if (kind === "invalid_request" || kind === "context_length") {
    if (/content_filter|content_policy|responsible ai/i.test(code)) kind = "content_filter";
    else if (/context_length/i.test(code) || mentionsContextLength(upstreamMessage)) kind = "context_length";
  }
  if (/overloaded/i.test(code)) kind = "overloaded";
  const message =
    kind === "auth"
      ? `provider "${provider}" rejected the gateway's credentials (HTTP ${status}); check its configuration`
      : `provider "${provider}" answered HTTP ${status}: ${redact(upstreamMessage).slice(0, 500)}`;
  return new UpstreamError(kind, provider, message, { status, retryAfterMs: options.retryAfterMs });
}

/** For SDK errors with no HTTP status: network failures, unparseable bodies, anything else. */
export function upstreamErrorFromUnknown(provider: string, error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof SyntaxError || /JSON|Unexpected token|Incomplete/i.test(text)) {
    return new UpstreamError("malformed", provider, `provider "${provider}" sent a response that could not be parsed`);
  }
  if (isConnectionFailure(error)) {
    return new UpstreamError("unavailable", provider, `provider "${provider}" connection failed: ${redact(text).slice(0, 200)}`);
  }
  if (/timed? ?out/i.test(text)) {
    return new UpstreamError("timeout", provider, `provider "${provider}" timed out`);
  }
  return new UpstreamError("unavailable", provider, `provider "${provider}" failed: ${redact(text).slice(0, 300)}`);
}
