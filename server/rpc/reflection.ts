// gRPC server reflection (v1 and v1alpha: the same messages under two packages; grpcurl still asks
// v1alpha) answered from the generated descriptors, so grpcurl and buf curl need no proto files.
import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
/** The response body shared by both versions, before it is stamped with a version's schema. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;

export type ReflectionIndex = { services: string[]; answer(request: Request): Answer };

/** Builds the symbol and file index once, from the files that define the served services. */
export function createReflectionIndex(services: string[], files: DescFile[]): ReflectionIndex {
  const byFilename = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    const filename = `${file.name}.proto`;
    if (byFilename.has(filename)) return;
    byFilename.set(filename, file);
    file.dependencies.forEach(visit);
    const pkg = file.proto.package ? `${file.proto.package}.` : "";
    for (const message of file.messages) bySymbol.set(message.typeName, file);
    for (const e of file.enums) bySymbol.set(e.typeName, file);
    for (const service of file.services) {
      bySymbol.set(service.typeName, file);
      for (const method of service.methods) bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    // Nested messages and enums.
    const nested = (proto: { name?: string; nestedType?: { name?: string; nestedType?: unknown[] }[]; enumType?: { name?: string }[] }, prefix: string) => {
      for (const n of proto.nestedType ?? []) {
        bySymbol.set(`${prefix}${n.name}`, file);
        nested(n as typeof proto, `${prefix}${n.name}.`);
      }
      for (const e of proto.enumType ?? []) bySymbol.set(`${prefix}${e.name}`, file);
    };
    for (const message of file.proto.messageType) nested(message, `${pkg}${message.name}.`);
  };
  files.forEach(visit);

  const encoded = new Map<DescFile, Uint8Array>();
  const encode = (file: DescFile) => {
    let bytes = encoded.get(file);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file, bytes);
    }
    return bytes;
  };
  // The file and everything it imports, dependencies first.
  const withDependencies = (file: DescFile): Uint8Array[] => {
    const ordered: DescFile[] = [];
    const walk = (f: DescFile) => {
      if (ordered.includes(f)) return;
      f.dependencies.forEach(walk);
      ordered.push(f);
    };
    walk(file);
    return ordered.reverse().map(encode);
  };
  const notFound = (what: string): Answer => ({ case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } });

  return {
    services,
    answer(request) {
      const r = request.messageRequest;
      switch (r.case) {
        case "listServices":
          return { case: "listServicesResponse", value: { service: services.map((name) => ({ name })) } };
        case "fileByFilename": {
          const file = byFilename.get(r.value);
          return file ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file) } } : notFound(`file ${r.value}`);
        }
        case "fileContainingSymbol": {
          const file = bySymbol.get(r.value.replace(/^\./, ""));
          return file ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file) } } : notFound(`symbol ${r.value}`);
        }
        case "fileContainingExtension":
          return notFound(`extension ${r.value.extensionNumber} of ${r.value.containingType}`);
        case "allExtensionNumbersOfType":
          return bySymbol.has(r.value)
            ? { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: [] } }
            : notFound(`type ${r.value}`);
        default:
          return { case: "errorResponse", value: { errorCode: 3, errorMessage: "empty reflection request" } };
      }
    },
  };
}

export function createReflectionV1(index: ReflectionIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request),
        });
      }
    },
  };
}

export function createReflectionV1alpha(index: ReflectionIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request),
        });
      }
    },
  };
}

