// The InferenceService client on @grpc/grpc-js: a hand-written service definition over the
// protobuf-es descriptors (no second code generator), a deadline on every call, the API key on
// every call, keepalive, and round-robin over several gateway addresses. No status-based retries:
// the gateway already retried its upstreams, and a client retry would bill twice. grpc-js's
// transparent retry (of calls that never reached a gateway) plus round-robin covers a replica
// going away. Built with makeGenericClientConstructor so @opentelemetry/instrumentation-grpc
// traces it (see otel-register.ts).
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  CompleteRequestSchema,
  EmbedRequestSchema,
  InferenceService,
  ListModelsRequestSchema,
  type CompleteChunk,
  type CompleteResponse,
  type EmbedResponse,
  type ListModelsResponse,
} from "../gen/switchboard/v1/inference_pb.js";

export type GrpcKeepalive = {
  /** Ping an idle connection this often (default 30 s). */
  timeMs?: number;
  /** Drop the connection when a ping is not answered within this (default 10 s). */
  timeoutMs?: number;
  /** Also ping while no call is open (default false). */
  permitWithoutCalls?: boolean;
};

export type GrpcInferenceClientOptions = {
  /** Gateway replicas as host:port (IP literals; a single hostname is resolved with dns:///). */
  addresses?: string[];
  /** Any grpc-js target instead of addresses, e.g. dns:///switchboard.internal:50051. */
  target?: string;
  /** A Switchboard virtual key, sent as `authorization: Bearer <key>` on every call. */
  apiKey?: string;
  /** The deadline of each call unless the call sets its own (default 60 s). */
  timeoutMs?: number;
  keepalive?: GrpcKeepalive;
  /** TLS: grpc.credentials.createSsl(…). Default: cleartext (a mesh sidecar or loopback). */
  credentials?: grpc.ChannelCredentials;
  /** Further grpc-js channel options (they win over the ones set here). */
  channelOptions?: grpc.ChannelOptions;
};

export type GrpcCallOptions = {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Extra request metadata (e.g. x-request-tag). */
  headers?: Record<string, string>;
};

export type GrpcInferenceClient = {
  complete(request: MessageInitShape<typeof CompleteRequestSchema>, options?: GrpcCallOptions): Promise<CompleteResponse>;
  streamComplete(request: MessageInitShape<typeof CompleteRequestSchema>, options?: GrpcCallOptions): AsyncGenerator<CompleteChunk>;
  embed(request: MessageInitShape<typeof EmbedRequestSchema>, options?: GrpcCallOptions): Promise<EmbedResponse>;
  listModels(options?: GrpcCallOptions): Promise<ListModelsResponse>;
  /** The underlying channel (for getConnectivityState / watchConnectivityState). */
  readonly channel: ReturnType<grpc.Client["getChannel"]>;
  close(): void;
};

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function methodDefinitions(): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of InferenceService.methods) {
    definition[method.localName] = {
      path: `/${InferenceService.typeName}/${method.name}`,
      requestStream: false,
      responseStream: method.methodKind === "server_streaming",
      requestSerialize: (value: unknown) => asBuffer(toBinary(method.input as DescMessage, value as MessageShape<DescMessage>)),
      requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
      responseSerialize: (value: unknown) => asBuffer(toBinary(method.output as DescMessage, value as MessageShape<DescMessage>)),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
  }
  return definition;
}

/** One constructor per process: instrumentation patches what makeGenericClientConstructor returns. */
let constructor: grpc.ServiceClientConstructor | undefined;

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+$/;

/** The grpc-js target naming every address, so round_robin spreads calls over all of them. */
export function targetOf(options: Pick<GrpcInferenceClientOptions, "addresses" | "target">): string {
  if (options.target) return options.target;
  const addresses = options.addresses ?? [];
  if (addresses.length === 0) throw new Error("createGrpcInferenceClient: give addresses or target");
  if (addresses.every((a) => IP_LITERAL.test(a) && !a.startsWith("["))) return `ipv4:${addresses.join(",")}`;
  if (addresses.every((a) => IP_LITERAL.test(a) && a.startsWith("["))) return `ipv6:${addresses.join(",")}`;
  if (addresses.length === 1) return `dns:///${addresses[0]}`;
  throw new Error("createGrpcInferenceClient: several addresses must be IP literals of one family; use target: dns:///name:port for a name");
}

