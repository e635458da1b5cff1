// The standard google.rpc details of a gateway error (BadRequest, RetryInfo, ErrorInfo), read from a
// grpc-js error's grpc-status-details-bin trailer. (The Connect client decodes them itself:
// ConnectError.findDetails.)
import { createRegistry, fromBinary, type Message } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { ServiceError } from "@grpc/grpc-js";
import { file_google_rpc_error_details } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";

const registry = createRegistry(file_google_rpc_error_details);

/** The decoded details; a detail of a type this package does not know is left out. */
export function grpcErrorDetails(error: Pick<ServiceError, "metadata">): Message[] {
  const raw = error.metadata?.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Uint8Array)) return [];
  const status = fromBinary(StatusSchema, raw);
  return status.details.flatMap((detail) => {
    const message = anyUnpack(detail, registry);
    return message ? [message] : [];
  });
}
