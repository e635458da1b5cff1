// An OpenAI Chat Completions request body → the contract's CompleteRequest. The proto message is
// what calls.ts validates, routes and hashes for the audit log, so a call made here and the same
// call made over gRPC are one and the same request. Message i stays message i and content part j
// stays part j, so a field the gateway names later maps back to the caller's own path.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { JsonObject as ProtoJsonObject } from "@bufbuild/protobuf";
import {
  CompleteRequestSchema,
  ResponseFormat_Type,
  Role,
  ToolChoice_Mode,
  type CompleteRequest,
} from "../../gen/switchboard/v1/inference_pb.js";
import type { FieldViolation } from "../rpc/convert-request.js";
import { quoted } from "../rpc/bounds.js";
import { Fields, type JsonObject } from "./fields.js";

type MessageInit = MessageInitShape<typeof CompleteRequestSchema>["messages"] extends (infer M)[] | undefined ? M : never;
type PartInit = NonNullable<MessageInit["content"]> extends (infer P)[] ? P : never;

export type ChatRequest = {
  request: CompleteRequest;
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the usage and no choices. */
  includeUsage: boolean;
};

const ROLES = ["system", "developer", "user", "assistant", "tool"] as const;
const DATA_URL = /^data:(image\/[\w.+-]+);base64,/;

function imagePart(f: Fields, value: JsonObject, at: string): PartInit | undefined {
  const image = f.object(value.image_url, `${at}.image_url`);
  const url = f.string(image?.url, `${at}.image_url.url`);
  if (url === undefined) {
    if (image !== undefined) f.problem(`${at}.image_url.url`, "an image URL is required");
    return undefined;
  }
  const data = DATA_URL.exec(url);
  if (data) {
    const bytes = Buffer.from(url.slice(data[0].length), "base64");
    if (bytes.length === 0) f.problem(`${at}.image_url.url`, "the data: URL holds no image bytes");
    return { part: { case: "image", value: { mimeType: data[1], source: { case: "data", value: bytes } } } };
  }
  // A URL is passed on as a URL: the gateway never fetches it (a target that needs bytes refuses it).
  if (!/^https?:\/\//i.test(url)) {
    f.problem(`${at}.image_url.url`, "expected an https URL or a base64 data:image/… URL");
    return undefined;
  }
  return { part: { case: "image", value: { source: { case: "url", value: url } } } };
}

/** Content as a string or an array of parts; `allowImages` only for user messages. */
function contentParts(f: Fields, content: unknown, at: string, allowImages: boolean): PartInit[] {
  if (typeof content === "string") return [{ part: { case: "text", value: content } }];
  const parts = f.array(content, at) ?? [];
  const out: PartInit[] = [];
  parts.forEach((raw, j) => {
    const where = `${at}[${j}]`;
    const part = f.object(raw, where);
    if (!part) return;
    const type = f.string(part.type, `${where}.type`);
    if (type === "text") {
      out.push({ part: { case: "text", value: f.string(part.text, `${where}.text`) ?? "" } });
    } else if (type === "image_url" && allowImages) {
      const image = imagePart(f, part, where);
      if (image) out.push(image);
    } else if (type === "refusal") {
      out.push({ part: { case: "text", value: f.string(part.refusal, `${where}.refusal`) ?? "" } });
    } else if (type !== undefined) {
      f.problem(`${where}.type`, `content parts of type ${quoted(type)} are not supported in this message`);
    }
  });
  return out;
}