function channelOptions(options: GrpcInferenceClientOptions): grpc.ChannelOptions {
  const keepalive = options.keepalive ?? {};
  return {
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    "grpc.keepalive_time_ms": keepalive.timeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": keepalive.timeoutMs ?? 10_000,
    "grpc.keepalive_permit_without_calls": keepalive.permitWithoutCalls ? 1 : 0,
    ...options.channelOptions,
  };
}

/** The key on every call: call credentials under TLS; an interceptor on cleartext, where grpc-js refuses call credentials. */
function withApiKey(options: GrpcInferenceClientOptions): { credentials: grpc.ChannelCredentials; interceptors: grpc.Interceptor[] } {
  const base = options.credentials ?? grpc.credentials.createInsecure();
  const apiKey = options.apiKey;
  if (!apiKey) return { credentials: base, interceptors: [] };
  const authorization = `Bearer ${apiKey}`;
  if (options.credentials) {
    const perCall = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", authorization);
      callback(null, metadata);
    });
    return { credentials: grpc.credentials.combineChannelCredentials(options.credentials, perCall), interceptors: [] };
  }
  const interceptor: grpc.Interceptor = (interceptorOptions, nextCall) =>
    new grpc.InterceptingCall(nextCall(interceptorOptions), {
      start(metadata, listener, next) {
        metadata.set("authorization", authorization);
        next(metadata, listener);
      },
    });
  return { credentials: base, interceptors: [interceptor] };
}

type UnaryMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<unknown>) => grpc.ClientUnaryCall;
type StreamMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

export function createGrpcInferenceClient(options: GrpcInferenceClientOptions): GrpcInferenceClient {
  constructor ??= grpc.makeGenericClientConstructor(methodDefinitions(), InferenceService.typeName);
  const { credentials, interceptors } = withApiKey(options);
  const client = new constructor(targetOf(options), credentials, { ...channelOptions(options), interceptors });
  const defaultTimeoutMs = options.timeoutMs ?? 60_000;
  const unaryMethods = client as unknown as Record<string, UnaryMethod>;
  const streamMethod = (client as unknown as Record<string, StreamMethod>).streamComplete.bind(client);

  const prepare = (call: GrpcCallOptions) => {
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(call.headers ?? {})) metadata.set(name, value);
    return { metadata, callOptions: { deadline: Date.now() + (call.timeoutMs ?? defaultTimeoutMs) } };
  };

  function unary<T>(name: string, request: unknown, call: GrpcCallOptions = {}): Promise<T> {
    const { metadata, callOptions } = prepare(call);
    return new Promise<T>((resolve, reject) => {
      const pending = unaryMethods[name].call(client, request, metadata, callOptions, (error: grpc.ServiceError | null, response?: unknown) => {
        call.signal?.removeEventListener("abort", cancel);
        if (error) reject(error);
        else resolve(response as T);
      });
      const cancel = () => pending.cancel();
      if (call.signal?.aborted) cancel();
      else call.signal?.addEventListener("abort", cancel, { once: true });
    });
  }

  return {
    channel: client.getChannel(),
    complete: (request, call) => unary<CompleteResponse>("complete", create(CompleteRequestSchema, request), call),
    embed: (request, call) => unary<EmbedResponse>("embed", create(EmbedRequestSchema, request), call),
    listModels: (call) => unary<ListModelsResponse>("listModels", create(ListModelsRequestSchema), call),
    async *streamComplete(request, call = {}) {
      const { metadata, callOptions } = prepare(call);
      const stream = streamMethod(create(CompleteRequestSchema, request), metadata, callOptions);
      const cancel = () => stream.cancel();
      if (call.signal?.aborted) cancel();
      else call.signal?.addEventListener("abort", cancel, { once: true });
      try {
        for await (const chunk of stream) yield chunk as CompleteChunk;
      } finally {
        call.signal?.removeEventListener("abort", cancel);
        // A caller that stops reading early ends the call, so the gateway aborts the upstream.
        stream.cancel();
      }
    },
    close: () => client.close(),
  };
}
