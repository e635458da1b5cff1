// A plain grpc-js client for InferenceService (protobuf-es serializers in a hand-written
// definition), so tests can send gRPC metadata — a W3C traceparent — the way a service in the mesh does.
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  CompleteChunkSchema,
  CompleteRequestSchema,
  CompleteResponseSchema,
  EmbedRequestSchema,
  EmbedResponseSchema,
  type CompleteChunk,
  type CompleteResponse,
  type EmbedResponse,
} from "../../gen/switchboard/v1/inference_pb.js";

const codec = <D extends DescMessage>(schema: D) => ({
  serialize: (value: MessageShape<D>) => Buffer.from(toBinary(schema, value)),
  deserialize: (bytes: Buffer) => fromBinary(schema, bytes),
});

function method<Req extends DescMessage, Res extends DescMessage>(name: string, req: Req, res: Res, responseStream: boolean) {
  return {
    path: `/switchboard.v1.InferenceService/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: codec(req).serialize,
    requestDeserialize: codec(req).deserialize,
    responseSerialize: codec(res).serialize,
    responseDeserialize: codec(res).deserialize,
  };
}

const definition = {
  complete: method("Complete", CompleteRequestSchema, CompleteResponseSchema, false),
  streamComplete: method("StreamComplete", CompleteRequestSchema, CompleteChunkSchema, true),
  embed: method("Embed", EmbedRequestSchema, EmbedResponseSchema, false),
} satisfies grpc.ServiceDefinition;

type Init = MessageInitShape<typeof CompleteRequestSchema>;
type EmbedInit = MessageInitShape<typeof EmbedRequestSchema>;
type RawClient = grpc.Client & {
  complete(req: unknown, md: grpc.Metadata, options: grpc.CallOptions, done: (error: grpc.ServiceError | null, res?: CompleteResponse) => void): void;
  streamComplete(req: unknown, md: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<CompleteChunk>;
  embed(req: unknown, md: grpc.Metadata, options: grpc.CallOptions, done: (error: grpc.ServiceError | null, res?: EmbedResponse) => void): void;
};

export type GrpcInferenceClient = {
  complete(init: Init, headers?: Record<string, string>): Promise<CompleteResponse>;
  streamComplete(init: Init, headers?: Record<string, string>): Promise<CompleteChunk[]>;
  embed(init: EmbedInit, headers?: Record<string, string>): Promise<EmbedResponse>;
  close(): void;
};

function metadataOf(headers: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) md.set(name, value);
  return md;
}

export function createGrpcInferenceClient(address: string): GrpcInferenceClient {
  const Client = grpc.makeGenericClientConstructor(definition, "InferenceService");
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as RawClient;
  const deadline = () => ({ deadline: Date.now() + 10_000 });
  return {
    complete: (init, headers = {}) =>
      new Promise((resolve, reject) =>
        client.complete(create(CompleteRequestSchema, init), metadataOf(headers), deadline(), (error, res) => (error ? reject(error) : resolve(res!))),
      ),
    streamComplete: async (init, headers = {}) => {
      const chunks: CompleteChunk[] = [];
      for await (const chunk of client.streamComplete(create(CompleteRequestSchema, init), metadataOf(headers), deadline())) chunks.push(chunk as CompleteChunk);
      return chunks;
    },
    embed: (init, headers = {}) =>
      new Promise((resolve, reject) =>
        client.embed(create(EmbedRequestSchema, init), metadataOf(headers), deadline(), (error, res) => (error ? reject(error) : resolve(res!))),
      ),
    close: () => client.close(),
  };
}
