// The native gRPC door: @grpc/grpc-js serving InferenceService, health and reflection over HTTP/2
// connections handed over by listen.ts. The handlers only translate grpc-js calls into InboundCalls
// and statuses; the work is calls.ts, the same as behind the connect-node door.
import type { Duplex } from "node:stream";
import { create, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
  type HealthCheckRequest,
} from "../../gen/grpc/health/v1/health_pb.js";
import { InferenceService, type CompleteRequest, type EmbedRequest } from "../../gen/switchboard/v1/inference_pb.js";
import { Cancel } from "../core/cancel.js";
import type { InboundCall, Method } from "../policy/chain.js";
import type { InferenceCalls } from "./calls.js";
import { toConnectError } from "./errors.js";
import { UndecodableRequest, grpcServiceDefinition, toGrpcStatus } from "./grpc-definition.js";
import { correctGrpcStatuses } from "./grpc-statuses.js";
import type { HealthStatus } from "./health.js";

export type GrpcDoor = {
  /** Takes an HTTP/2 connection (cleartext, or already TLS-terminated by listen.ts). */
  accept(socket: Duplex): void;
  /** GOAWAY to every connection; resolves when the calls in flight have finished. */
  drain(): Promise<void>;
  /** Cuts whatever is left. */
  destroy(): void;
};

export type GrpcDoorOptions = {
  calls: InferenceCalls;
  health: HealthStatus;
  /** Files whose services reflection lists, with everything they import. */
  files: DescFile[];
  maxMessageBytes: number;
  logError(error: unknown): void;
  /** Further services (AdminService), with handlers keyed by method local name. */
  services?: { service: DescService; handlers: grpc.UntypedServiceImplementation }[];
};

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/**
 * One grpc-js call: its cancel aborts when the caller cancels (the router enforces the deadline
 * itself). `answered()` runs when the handler has the call's answer or error, right before handing
 * it to grpc-js:
 * - the cancel listener goes: grpc-js also emits "cancelled" after every call's status, and a
 *   finished call is not a cancelled one (the abort would also cost an error object per call);
 * - response headers set meanwhile (x-request-id) go out now, in the same write as the answer,
 *   rather than as a HEADERS frame of their own while the call waits for its upstream.
 * Methods live on the prototype, not in closures: tsx renames every closure made per call, at ~1 µs.
 */
class BoundCall {
  readonly cancel = new Cancel();
  protected headers: grpc.Metadata | undefined;
  private readonly cancelled = this.onCancelled.bind(this);
  private abortSignal: AbortSignal | undefined;

  constructor(protected readonly call: AnyCall) {
    call.on("cancelled", this.cancelled);
  }

  /** For the health watch, which waits on an AbortSignal; inference calls never create one. */
  get signal(): AbortSignal {
    return (this.abortSignal ??= this.cancel.toSignal());
  }

  /** Sends the headers set so far (before a stream's first message); later ones are not sent. */
  sendHeaders(): void {
    if (this.headers === undefined) return;
    this.call.sendMetadata(this.headers);
    this.headers = undefined;
  }

  answered(): void {
    this.call.off("cancelled", this.cancelled);
    this.sendHeaders();
  }

  private onCancelled(): void {
    this.cancel.abort(new ConnectError("the caller cancelled the call", Code.Canceled));
  }
}

/** An inference call as policy and the router see it. */
class GrpcInboundCall extends BoundCall implements InboundCall {
  readonly protocol = "grpc";
  readonly deadline: number | undefined;
  caller: InboundCall["caller"] = undefined;
  refused: boolean | undefined = undefined;
  requestId: string | undefined = undefined;
  traceId: string | undefined = undefined;
  requestBytes: (() => Uint8Array) | undefined = undefined;

  constructor(
    call: AnyCall,
    readonly method: Method,
  ) {
    super(call);
    const deadline = call.getDeadline();
    const epoch = deadline instanceof Date ? deadline.getTime() : deadline;
    this.deadline = Number.isFinite(epoch) ? epoch : undefined;
  }

  header(name: string): string | undefined {
    const value = this.call.metadata.get(name)[0];
    return value === undefined ? undefined : String(value);
  }

  setResponseHeader(name: string, value: string): void {
    (this.headers ??= new grpc.Metadata()).set(name, value);
  }
}

function statusOf(error: unknown, logError: (error: unknown) => void): grpc.ServerErrorResponse {
  return toGrpcStatus(toConnectError(error, logError));
}

