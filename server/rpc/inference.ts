// switchboard.v1.InferenceService on connect-node (Connect, gRPC-Web, and gRPC where connect-node
// serves HTTP/2): translates the handler context into an InboundCall and hands over to calls.ts.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { InferenceService } from "../../gen/switchboard/v1/inference_pb.js";
import { Cancel } from "../core/cancel.js";
import type { InboundCall, Method, Protocol } from "../policy/chain.js";
import type { InferenceCalls } from "./calls.js";

const PROTOCOL: Record<string, Protocol> = { connect: "connect", grpc: "grpc", "grpc-web": "grpc-web" };

function inboundCall(ctx: HandlerContext, method: Method): InboundCall {
  const remaining = ctx.timeoutMs();
  return {
    protocol: PROTOCOL[ctx.protocolName] ?? "connect",
    method,
    header: (name) => ctx.requestHeader.get(name) ?? undefined,
    cancel: Cancel.following(ctx.signal),
    deadline: remaining === undefined ? undefined : Date.now() + remaining,
    setResponseHeader: (name, value) => ctx.responseHeader.set(name, value),
  };
}

export function createInferenceService(calls: InferenceCalls): ServiceImpl<typeof InferenceService> {
  return {
    complete: (request, ctx) => calls.complete(inboundCall(ctx, "complete"), request),
    streamComplete: (request, ctx) => calls.streamComplete(inboundCall(ctx, "stream_complete"), request),
    embed: (request, ctx) => calls.embed(inboundCall(ctx, "embed"), request),
    listModels: (_request, ctx) => calls.listModels(inboundCall(ctx, "list_models")),
  };
}
