// switchboard.v1.AdminService on both doors: the connect-node ServiceImpl and the grpc-js handlers
// only translate their call objects into an AdminContext and hand over to admin-calls.ts.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { AdminService } from "../../gen/switchboard/v1/admin_pb.js";
import type { AdminCalls, AdminContext } from "./admin-calls.js";
import { toConnectError } from "./errors.js";
import { UndecodableRequest, toGrpcStatus } from "./grpc-definition.js";
import { drained } from "./grpc-door.js";

const fromConnect = (ctx: HandlerContext): AdminContext => ({ header: (name) => ctx.requestHeader.get(name) ?? undefined, signal: ctx.signal });

export function createAdminService(calls: AdminCalls): ServiceImpl<typeof AdminService> {
  return {
    createKey: (request, ctx) => calls.createKey(fromConnect(ctx), request),
    revokeKey: (request, ctx) => calls.revokeKey(fromConnect(ctx), request),
    listKeys: (request, ctx) => calls.listKeys(fromConnect(ctx), request),
    getUsage: (request, ctx) => calls.getUsage(fromConnect(ctx), request),
    getBudget: (request, ctx) => calls.getBudget(fromConnect(ctx), request),
    exportLedger: (request, ctx) => calls.exportLedger(fromConnect(ctx), request),
    verifyAudit: (request, ctx) => calls.verifyAudit(fromConnect(ctx), request),
    exportAudit: (_request, ctx) => calls.exportAudit(fromConnect(ctx)),
  };
}

type GrpcCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

function fromGrpc(call: GrpcCall): AdminContext {
  const controller = new AbortController();
  call.once("cancelled", () => controller.abort());
  return {
    header: (name) => {
      const value = call.metadata.get(name)[0];
      return value === undefined ? undefined : String(value);
    },
    signal: controller.signal,
  };
}

function unary<Req>(run: (ctx: AdminContext, request: Req) => Promise<unknown>, logError: (e: unknown) => void): grpc.handleUnaryCall<Req | UndecodableRequest, unknown> {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof UndecodableRequest) return callback(toGrpcStatus(request.error));
    run(fromGrpc(call), request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcStatus(toConnectError(error, logError))),
    );
  };
}

function serverStream<Req>(run: (ctx: AdminContext, request: Req) => AsyncIterable<unknown>, logError: (e: unknown) => void): grpc.handleServerStreamingCall<Req | UndecodableRequest, unknown> {
  return (call) => {
    const request = call.request;
    if (request instanceof UndecodableRequest) {
      call.emit("error", toGrpcStatus(request.error));
      return;
    }
    void (async () => {
      try {
        for await (const message of run(fromGrpc(call), request)) {
          if (call.cancelled) return;
          // Exports are read page by page; waiting for the transport keeps memory flat.
          if (!call.write(message)) await drained(call);
        }
        call.end();
      } catch (error) {
        call.emit("error", toGrpcStatus(toConnectError(error, logError)));
      }
    })();
  };
}

/** The grpc-js handlers for AdminService, keyed by method local name. */
export function adminGrpcHandlers(calls: AdminCalls, logError: (e: unknown) => void): grpc.UntypedServiceImplementation {
  return {
    createKey: unary(calls.createKey, logError),
    revokeKey: unary(calls.revokeKey, logError),
    listKeys: unary(calls.listKeys, logError),
    getUsage: unary(calls.getUsage, logError),
    getBudget: unary((ctx, request) => calls.getBudget(ctx, request), logError),
    exportLedger: serverStream(calls.exportLedger, logError),
    verifyAudit: unary(calls.verifyAudit, logError),
    exportAudit: serverStream((ctx) => calls.exportAudit(ctx), logError),
  };
}