function unary<Req>(method: Method, run: (call: InboundCall, request: Req) => Promise<unknown>, logError: (e: unknown) => void): grpc.handleUnaryCall<Req | UndecodableRequest, unknown> {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof UndecodableRequest) return callback(toGrpcStatus(request.error));
    const bound = new GrpcInboundCall(call, method);
    run(bound, request).then(
      (response) => {
        bound.answered();
        callback(null, response);
      },
      (error: unknown) => {
        bound.answered();
        callback(statusOf(error, logError));
      },
    );
  };
}

/** Waits for the transport to take more, or for the call to end. */
export function drained(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve();
    };
    call.once("drain", done);
    call.once("cancelled", done);
  });
}

function serverStream<Req, Call extends BoundCall>(
  bind: (call: grpc.ServerWritableStream<Req | UndecodableRequest, unknown>) => Call,
  run: (call: Call, request: Req) => AsyncIterable<unknown>,
  logError: (e: unknown) => void,
): grpc.handleServerStreamingCall<Req | UndecodableRequest, unknown> {
  return (call) => {
    const request = call.request;
    if (request instanceof UndecodableRequest) {
      call.emit("error", toGrpcStatus(request.error));
      return;
    }
    const bound = bind(call);
    void (async () => {
      try {
        for await (const message of run(bound, request)) {
          if (call.cancelled) return;
          bound.sendHeaders();
          if (!call.write(message)) await drained(call);
        }
        bound.answered();
        call.end();
      } catch (error) {
        bound.answered();
        call.emit("error", statusOf(error, logError));
      }
    })();
  };
}

function healthHandlers(health: HealthStatus) {
  return {
    check: (call: grpc.ServerUnaryCall<HealthCheckRequest | UndecodableRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const request = call.request;
      if (request instanceof UndecodableRequest) return callback(toGrpcStatus(request.error));
      const status = health.get(request.service);
      if (status === undefined) return callback(toGrpcStatus(new ConnectError(`unknown service "${request.service}"`, Code.NotFound)));
      callback(null, create(HealthCheckResponseSchema, { status }));
    },
    list: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const statuses: Record<string, { status: Status }> = {};
      for (const [service, status] of health.all()) statuses[service] = { status };
      callback(null, create(HealthListResponseSchema, { statuses }));
    },
    watch: serverStream<HealthCheckRequest, BoundCall>(
      (call) => new BoundCall(call),
      async function* ({ signal }, request) {
        let last: Status | undefined;
        while (!signal.aborted) {
          const status = health.get(request.service) ?? Status.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield create(HealthCheckResponseSchema, { status });
          }
          // Watch streams end once NOT_SERVING is told on shutdown, so they cannot hold the drain open.
          if (health.shuttingDown) return;
          await health.changed(signal);
        }
      },
      () => undefined,
    ),
  };
}

function reflectionPackage(files: DescFile[]) {
  const withDependencies = (file: DescFile): Buffer[] => {
    const ordered: DescFile[] = [];
    const walk = (f: DescFile) => {
      if (ordered.includes(f)) return;
      ordered.push(f);
      f.dependencies.forEach(walk);
    };
    walk(file);
    return ordered.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  };
  const pkg: Record<string, { format: "Protocol Buffer 3 DescriptorProto"; type: object; fileDescriptorProtos: Buffer[] }> = {};
  for (const file of files) {
    for (const service of file.services) {
      pkg[service.typeName] = { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: withDependencies(file) };
    }
  }
  return pkg;
}

export function createGrpcDoor(options: GrpcDoorOptions): GrpcDoor {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    // Callers' keepalive pings are welcome (Node's HTTP/2 server never refused them either).
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 1000,
    // Channelz statistics are kept per call (closures, counters, timestamps) for a channelz service
    // this server does not offer: nobody could read them.
    "grpc.enable_channelz": 0,
    interceptors: [correctGrpcStatuses],
  });
  const { calls, logError } = options;
  server.addService(grpcServiceDefinition(InferenceService), {
    complete: unary<CompleteRequest>("complete", calls.complete, logError),
    streamComplete: serverStream<CompleteRequest, GrpcInboundCall>((call) => new GrpcInboundCall(call, "stream_complete"), calls.streamComplete, logError),
    embed: unary<EmbedRequest>("embed", calls.embed, logError),
    listModels: unary<unknown>("list_models", (call) => calls.listModels(call), logError),
  });
  server.addService(grpcServiceDefinition(Health), healthHandlers(options.health));
  for (const { service, handlers } of options.services ?? []) server.addService(grpcServiceDefinition(service), handlers);
  new ReflectionService(reflectionPackage(options.files)).addToServer(server);

  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  return {
    accept: (socket) => injector.injectConnection(socket),
    drain: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    destroy: () => server.forceShutdown(),
  };
}
