// The client library for internal services: the generated InferenceService client over the gRPC
// protocol, with an API key, a default deadline on every call, and a helper that yields the text of
// a stream.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  InferenceService,
  Role,
  type CompleteChunk,
  type CompleteRequestSchema,
  type Done,
} from "../gen/switchboard/v1/inference_pb.js";

export type InferenceClient = Client<typeof InferenceService>;

export type InferenceClientOptions = {
  /** For example http://127.0.0.1:50051 (https:// for TLS). */
  baseUrl: string;
  /** A Switchboard virtual key, sent as `authorization: Bearer <key>`. */
  apiKey?: string;
  /** The deadline of each call unless the call sets its own (default 60 s). */
  timeoutMs?: number;
  interceptors?: Interceptor[];
};

export function createInferenceTransport(options: InferenceClientOptions): Transport {
  const auth: Interceptor = (next) => (req) => {
    if (options.apiKey) req.header.set("authorization", `Bearer ${options.apiKey}`);
    return next(req);
  };
  return createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors: [auth, ...(options.interceptors ?? [])],
    defaultTimeoutMs: options.timeoutMs ?? 60_000,
  });
}

export function createInferenceClient(options: InferenceClientOptions): InferenceClient {
  return createClient(InferenceService, createInferenceTransport(options));
}

export type CompleteInput = MessageInitShape<typeof CompleteRequestSchema>;

/** Content parts without the oneof nesting. */
export const parts = {
  text: (value: string) => ({ part: { case: "text" as const, value } }),
  imageBytes: (mimeType: string, data: Uint8Array) => ({
    part: { case: "image" as const, value: { mimeType, source: { case: "data" as const, value: data } } },
  }),
  imageUrl: (url: string, mimeType = "") => ({
    part: { case: "image" as const, value: { mimeType, source: { case: "url" as const, value: url } } },
  }),
};

/** A user message with one text part: the common case, without the nesting. */
export function userText(text: string) {
  return { role: Role.USER, content: [parts.text(text)] };
}

export function systemText(text: string) {
  return { role: Role.SYSTEM, content: [parts.text(text)] };
}

/**
 * Streams a completion and yields its text deltas. The stream's final Done (usage, cost, route)
 * is handed to `onDone` when it arrives.
 */
export async function* streamText(
  client: InferenceClient,
  request: CompleteInput,
  options: CallOptions & { onDone?: (done: Done) => void } = {},
): AsyncGenerator<string> {
  const { onDone, ...callOptions } = options;
  for await (const chunk of client.streamComplete(request, callOptions) as AsyncIterable<CompleteChunk>) {
    if (chunk.event.case === "textDelta") yield chunk.event.value.text;
    else if (chunk.event.case === "done") onDone?.(chunk.event.value);
  }
}
