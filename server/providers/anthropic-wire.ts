// The Anthropic Messages wire format (API version 2026-10-21): neutral values to Messages request
// bodies, and Messages answers and stream events back. Plain functions; no I/O here.
import type {
  ContentBlockParam,
  ImageBlockParam,
  Message,
  MessageCreateParamsNonStreaming,
  MessageParam,
  RawMessageStreamEvent,
  StopReason,
  ToolChoice as WireToolChoice,
  Base64ImageSource,
} from "@anthropic-ai/sdk/resources/messages";
import type { CompletionRequest, FinishReason, ImagePart, StreamEvent, ToolCallPart } from "../core/types.js";
import type { ReportedUsage, StreamDecoder, UpstreamCompletion, UpstreamDone } from "./runner.js";
import { appendTurn, base64, parseDataUrl, rejectResponseFormat, toolArgumentsObject, type Turn } from "./wire-common.js";

/**
 * Anthropic requires max_tokens; the neutral request leaves it optional. 4096 is within the output
 * limit of every current Claude model, and it keeps a non-streaming call under the SDK's "streaming
 * is required" threshold (a call expected to run past ten minutes).
 */
export const DEFAULT_MAX_TOKENS = 4096;

type WireBody = MessageCreateParamsNonStreaming;
type WireUsage = {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
};

function imageBlock(part: ImagePart): ImageBlockParam {
  // The API's url source fetches http(s) only: a data: URL travels as inline base64.
  const dataUrl = part.url ? parseDataUrl(part.url) : undefined;
  if (part.url && !dataUrl) return { type: "image", source: { type: "url", url: part.url } };
  const mediaType = (dataUrl ? dataUrl.mimeType : part.mimeType) as Base64ImageSource["media_type"];
  const data = dataUrl ? dataUrl.base64 : base64(part.data ?? new Uint8Array());
  return { type: "image", source: { type: "base64", media_type: mediaType, data } };
}

/** System text goes to the top-level `system`; tool results become `tool_result` blocks of a user turn. */
function toWireMessages(request: CompletionRequest, provider: string): { system: string; messages: MessageParam[] } {
  const system: string[] = [];
  const turns: Turn<"user" | "assistant", ContentBlockParam>[] = [];
  for (const message of request.messages) {
    if (message.role === "system") {
      for (const part of message.content) if (part.type === "text") system.push(part.text);
      continue;
    }
    const role = message.role === "assistant" ? "assistant" : "user";
    const blocks: ContentBlockParam[] = [];
    for (const part of message.content) {
      if (part.type === "text") {
        // The API rejects empty text blocks.
        if (part.text !== "") blocks.push({ type: "text", text: part.text });
      } else if (part.type === "image") {
        blocks.push(imageBlock(part));
      } else if (part.type === "tool_call") {
        blocks.push({ type: "tool_use", id: part.id, name: part.name, input: toolArgumentsObject(provider, part) });
      } else {
        blocks.push({
          type: "tool_result",
          tool_use_id: part.toolCallId,
          content: part.content,
          ...(part.isError ? { is_error: true } : {}),
        });
      }
    }
    // Consecutive turns of one role are one turn to the API; merging keeps every tool_result of a
    // parallel call in the user turn right after the assistant's tool_use blocks.
    appendTurn(turns, role, blocks);
  }
  return { system: system.join("\n"), messages: turns.map((t) => ({ role: t.role, content: t.blocks })) };
}

function toWireToolChoice(request: CompletionRequest): WireToolChoice | undefined {
  const choice = request.toolChoice;
  if (!choice) return undefined;
  if (choice.mode === "required") return { type: "any" };
  if (choice.mode === "tool") return { type: "tool", name: choice.name };
  return { type: choice.mode };
}

/**
 * The Messages body. temperature and top_p are deliberately not sent: API version 2026-10-21 (the
 * one SDK 1.x speaks) rejects temperature, top_p and top_k with a 400 "Extra inputs are not
 * permitted" even at their defaults, and the SDK's request types no longer carry them. Sending them
 * would fail every call that sets them; Anthropic has no seed either. The adapter tests pin this.
 */
export function buildMessagesBody(request: CompletionRequest, model: string, provider: string): WireBody {
  rejectResponseFormat(provider, "anthropic", request);
  const g = request.generation;
  const { system, messages } = toWireMessages(request, provider);
  const body: WireBody = { model, max_tokens: g.maxOutputTokens ?? DEFAULT_MAX_TOKENS, messages };
  if (system !== "") body.system = system;
  if (g.stopSequences.length > 0) body.stop_sequences = g.stopSequences;
  if (request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      input_schema: { type: "object" as const, ...t.parameters },
    }));
  }
  const toolChoice = toWireToolChoice(request);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  return body;
}

