// OpenAI's /v1/embeddings body ↔ the contract's EmbedRequest / EmbedResponse. The OpenAI SDKs ask
// for base64 vectors by default (little-endian float32, as OpenAI sends them); float is the other choice.
import { create } from "@bufbuild/protobuf";
import { EmbedRequestSchema, type EmbedRequest, type EmbedResponse } from "../../gen/switchboard/v1/inference_pb.js";
import type { FieldViolation } from "../rpc/convert-request.js";
import { Fields } from "./fields.js";

export type EncodingFormat = "float" | "base64";

export type EmbeddingsRequest = { request: EmbedRequest; encoding: EncodingFormat };

export type EmbeddingsBody = {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
};

export function embeddingsRequestFromOpenAI(raw: unknown): { value?: EmbeddingsRequest; problems: FieldViolation[] } {
  const f = new Fields();
  const body = f.object(raw, "body");
  if (!body) return { problems: [{ field: "body", description: "a JSON object is required" }] };
  const model = f.string(body.model, "model") ?? "";
  if (model === "") f.problem("model", "a model alias is required");
  let inputs: string[] = [];
  if (typeof body.input === "string") inputs = [body.input];
  else if (Array.isArray(body.input)) {
    inputs = body.input.flatMap((item, i) => {
      if (typeof item === "string") return [item];
      f.problem(`input[${i}]`, "must be a string (token arrays are not supported)");
      return [];
    });
  } else f.problem("input", "a string or an array of strings is required");
  if (Array.isArray(body.input) && body.input.length === 0) f.problem("input", "at least one input is required");
  inputs.forEach((text, i) => {
    if (text === "") f.problem(Array.isArray(body.input) ? `input[${i}]` : "input", "must not be empty");
  });
  const dimensions = f.integer(body.dimensions, "dimensions");
  if (dimensions !== undefined && (dimensions <= 0 || dimensions > 2 ** 31 - 1)) f.problem("dimensions", "must be a positive 32-bit integer");
  const encoding = f.oneOf(body.encoding_format, "encoding_format", ["float", "base64"] as const) ?? "float";
  if (f.problems.length > 0) return { problems: f.problems };
  return { value: { request: create(EmbedRequestSchema, { model, inputs, dimensions }), encoding }, problems: [] };
}

function base64Vector(values: number[]): string {
  const floats = Float32Array.from(values);
  // Float32Array uses the platform's byte order; every platform Node 20 runs on is little-endian.
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64");
}

export function embeddingsToOpenAI(response: EmbedResponse, model: string, encoding: EncodingFormat): EmbeddingsBody {
  const tokens = Number(response.usage?.inputTokens ?? 0n);
  return {
    object: "list",
    data: response.embeddings.map((e, index) => ({
      object: "embedding",
      index,
      embedding: encoding === "base64" ? base64Vector(e.values) : e.values,
    })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
