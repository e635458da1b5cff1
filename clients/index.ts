// @switchboard/client: the Connect client (Connect, gRPC and gRPC-Web protocols), the grpc-js
// client, and the generated InferenceService messages they speak.
export * from "./inference-client.js";
export * from "./grpc-client.js";
export * from "./error-details.js";
export * from "../gen/switchboard/v1/inference_pb.js";
export * from "../gen/google/rpc/error_details_pb.js";
