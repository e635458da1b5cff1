// Generated request messages → neutral values, validating as it goes. Every violation is
// collected with the path of its field, so one INVALID_ARGUMENT tells the caller everything.
import {
  ResponseFormat_Type,
  Role as ProtoRole,
  ToolChoice_Mode,
  type CompleteRequest,
  type EmbedRequest,
  type Message as ProtoMessage,
} from "../../gen/switchboard/v1/inference_pb.js";
import type {
  ChatMessage,
  CompletionRequest,
  ContentPart,
  EmbeddingRequest,
  GenerationOptions,
  ResponseFormat,
  Role,
  ToolChoice,
  ToolDefinition,
} from "../core/types.js";
import { quoted } from "./bounds.js";

export type FieldViolation = { field: string; description: string };

const ROLES: Partial<Record<ProtoRole, Role>> = {
  [ProtoRole.SYSTEM]: "system",
  [ProtoRole.USER]: "user",
  [ProtoRole.ASSISTANT]: "assistant",
  [ProtoRole.TOOL]: "tool",
};

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

function convertMessage(message: ProtoMessage, at: string, problems: FieldViolation[], toolNames: Map<string, string>): ChatMessage {
  const role = ROLES[message.role];
  if (!role) {
    problems.push({
      field: `${at}.role`,
      description:
        message.role === ProtoRole.UNSPECIFIED
          ? "role is required (ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT or ROLE_TOOL)"
          : `unknown role ${message.role}`,
    });
  }
  if (message.content.length === 0) problems.push({ field: `${at}.content`, description: "at least one content part is required" });
  const content: ContentPart[] = [];
  message.content.forEach((part, j) => {
    const where = `${at}.content[${j}]`;
    const p = part.part;
    switch (p.case) {
      case "text":
        content.push({ type: "text", text: p.value });
        break;
      case "image": {
        const source = p.value.source;
        if (source.case === "data") {
          if (source.value.length === 0) problems.push({ field: `${where}.image.data`, description: "image data is empty" });
          if (!/^image\/[\w.+-]+$/.test(p.value.mimeType)) {
            problems.push({ field: `${where}.image.mime_type`, description: `expected an image MIME type such as image/png, got ${quoted(p.value.mimeType)}` });
          }
          content.push({ type: "image", mimeType: p.value.mimeType, data: source.value });
        } else if (source.case === "url") {
          if (!/^(https?:|data:image\/)/.test(source.value)) {
            problems.push({ field: `${where}.image.url`, description: "expected an http(s) or data: URL" });
          }
          content.push({ type: "image", mimeType: p.value.mimeType, url: source.value });
        } else {
          problems.push({ field: `${where}.image`, description: "an image needs data or url" });
        }
        break;
      }
      case "toolCall": {
        const call = p.value;
        if (!call.id) problems.push({ field: `${where}.tool_call.id`, description: "tool call id is required" });
        if (!call.name) problems.push({ field: `${where}.tool_call.name`, description: "tool name is required" });
        const args = call.argumentsJson === "" ? "{}" : call.argumentsJson;
        if (!isJsonObject(args)) problems.push({ field: `${where}.tool_call.arguments_json`, description: "must be a JSON object" });
        if (role !== "assistant") problems.push({ field: where, description: "tool calls belong in ROLE_ASSISTANT messages" });
        toolNames.set(call.id, call.name);
        content.push({ type: "tool_call", id: call.id, name: call.name, argumentsJson: args, providerState: call.providerState || undefined });
        break;
      }
      case "toolResult": {
        const result = p.value;
        if (!result.toolCallId) problems.push({ field: `${where}.tool_result.tool_call_id`, description: "tool_call_id is required" });
        if (role === "assistant" || role === "system") {
          problems.push({ field: where, description: "tool results belong in ROLE_TOOL or ROLE_USER messages" });
        }
        content.push({
          type: "tool_result",
          toolCallId: result.toolCallId,
          content: result.content,
          isError: result.isError,
          name: result.name || toolNames.get(result.toolCallId) || "",
        });
        break;
      }
      default:
        problems.push({ field: where, description: "empty content part: set text, image, tool_call or tool_result" });
    }
  });
  if (role === "system" && content.some((c) => c.type !== "text")) {
    problems.push({ field: `${at}.content`, description: "system messages may only hold text" });
  }
  return { role: role ?? "user", content };
}

function convertGeneration(request: CompleteRequest, problems: FieldViolation[]): GenerationOptions {
  const g = request.generation;
  if (!g) return { stopSequences: [] };
  if (g.maxOutputTokens !== undefined && g.maxOutputTokens <= 0) {
    problems.push({ field: "generation.max_output_tokens", description: "must be positive" });
  }
  if (g.temperature !== undefined && !(g.temperature >= 0 && g.temperature <= 2)) {
    problems.push({ field: "generation.temperature", description: "must be between 0 and 2" });
  }
  if (g.topP !== undefined && !(g.topP > 0 && g.topP <= 1)) {
    problems.push({ field: "generation.top_p", description: "must be in (0, 1]" });
  }
  g.stopSequences.forEach((s, i) => {
    if (s === "") problems.push({ field: `generation.stop_sequences[${i}]`, description: "must not be empty" });
  });
  const seed = g.seed === undefined ? undefined : Number(g.seed);
  const responseFormat = convertResponseFormat(request, problems);
  return {
    maxOutputTokens: g.maxOutputTokens,
    temperature: g.temperature,
    topP: g.topP,
    stopSequences: g.stopSequences,
    seed: seed !== undefined && Number.isSafeInteger(seed) ? seed : undefined,
    ...(responseFormat ? { responseFormat } : {}),
  };
}

