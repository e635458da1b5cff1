// Everything that can go wrong in a call → a ConnectError with a precise code and standard
// google.rpc details (BadRequest, RetryInfo, ErrorInfo) that any gRPC client can decode.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import { upstreamRequests } from "../routing/billing.js";
import { RoutingError } from "../routing/router.js";
import { MAX_MESSAGE_CHARS, MAX_QUOTED_CHARS, MAX_VIOLATIONS, bounded } from "./bounds.js";
import type { FieldViolation } from "./convert-request.js";

const CODE_BY_NAME: Record<string, Code> = {
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  UNAVAILABLE: Code.Unavailable,
  INVALID_ARGUMENT: Code.InvalidArgument,
  INTERNAL: Code.Internal,
  UNIMPLEMENTED: Code.Unimplemented,
  FAILED_PRECONDITION: Code.FailedPrecondition,
};

export function invalidArgument(problems: FieldViolation[]): ConnectError {
  // The details travel in a header too (grpc-status-details-bin): they are bounded like the message.
  const listed = problems.slice(0, MAX_VIOLATIONS).map((p) => ({
    field: bounded(p.field, MAX_QUOTED_CHARS),
    description: bounded(p.description, MAX_QUOTED_CHARS * 2),
  }));
  let message = "";
  let shown = 0;
  for (const p of listed) {
    const item = `${shown > 0 ? "; " : ""}${p.field}: ${p.description}`;
    if (shown > 0 && message.length + item.length > MAX_MESSAGE_CHARS - 40) break;
    message += item;
    shown++;
  }
  if (shown < problems.length) message += `; and ${problems.length - shown} more`;
  return new ConnectError(bounded(message, MAX_MESSAGE_CHARS), Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: listed }) },
  ]);
}

/** The same error with its message cut to a size any HTTP/2 peer accepts in a header. */
function withBoundedMessage(error: ConnectError): ConnectError {
  if (error.rawMessage.length <= MAX_MESSAGE_CHARS) return error;
  const copy = new ConnectError(bounded(error.rawMessage, MAX_MESSAGE_CHARS), error.code, error.metadata, undefined, error.cause);
  copy.details.push(...error.details);
  return copy;
}

function fromUpstream(error: UpstreamError, attempts: number): ConnectError {
  const code = CODE_BY_NAME[UPSTREAM_ERROR_TABLE[error.kind].code] ?? Code.Unavailable;
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, {
        reason: error.kind.toUpperCase(),
        domain: "switchboard",
        metadata: { provider: error.provider, attempts: String(attempts) },
      }),
    },
  ];
  if (error.retryAfterMs !== undefined) {
    const ms = error.retryAfterMs;
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, {
        retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
      }),
    });
  }
  const message = bounded(redact(error.message), MAX_MESSAGE_CHARS);
  if (error.field !== undefined) {
    details.push({ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: [{ field: error.field, description: message }] }) });
  }
  return new ConnectError(message, code, undefined, details);
}

/** The status a caller sees. Unknown errors become INTERNAL with no internals in the message. */
export function toConnectError(error: unknown, log?: (error: unknown) => void): ConnectError {
  if (error instanceof ConnectError) return withBoundedMessage(error);
  if (error instanceof RoutingError) return fromUpstream(error.failure, upstreamRequests(error.attempts));
  if (error instanceof UpstreamError) return fromUpstream(error, 1);
  log?.(error);
  return new ConnectError("internal error in the gateway", Code.Internal);
}
