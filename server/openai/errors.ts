// The statuses calls.ts ends a call with (ConnectErrors with google.rpc details) → OpenAI's error
// body and HTTP status, which the OpenAI SDKs turn into their error classes by status:
// 400 BadRequestError (with `param`), 401 AuthenticationError, 403 PermissionDeniedError,
// 404 NotFoundError, 429 RateLimitError (with retry-after), 5xx InternalServerError.
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { FieldViolation } from "../rpc/convert-request.js";
import { invalidArgument } from "../rpc/errors.js";

export type OpenAIErrorBody = { error: { message: string; type: string; code: string | null; param: string | null } };

export type HttpError = { status: number; headers: Record<string, string>; body: OpenAIErrorBody };

const STATUS: Partial<Record<Code, [number, string]>> = {
  [Code.InvalidArgument]: [400, "invalid_request_error"],
  [Code.OutOfRange]: [400, "invalid_request_error"],
  [Code.FailedPrecondition]: [400, "invalid_request_error"],
  [Code.Unauthenticated]: [401, "authentication_error"],
  [Code.PermissionDenied]: [403, "permission_error"],
  [Code.NotFound]: [404, "not_found_error"],
  [Code.AlreadyExists]: [409, "conflict_error"],
  [Code.Aborted]: [409, "conflict_error"],
  [Code.ResourceExhausted]: [429, "rate_limit_error"],
  [Code.Canceled]: [499, "cancelled"],
  [Code.Unimplemented]: [501, "not_implemented_error"],
  [Code.DeadlineExceeded]: [504, "timeout_error"],
};

/** Upstream failure reasons (ErrorInfo) whose HTTP status says more than the gRPC code does. */
const BY_REASON: Record<string, number> = { OVERLOADED: 503, UNAVAILABLE: 502, MALFORMED: 502, TIMEOUT: 504 };

const PROTO_FIELDS: [RegExp, string][] = [
  [/^generation\.response_format/, "response_format"],
  [/^generation\.max_output_tokens$/, "max_tokens"],
  [/^generation\.temperature$/, "temperature"],
  [/^generation\.top_p$/, "top_p"],
  [/^generation\.stop_sequences/, "stop"],
  [/^(messages\[\d+\]\.content\[\d+\])\.image\.(url|data|mime_type)$/, "$1.image_url.url"],
  [/^(messages\[\d+\])\.content\[\d+\]\.tool_result\.tool_call_id$/, "$1.tool_call_id"],
  [/^tool_choice\.tool_name$/, "tool_choice.function.name"],
  [/^(tools\[\d+\])\.name$/, "$1.function.name"],
  [/^inputs(\[\d+\])?$/, "input$1"],
];

/** A contract field path (from calls.ts or an adapter) as the OpenAI request names it. */
export function openAIParam(field: string): string {
  for (const [pattern, replacement] of PROTO_FIELDS) if (pattern.test(field)) return field.replace(pattern, replacement);
  return field;
}

function errorCode(error: ConnectError, reason: string | undefined): string | null {
  if (error.code === Code.NotFound) return "model_not_found";
  if (error.code === Code.Unauthenticated) return "invalid_api_key";
  if (reason === "QUOTA_EXHAUSTED") return "insufficient_quota";
  if (reason === "CONTEXT_LENGTH") return "context_length_exceeded";
  if (reason === "RATE_LIMITED") return "rate_limit_exceeded";
  return reason?.toLowerCase() ?? null;
}

export function httpErrorFrom(error: ConnectError): HttpError {
  const info = error.findDetails(ErrorInfoSchema).find((i) => i.domain === "switchboard") ?? error.findDetails(ErrorInfoSchema)[0];
  const violation = error.findDetails(BadRequestSchema)[0]?.fieldViolations[0];
  const retry = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  let [status, type] = STATUS[error.code] ?? [500, "api_error"];
  if (error.code === Code.Unavailable) [status, type] = [BY_REASON[info?.reason ?? ""] ?? 503, "api_error"];
  const headers: Record<string, string> = {};
  if (retry !== undefined) {
    const ms = Number(retry.seconds) * 1000 + retry.nanos / 1e6;
    headers["retry-after"] = String(Math.max(1, Math.ceil(ms / 1000)));
    headers["retry-after-ms"] = String(Math.ceil(ms));
  }
  let param: string | null = violation ? openAIParam(violation.field) : null;
  if (error.code === Code.NotFound) param = "model";
  return { status, headers, body: { error: { message: error.rawMessage, type, code: errorCode(error, info?.reason), param } } };
}

/** The 400 for a body the OpenAI translators refused, its first violation as `param`. */
export function badRequest(problems: FieldViolation[]): HttpError {
  return httpErrorFrom(invalidArgument(problems));
}

export function plainError(status: number, type: string, message: string, code: string | null = null): HttpError {
  return { status, headers: {}, body: { error: { message, type, code, param: null } } };
}
