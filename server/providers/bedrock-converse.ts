// The Bedrock Converse wire format: one request and response shape for every model family on
// Bedrock. Plain functions from neutral values to the SDK's Converse input and back; no I/O here.
import type {
  ContentBlock,
  ConverseRequest,
  ConverseResponse,
  ConverseStreamOutput,
  ImageFormat,
  InferenceConfiguration,
  Message,
  SystemContentBlock,
  TokenUsage as BedrockUsage,
  ToolConfiguration,
  ToolResultContentBlock,
  ToolUseBlock,
} from "@aws-sdk/client-bedrock-runtime";
import { UpstreamError } from "../core/errors.js";
import type { CompletionRequest, FinishReason, ImagePart, StreamEvent, ToolCallPart, ToolResultPart } from "../core/types.js";
import type { ReportedUsage, StreamDecoder, UpstreamCompletion, UpstreamDone } from "./runner.js";
import { appendTurn, parseJsonOrUndefined, rejectResponseFormat, toolArgumentsObject, type Turn } from "./wire-common.js";

/** The part of a Converse request the gateway fills; ConverseStream takes the same fields. */
export type ConverseBody = Pick<ConverseRequest, "messages" | "system" | "inferenceConfig" | "toolConfig">;
type Json = NonNullable<ToolUseBlock["input"]>;

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

/** The format from the bytes themselves, for images sent without a MIME type. */
function sniffImageFormat(data: Uint8Array): ImageFormat | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...data.subarray(from, to));
  if (data[0] === 0x89 && ascii(1, 4) === "PNG") return "png";
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return "jpeg";
  if (ascii(0, 4) === "GIF8") return "gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  return undefined;
}

/** `at`: the part's request path (messages[i].content[j]), named when the image is refused. */
function imageBlock(provider: string, part: ImagePart, at: string): ContentBlock {
  if (part.url !== undefined) {
    if (part.url.startsWith("s3://")) {
      const format = IMAGE_FORMATS[part.mimeType.toLowerCase()];
      if (!format) {
        throw new UpstreamError("invalid_request", provider, `provider "${provider}": an S3 image needs its MIME type (png, jpeg, gif or webp)`, {
          field: `${at}.image.mime_type`,
        });
      }
      return { image: { format, source: { s3Location: { uri: part.url } } } };
    }
    // The gateway does not fetch URLs on a caller's behalf: that would make it an open proxy.
    throw new UpstreamError(
      "invalid_request",
      provider,
      `provider "${provider}" (Bedrock Converse) takes images as bytes or s3:// locations, not URLs; send the image data instead`,
      { field: `${at}.image.url` },
    );
  }
  const data = part.data ?? new Uint8Array();
  const format = IMAGE_FORMATS[part.mimeType.toLowerCase()] ?? (part.mimeType === "" ? sniffImageFormat(data) : undefined);
  if (!format) {
    throw new UpstreamError("invalid_request", provider, `provider "${provider}" (Bedrock) accepts png, jpeg, gif and webp images, not "${part.mimeType}"`, {
      field: `${at}.image.mime_type`,
    });
  }
  return { image: { format, source: { bytes: data } } };
}

function toolUseBlock(provider: string, call: ToolCallPart): ContentBlock {
  return { toolUse: { toolUseId: call.id, name: call.name, input: toolArgumentsObject(provider, call) as Json } };
}

function toolResultBlock(result: ToolResultPart): ContentBlock {
  const parsed = parseJsonOrUndefined(result.content);
  const isObject = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  const content: ToolResultContentBlock[] = isObject ? [{ json: parsed as Json }] : [{ text: result.content }];
  // `status` is only understood by some model families (Claude, Nova); "success" is what its
  // absence means, so it is sent only for errors.
  return { toolResult: { toolUseId: result.toolCallId, content, ...(result.isError ? { status: "error" as const } : {}) } };
}

function toBedrockMessages(provider: string, request: CompletionRequest): { system: SystemContentBlock[]; messages: Message[] } {
  const system: SystemContentBlock[] = [];
  const turns: Turn<"user" | "assistant", ContentBlock>[] = [];
  for (const [i, message] of request.messages.entries()) {
    if (message.role === "system") {
      for (const part of message.content) if (part.type === "text" && part.text !== "") system.push({ text: part.text });
      continue;
    }
    const role = message.role === "assistant" ? "assistant" : "user";
    const blocks: ContentBlock[] = [];
    for (const [j, part] of message.content.entries()) {
      if (part.type === "text" && part.text !== "") blocks.push({ text: part.text });
      else if (part.type === "image") blocks.push(imageBlock(provider, part, `messages[${i}].content[${j}]`));
      else if (part.type === "tool_call" && role === "assistant") blocks.push(toolUseBlock(provider, part));
      else if (part.type === "tool_result" && role === "user") blocks.push(toolResultBlock(part));
    }
    // Tool results travel in user turns; Converse wants user and assistant turns to alternate,
    // so consecutive turns of one role (several tool messages, say) become one.
    appendTurn(turns, role, blocks);
  }
  return { system, messages: turns.map((t): Message => ({ role: t.role, content: t.blocks })) };
}

function hasToolBlocks(messages: Message[]): boolean {
  return messages.some((m) => (m.content ?? []).some((b) => b.toolUse !== undefined || b.toolResult !== undefined));
}

/**
 * Converse has no "none" tool choice. Tools are then left out, unless the conversation already holds
 * tool blocks: Bedrock rejects those without a toolConfig, so the tools stay (with auto choice).
 */
