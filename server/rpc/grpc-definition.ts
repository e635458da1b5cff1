// grpc-js service definitions built from the generated protobuf-es descriptors, and the mapping of
// a ConnectError to a grpc-js status with the standard google.rpc details.
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata, status as GrpcStatus, type MethodDefinition, type ServerErrorResponse } from "@grpc/grpc-js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

/**
 * What the deserializer returns for bytes that do not decode. grpc-js answers INTERNAL when a
 * deserializer throws; the handler answers this with INVALID_ARGUMENT instead.
 */
export class UndecodableRequest {
  constructor(readonly error: ConnectError) {}
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function deserializer<Desc extends DescMessage>(schema: Desc) {
  return (bytes: Buffer): MessageShape<Desc> | UndecodableRequest => {
    try {
      return fromBinary(schema, bytes);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return new UndecodableRequest(new ConnectError(`request does not decode as ${schema.typeName}: ${reason}`, Code.InvalidArgument));
    }
  };
}

export type GrpcMethodDefinitions = Record<string, MethodDefinition<unknown, unknown>>;

/** One grpc-js method definition per generated method, keyed by the method's local name. */
export function grpcServiceDefinition(service: DescService): GrpcMethodDefinitions {
  const definition: GrpcMethodDefinitions = {};
  for (const method of service.methods) {
    const serialize = (value: unknown) => asBuffer(toBinary(method.output, value as MessageShape<typeof method.output>));
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (value: unknown) => asBuffer(toBinary(method.input, value as MessageShape<typeof method.input>)),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serialize,
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition;
}

function packDetail(detail: ConnectError["details"][number]): Any {
  if ("desc" in detail) return anyPack(detail.desc, create(detail.desc, detail.value));
  return create(AnySchema, { typeUrl: `type.googleapis.com/${detail.type}`, value: detail.value });
}

/** The grpc-js form of a status: code, message, metadata and grpc-status-details-bin. */
export function toGrpcStatus(error: ConnectError): ServerErrorResponse {
  const metadata = new Metadata();
  error.metadata.forEach((value, key) => metadata.set(key, value));
  if (error.details.length > 0) {
    const status = create(StatusSchema, { code: error.code, message: error.rawMessage, details: error.details.map(packDetail) });
    metadata.set("grpc-status-details-bin", asBuffer(toBinary(StatusSchema, status)));
  }
  return Object.assign(new Error(error.rawMessage), { code: error.code as number as GrpcStatus, details: error.rawMessage, metadata });
}
