// Everything that can go wrong in a call → a ConnectError with a precise code and standard
// google.rpc details (BadRequest, RetryInfo, ErrorInfo) that any gRPC client can decode.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { UPSTREAM_ERROR_TABLE, UpstreamError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import { upstreamRequests } from "../routing/billing.js";
import { RoutingError } from "../routing/router.js";
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
  const message = problems.map((p) => `${p.field}: ${p.description}`).join("; ");
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    {
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: problems.map((p) => ({ field: p.field, description: p.description })) }),
    },
  ]);
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
  return new ConnectError(redact(error.message), code, undefined, details);
}

/** The status a caller sees. Unknown errors become INTERNAL with no internals in the message. */
export function toConnectError(error: unknown, log?: (error: unknown) => void): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof RoutingError) return fromUpstream(error.failure, upstreamRequests(error.attempts));
  if (error instanceof UpstreamError) return fromUpstream(error, 1);
  log?.(error);
  return new ConnectError("internal error in the gateway", Code.Internal);
}