const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function convertResponseFormat(request: CompleteRequest, problems: FieldViolation[]): ResponseFormat | undefined {
  const format = request.generation?.responseFormat;
  if (!format) return undefined;
  switch (format.type) {
    case ResponseFormat_Type.UNSPECIFIED:
    case ResponseFormat_Type.TEXT:
      return undefined;
    case ResponseFormat_Type.JSON_OBJECT:
      return { type: "json_object" };
    case ResponseFormat_Type.JSON_SCHEMA:
      if (!SCHEMA_NAME.test(format.name)) {
        problems.push({ field: "generation.response_format.name", description: "a schema name of 1–64 letters, digits, _ or - is required" });
      }
      if (!format.jsonSchema) problems.push({ field: "generation.response_format.json_schema", description: "TYPE_JSON_SCHEMA needs a schema" });
      return {
        type: "json_schema",
        name: format.name,
        schema: format.jsonSchema ?? {},
        strict: format.strict,
        ...(format.description ? { description: format.description } : {}),
      };
    default:
      problems.push({ field: "generation.response_format.type", description: `unknown type ${format.type}` });
      return undefined;
  }
}

function convertTools(request: CompleteRequest, problems: FieldViolation[]): { tools: ToolDefinition[]; toolChoice?: ToolChoice } {
  const seen = new Set<string>();
  const tools = request.tools.map((tool, i) => {
    if (!TOOL_NAME.test(tool.name)) {
      problems.push({ field: `tools[${i}].name`, description: "1–64 letters, digits, _ or -" });
    } else if (seen.has(tool.name)) {
      problems.push({ field: `tools[${i}].name`, description: `duplicate tool name ${quoted(tool.name)}` });
    }
    seen.add(tool.name);
    return { name: tool.name, description: tool.description, parameters: tool.parameters ?? { type: "object", properties: {} } };
  });
  const choice = request.toolChoice;
  if (!choice || choice.mode === ToolChoice_Mode.UNSPECIFIED) return { tools };
  switch (choice.mode) {
    case ToolChoice_Mode.AUTO:
      return { tools, toolChoice: { mode: "auto" } };
    case ToolChoice_Mode.NONE:
      return { tools, toolChoice: { mode: "none" } };
    case ToolChoice_Mode.REQUIRED:
      if (tools.length === 0) problems.push({ field: "tool_choice", description: "MODE_REQUIRED needs at least one tool" });
      return { tools, toolChoice: { mode: "required" } };
    case ToolChoice_Mode.TOOL:
      if (!seen.has(choice.toolName)) {
        problems.push({
          field: "tool_choice.tool_name",
          description: `${quoted(choice.toolName)} is not one of the request's tools (${[...seen].join(", ") || "none"})`,
        });
      }
      return { tools, toolChoice: { mode: "tool", name: choice.toolName } };
    default:
      problems.push({ field: "tool_choice.mode", description: `unknown mode ${choice.mode}` });
      return { tools };
  }
}

export function completionRequestFromProto(request: CompleteRequest): { value: CompletionRequest; problems: FieldViolation[] } {
  const problems: FieldViolation[] = [];
  if (request.model === "") problems.push({ field: "model", description: "a model alias is required" });
  if (request.messages.length === 0) problems.push({ field: "messages", description: "at least one message is required" });
  const toolNames = new Map<string, string>();
  const messages = request.messages.map((m, i) => convertMessage(m, `messages[${i}]`, problems, toolNames));
  const generation = convertGeneration(request, problems);
  const { tools, toolChoice } = convertTools(request, problems);
  return {
    value: { alias: request.model, messages, generation, tools, toolChoice, metadata: request.metadata },
    problems,
  };
}

export function embeddingRequestFromProto(request: EmbedRequest): { value: EmbeddingRequest; problems: FieldViolation[] } {
  const problems: FieldViolation[] = [];
  if (request.model === "") problems.push({ field: "model", description: "a model alias is required" });
  if (request.inputs.length === 0) problems.push({ field: "inputs", description: "at least one input text is required" });
  request.inputs.forEach((text, i) => {
    if (text === "") problems.push({ field: `inputs[${i}]`, description: "must not be empty" });
  });
  if (request.dimensions !== undefined && request.dimensions <= 0) {
    problems.push({ field: "dimensions", description: "must be positive" });
  }
  return {
    value: { alias: request.model, inputs: request.inputs, dimensions: request.dimensions, metadata: request.metadata },
    problems,
  };
}
