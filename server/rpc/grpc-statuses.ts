// Statuses grpc-js sends by itself, before any handler or interceptor sees the call: an
// unparseable grpc-timeout is INTERNAL (and echoes the header unbounded), an unsupported
// compression answers without grpc-accept-encoding, and no status message is bounded. grpc-js has
// no hook for them, so this interceptor — first in the chain, where grpc-js hands it the base call —
// corrects the base call's sendStatus: caller faults get the caller's code, every message is bounded.
import * as grpc from "@grpc/grpc-js";
import { MAX_MESSAGE_CHARS, bounded } from "./bounds.js";

const ACCEPTED_ENCODINGS = "identity,deflate,gzip";

type StatusObject = Parameters<grpc.ServerInterceptingCallInterface["sendStatus"]>[0];

function corrected(status: StatusObject): StatusObject {
  let { code, metadata } = status;
  const details = bounded(status.details, MAX_MESSAGE_CHARS);
  if (code === grpc.status.INTERNAL && details.startsWith("Invalid grpc-timeout value")) code = grpc.status.INVALID_ARGUMENT;
  if (code === grpc.status.UNIMPLEMENTED && details.startsWith("Received message compressed with unsupported encoding")) {
    metadata = metadata?.clone() ?? new grpc.Metadata();
    metadata.set("grpc-accept-encoding", ACCEPTED_ENCODINGS);
  }
  if (code === status.code && details === status.details && metadata === status.metadata) return status;
  return { ...status, code, details, metadata };
}

export const correctGrpcStatuses: grpc.ServerInterceptor = (_method, call) => {
  const send = call.sendStatus.bind(call);
  call.sendStatus = (status) => send(corrected(status));
  return new grpc.ServerInterceptingCall(call);
};