export function finishFromAnthropic(reason: StopReason | string | null | undefined): FinishReason {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
    // A paused server-tool turn ended normally from the caller's point of view.
    case "pause_turn":
      return "stop";
    case "max_tokens":
    // The output was cut because the context window filled up: a truncation, like max_tokens.
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return "unspecified";
    default:
      return "stop";
  }
}

/**
 * Anthropic's input_tokens excludes cache reads and writes; the neutral inputTokens includes them.
 * output_tokens includes the thinking_tokens.
 */
export function usageFromAnthropic(usage: WireUsage): ReportedUsage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + cacheRead + cacheWrite,
    outputTokens: usage.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheWrite,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
  };
}

export function completionFromMessage(message: Message): UpstreamCompletion {
  let text = "";
  const toolCalls: ToolCallPart[] = [];
  for (const block of message.content) {
    if (block.type === "text") text += block.text;
    else if (block.type === "tool_use") {
      toolCalls.push({ type: "tool_call", id: block.id, name: block.name, argumentsJson: JSON.stringify(block.input ?? {}) });
    }
  }
  return {
    id: message.id ?? "",
    text,
    toolCalls,
    finishReason: finishFromAnthropic(message.stop_reason),
    usage: usageFromAnthropic(message.usage ?? {}),
    modelVersion: message.model || undefined,
  };
}

/**
 * Turns Messages stream events into neutral events. Tool-call indexes are the tool call's ordinal
 * in the answer, not the content block index (text and thinking blocks take block indexes too).
 */
export class MessagesStreamDecoder implements StreamDecoder<RawMessageStreamEvent> {
  private id = "";
  private model: string | undefined;
  private usage: WireUsage = {};
  private stopReason: string | null = null;
  private stopped = false;
  private readonly toolOrdinals = new Map<number, { ordinal: number; argumentsSeen: boolean }>();

  push(event: RawMessageStreamEvent): StreamEvent[] {
    switch (event.type) {
      case "message_start":
        this.id = event.message.id ?? "";
        this.model = event.message.model || undefined;
        this.usage = { ...event.message.usage };
        return [];
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "text") return block.text ? [{ type: "text", text: block.text }] : [];
        if (block.type !== "tool_use") return [];
        const ordinal = this.toolOrdinals.size;
        this.toolOrdinals.set(event.index, { ordinal, argumentsSeen: false });
        return [{ type: "tool_call", index: ordinal, id: block.id, name: block.name, argumentsDelta: "" }];
      }
      case "content_block_delta": {
        const delta = event.delta;
        if (delta.type === "text_delta") return delta.text ? [{ type: "text", text: delta.text }] : [];
        const tool = this.toolOrdinals.get(event.index);
        if (delta.type !== "input_json_delta" || !tool || delta.partial_json === "") return [];
        tool.argumentsSeen = true;
        return [{ type: "tool_call", index: tool.ordinal, argumentsDelta: delta.partial_json }];
      }
      case "content_block_stop": {
        // A tool called without arguments streams no JSON at all; the caller still gets an object.
        const tool = this.toolOrdinals.get(event.index);
        if (!tool || tool.argumentsSeen) return [];
        tool.argumentsSeen = true;
        return [{ type: "tool_call", index: tool.ordinal, argumentsDelta: "{}" }];
      }
      case "message_delta": {
        if (event.delta.stop_reason) this.stopReason = event.delta.stop_reason;
        // Counts here are cumulative: they replace the message_start ones, nulls excepted.
        for (const [key, value] of Object.entries(event.usage ?? {})) {
          if (value !== null && value !== undefined) Object.assign(this.usage, { [key]: value });
        }
        return [];
      }
      case "message_stop":
        this.stopped = true;
        return [];
      default:
        return [];
    }
  }

  /** True once the stream carried both a stop reason and its closing message_stop. */
  get finished(): boolean {
    return this.stopped && this.stopReason !== null;
  }

  finish(): UpstreamDone {
    return {
      type: "done",
      id: this.id,
      finishReason: finishFromAnthropic(this.stopReason),
      usage: usageFromAnthropic(this.usage),
      modelVersion: this.model,
    };
  }
}