function toolCallParts(f: Fields, value: unknown, at: string): PartInit[] {
  const calls = f.array(value, at) ?? [];
  return calls.flatMap((raw, k): PartInit[] => {
    const where = `${at}[${k}]`;
    const call = f.object(raw, where);
    if (!call) return [];
    if (call.type !== undefined && call.type !== "function") f.problem(`${where}.type`, 'only "function" tool calls are supported');
    const fn = f.object(call.function, `${where}.function`);
    const id = f.string(call.id, `${where}.id`) ?? "";
    const name = f.string(fn?.name, `${where}.function.name`) ?? "";
    const args = f.string(fn?.arguments, `${where}.function.arguments`) ?? "";
    if (id === "") f.problem(`${where}.id`, "a tool call id is required");
    if (name === "") f.problem(`${where}.function.name`, "a tool name is required");
    if (args !== "" && !isJsonObject(args)) f.problem(`${where}.function.arguments`, "must be a JSON object encoded as a string");
    return [{ part: { case: "toolCall", value: { id, name, argumentsJson: args } } }];
  });
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function textOf(parts: PartInit[]): string {
  return parts.map((p) => (p.part?.case === "text" ? p.part.value : "")).join("");
}

function message(f: Fields, raw: unknown, at: string): MessageInit | undefined {
  const m = f.object(raw, at);
  if (!m) return undefined;
  const role = f.oneOf(m.role, `${at}.role`, ROLES);
  switch (role) {
    case "system":
    case "developer":
      return { role: Role.SYSTEM, content: contentParts(f, m.content, `${at}.content`, false) };
    case "user":
      return { role: Role.USER, content: contentParts(f, m.content, `${at}.content`, true) };
    case "assistant": {
      const content = m.content === undefined || m.content === null || m.content === "" ? [] : contentParts(f, m.content, `${at}.content`, false);
      const calls = toolCallParts(f, m.tool_calls, `${at}.tool_calls`);
      if (m.function_call !== undefined && m.function_call !== null) f.problem(`${at}.function_call`, "the deprecated function_call is not supported: use tool_calls");
      // An assistant turn with neither text nor calls is an empty answer, kept as empty text.
      return { role: Role.ASSISTANT, content: content.length + calls.length === 0 ? [{ part: { case: "text", value: "" } }] : [...content, ...calls] };
    }
    case "tool": {
      const toolCallId = f.string(m.tool_call_id, `${at}.tool_call_id`) ?? "";
      if (toolCallId === "") f.problem(`${at}.tool_call_id`, "a tool message needs the tool_call_id it answers");
      const text = textOf(contentParts(f, m.content ?? "", `${at}.content`, false));
      return { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId, content: text } } }] };
    }
    default:
      return undefined;
  }
}

function tools(f: Fields, body: JsonObject): { tools: MessageInitShape<typeof CompleteRequestSchema>["tools"]; names: string[] } {
  const list = f.array(body.tools, "tools") ?? [];
  const names: string[] = [];
  const out = list.flatMap((raw, i) => {
    const tool = f.object(raw, `tools[${i}]`);
    if (!tool) return [];
    if (tool.type !== "function") {
      f.problem(`tools[${i}].type`, 'only "function" tools are supported');
      return [];
    }
    const fn = f.object(tool.function, `tools[${i}].function`);
    const name = f.string(fn?.name, `tools[${i}].function.name`) ?? "";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) f.problem(`tools[${i}].function.name`, "1–64 letters, digits, _ or -");
    else if (names.includes(name)) f.problem(`tools[${i}].function.name`, `duplicate tool name ${quoted(name)}`);
    names.push(name);
    const parameters = f.object(fn?.parameters, `tools[${i}].function.parameters`);
    return [{ name, description: f.string(fn?.description, `tools[${i}].function.description`) ?? "", parameters: parameters as ProtoJsonObject | undefined }];
  });
  return { tools: out, names };
}

function toolChoice(f: Fields, value: unknown, names: string[]): MessageInitShape<typeof CompleteRequestSchema>["toolChoice"] {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") {
    const mode = f.oneOf(value, "tool_choice", ["auto", "none", "required"] as const);
    if (mode === "required" && names.length === 0) f.problem("tool_choice", '"required" needs at least one tool');
    return mode && { mode: { auto: ToolChoice_Mode.AUTO, none: ToolChoice_Mode.NONE, required: ToolChoice_Mode.REQUIRED }[mode] };
  }
  const choice = f.object(value, "tool_choice");
  const name = f.string(f.object(choice?.function, "tool_choice.function")?.name, "tool_choice.function.name") ?? "";
  if (!names.includes(name)) f.problem("tool_choice.function.name", `${quoted(name)} is not one of the request's tools (${names.join(", ") || "none"})`);
  return { mode: ToolChoice_Mode.TOOL, toolName: name };
}

function responseFormat(f: Fields, value: unknown): NonNullable<MessageInitShape<typeof CompleteRequestSchema>["generation"]>["responseFormat"] {
  const format = f.object(value, "response_format");
  if (!format) return undefined;
  const type = f.oneOf(format.type, "response_format.type", ["text", "json_object", "json_schema"] as const);
  if (type === "text" || type === undefined) return undefined;
  if (type === "json_object") return { type: ResponseFormat_Type.JSON_OBJECT };
  const schema = f.object(format.json_schema, "response_format.json_schema");
  if (!schema) f.problem("response_format.json_schema", "json_schema is required with type json_schema");
  const name = f.string(schema?.name, "response_format.json_schema.name") ?? "";
  if (schema && !/^[A-Za-z0-9_-]{1,64}$/.test(name)) f.problem("response_format.json_schema.name", "1–64 letters, digits, _ or -");
  return {
    type: ResponseFormat_Type.JSON_SCHEMA,
    name,
    jsonSchema: (f.object(schema?.schema, "response_format.json_schema.schema") ?? {}) as ProtoJsonObject,
    strict: f.boolean(schema?.strict, "response_format.json_schema.strict") ?? false,
    description: f.string(schema?.description, "response_format.json_schema.description") ?? "",
  };
}