function toolConfiguration(request: CompletionRequest, messages: Message[]): ToolConfiguration | undefined {
  if (request.tools.length === 0) return undefined;
  const choice = request.toolChoice;
  if (choice?.mode === "none" && !hasToolBlocks(messages)) return undefined;
  const tools = request.tools.map((t) => ({
    toolSpec: {
      name: t.name,
      description: t.description || undefined,
      // Bedrock needs a schema; a tool declared without parameters takes an empty object.
      inputSchema: { json: (Object.keys(t.parameters).length > 0 ? t.parameters : { type: "object", properties: {} }) as Json },
    },
  }));
  if (choice?.mode === "required") return { tools, toolChoice: { any: {} } };
  if (choice?.mode === "tool") return { tools, toolChoice: { tool: { name: choice.name } } };
  if (choice?.mode === "auto") return { tools, toolChoice: { auto: {} } };
  return { tools };
}

export function buildConverseBody(provider: string, request: CompletionRequest): ConverseBody {
  rejectResponseFormat(provider, "Bedrock Converse", request);
  const { system, messages } = toBedrockMessages(provider, request);
  const g = request.generation;
  const inference: InferenceConfiguration = {};
  if (g.maxOutputTokens !== undefined) inference.maxTokens = g.maxOutputTokens;
  if (g.temperature !== undefined) inference.temperature = g.temperature;
  if (g.topP !== undefined) inference.topP = g.topP;
  if (g.stopSequences.length > 0) inference.stopSequences = g.stopSequences;
  const toolConfig = toolConfiguration(request, messages);
  return {
    messages,
    ...(system.length > 0 ? { system } : {}),
    ...(Object.keys(inference).length > 0 ? { inferenceConfig: inference } : {}),
    ...(toolConfig ? { toolConfig } : {}),
  };
}

export function finishFromBedrock(reason: string | undefined): FinishReason {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "guardrail_intervened":
    case "content_filtered":
      return "content_filter";
    case "malformed_model_output":
    case "malformed_tool_use":
      return "error";
    case undefined:
      return "unspecified";
    default:
      return "stop";
  }
}

/** Bedrock counts cache reads and writes apart from inputTokens; the neutral count includes them. */
export function usageFromBedrock(usage: BedrockUsage | undefined): ReportedUsage | undefined {
  if (!usage) return undefined;
  const cacheRead = usage.cacheReadInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteInputTokens ?? 0;
  return {
    inputTokens: (usage.inputTokens ?? 0) + cacheRead + cacheWrite,
    outputTokens: usage.outputTokens ?? 0,
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheWrite,
    // Converse does not break reasoning out of outputTokens.
    reasoningTokens: 0,
  };
}

export function completionFromConverse(
  provider: string,
  response: ConverseResponse & { $metadata?: { requestId?: string } },
): UpstreamCompletion {
  const content = response.output?.message?.content;
  if (!Array.isArray(content)) throw new UpstreamError("malformed", provider, `provider "${provider}" answered without a message`);
  const text = content.map((b) => b.text ?? "").join("");
  const toolCalls: ToolCallPart[] = content.flatMap((b) =>
    b.toolUse
      ? [{ type: "tool_call" as const, id: b.toolUse.toolUseId ?? "", name: b.toolUse.name ?? "", argumentsJson: JSON.stringify(b.toolUse.input ?? {}) }]
      : [],
  );
  return {
    id: response.$metadata?.requestId ?? "",
    text,
    toolCalls,
    finishReason: finishFromBedrock(response.stopReason),
    usage: usageFromBedrock(response.usage),
    // Bedrock reports no model version.
    modelVersion: undefined,
  };
}

/**
 * Turns ConverseStream events into neutral stream events. Content blocks are numbered across text
 * and tool blocks; the neutral tool-call index counts tool calls only. The stop reason comes in
 * messageStop and the usage in the metadata event after it, so `done` is made by finish().
 */
export class ConverseStreamDecoder implements StreamDecoder<ConverseStreamOutput> {
  private stopReason: string | undefined;
  private usage: ReportedUsage | undefined;
  private readonly toolsByBlock = new Map<number, { index: number; call: ToolCallPart }>();

  constructor(private readonly id: string) {}

  get finished(): boolean {
    return this.stopReason !== undefined;
  }

  private tool(block: number): { index: number; call: ToolCallPart; isNew: boolean } {
    const known = this.toolsByBlock.get(block);
    if (known) return { ...known, isNew: false };
    const entry = { index: this.toolsByBlock.size, call: { type: "tool_call" as const, id: "", name: "", argumentsJson: "" } };
    this.toolsByBlock.set(block, entry);
    return { ...entry, isNew: true };
  }

  push(event: ConverseStreamOutput): StreamEvent[] {
    const block = event.contentBlockStart?.contentBlockIndex ?? event.contentBlockDelta?.contentBlockIndex ?? 0;
    const start = event.contentBlockStart?.start?.toolUse;
    if (start) {
      const { index, call } = this.tool(block);
      call.id = start.toolUseId ?? "";
      call.name = start.name ?? "";
      return [{ type: "tool_call", index, id: call.id, name: call.name, argumentsDelta: "" }];
    }
    const delta = event.contentBlockDelta?.delta;
    if (delta?.text) return [{ type: "text", text: delta.text }];
    if (delta?.toolUse) {
      const { index, call, isNew } = this.tool(block);
      const fragment = delta.toolUse.input ?? "";
      call.argumentsJson += fragment;
      return [{ type: "tool_call", index, ...(isNew ? { id: "", name: "" } : {}), argumentsDelta: fragment }];
    }
    if (event.messageStop) this.stopReason = event.messageStop.stopReason ?? "end_turn";
    if (event.metadata?.usage) this.usage = usageFromBedrock(event.metadata.usage);
    return [];
  }

  finish(): UpstreamDone {
    return { type: "done", id: this.id, finishReason: finishFromBedrock(this.stopReason), usage: this.usage };
  }
}