function stop(f: Fields, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === "string" ? [value] : (f.array(value, "stop") ?? []);
  if (list.length > 4) f.problem("stop", "at most 4 stop sequences");
  return list.flatMap((s, i) => {
    const text = f.string(s, `stop[${i}]`);
    if (text === "") f.problem(`stop[${i}]`, "must not be empty");
    return text ? [text] : [];
  });
}

/** Parameters OpenAI has that no neutral target can honour: refused, never dropped, when set. */
function refuseUnsupported(f: Fields, body: JsonObject): void {
  f.unsupported(body.n, "n", (v) => v === 1, "only n = 1 is supported: the gateway returns one choice");
  f.unsupported(body.logprobs, "logprobs", (v) => v === false, "logprobs are not supported");
  f.unsupported(body.top_logprobs, "top_logprobs", (v) => v === 0, "logprobs are not supported");
  f.unsupported(body.logit_bias, "logit_bias", (v) => f.isObject(v) && Object.keys(v).length === 0, "logit_bias is not supported");
  f.unsupported(body.frequency_penalty, "frequency_penalty", (v) => v === 0, "frequency_penalty is not supported");
  f.unsupported(body.presence_penalty, "presence_penalty", (v) => v === 0, "presence_penalty is not supported");
  f.unsupported(body.audio, "audio", () => false, "audio output is not supported");
  f.unsupported(body.modalities, "modalities", (v) => Array.isArray(v) && v.every((m) => m === "text"), "only text output is supported");
  f.unsupported(body.prediction, "prediction", () => false, "predicted outputs are not supported");
  f.unsupported(body.functions, "functions", () => false, "the deprecated functions are not supported: use tools");
}

export function chatRequestFromOpenAI(raw: unknown): { value?: ChatRequest; problems: FieldViolation[] } {
  const f = new Fields();
  const body = f.object(raw, "body");
  if (!body) return { problems: f.problems.length > 0 ? f.problems : [{ field: "body", description: "a JSON object is required" }] };
  const model = f.string(body.model, "model") ?? "";
  if (model === "") f.problem("model", "a model alias is required");
  const rawMessages = f.array(body.messages, "messages");
  if (!rawMessages || rawMessages.length === 0) f.problem("messages", "at least one message is required");
  const messages = (rawMessages ?? []).flatMap((m, i) => message(f, m, `messages[${i}]`) ?? []);
  const { tools: toolList, names } = tools(f, body);
  const choice = toolChoice(f, body.tool_choice, names);
  const maxField = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
  const maxTokens = f.integer(body[maxField], maxField);
  if (maxTokens !== undefined && (maxTokens <= 0 || maxTokens > 2 ** 31 - 1)) f.problem(maxField, "must be a positive 32-bit integer");
  const temperature = f.number(body.temperature, "temperature");
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 2)) f.problem("temperature", "must be between 0 and 2");
  const topP = f.number(body.top_p, "top_p");
  if (topP !== undefined && !(topP > 0 && topP <= 1)) f.problem("top_p", "must be in (0, 1]");
  const seed = f.integer(body.seed, "seed");
  const stream = f.boolean(body.stream, "stream") ?? false;
  const streamOptions = f.object(body.stream_options, "stream_options");
  const includeUsage = f.boolean(streamOptions?.include_usage, "stream_options.include_usage") ?? false;
  const generation = {
    maxOutputTokens: maxTokens,
    temperature,
    topP,
    stopSequences: stop(f, body.stop),
    seed: seed === undefined ? undefined : BigInt(seed),
    responseFormat: responseFormat(f, body.response_format),
  };
  const metadata = f.stringMap(body.metadata, "metadata");
  refuseUnsupported(f, body);
  if (f.problems.length > 0) return { problems: f.problems };
  // An empty GenerationConfig is left unset, as a gRPC caller would: the audit hash is of the encoding.
  const hasGeneration = Object.values(generation).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
  const request = create(CompleteRequestSchema, { model, messages, generation: hasGeneration ? generation : undefined, tools: toolList, toolChoice: choice, metadata });
  return { value: { request, stream, includeUsage }, problems: [] };
}
