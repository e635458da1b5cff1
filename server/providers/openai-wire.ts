// The OpenAI Chat Completions wire format, shared by every adapter that speaks it: OpenAI,
// OpenAI-compatible servers (vLLM, Ollama, TGI's OpenAI route) and SageMaker LMI/vLLM containers.
// Plain functions from neutral values to the wire body and back; no I/O here.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { CompletionRequest, FinishReason, StreamEvent, ToolCallPart } from "../core/types.js";
import type { ReportedUsage, StreamDecoder, UpstreamCompletion, UpstreamDone } from "./runner.js";
import { toDataUrl } from "./wire-common.js";

export type ChatBodyOptions = {
  /** OpenAI's current name is max_completion_tokens; most compatible servers still read max_tokens. */
  maxTokensField: "max_completion_tokens" | "max_tokens";
};

export type ChatBody = ChatCompletionCreateParamsNonStreaming;

function toWireMessages(request: CompletionRequest): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  for (const message of request.messages) {
    const text = message.content.filter((p) => p.type === "text").map((p) => p.text);
    if (message.role === "system") {
      out.push({ role: "system", content: text.join("\n") });
      continue;
    }
    if (message.role === "assistant") {
      const calls = message.content.filter((p): p is ToolCallPart => p.type === "tool_call");
      out.push({
        role: "assistant",
        content: text.length > 0 ? text.join("") : null,
        ...(calls.length > 0
          ? {
              tool_calls: calls.map((c) => ({
                id: c.id,
                type: "function" as const,
                function: { name: c.name, arguments: c.argumentsJson },
              })),
            }
          : {}),
      });
      continue;
    }
    // user and tool messages: tool results become role "tool" messages, the rest one user message.
    const parts: ChatCompletionContentPart[] = [];
    for (const part of message.content) {
      if (part.type === "tool_result") {
        out.push({ role: "tool", tool_call_id: part.toolCallId, content: part.content });
      } else if (part.type === "text") {
        parts.push({ type: "text", text: part.text });
      } else if (part.type === "image") {
        const url = part.url ?? toDataUrl(part.mimeType, part.data ?? new Uint8Array());
        parts.push({ type: "image_url", image_url: { url } });
      }
    }
    if (parts.length === 0) continue;
    const onlyText = parts.every((p) => p.type === "text");
    out.push({
      role: "user",
      content: onlyText ? parts.map((p) => (p as { text: string }).text).join("") : parts,
    });
  }
  return out;
}

function toWireToolChoice(request: CompletionRequest): ChatCompletionToolChoiceOption | undefined {
  const choice = request.toolChoice;
  if (!choice) return undefined;
  if (choice.mode === "tool") return { type: "function", function: { name: choice.name } };
  return choice.mode;
}

export function buildChatBody(request: CompletionRequest, model: string, options: ChatBodyOptions): ChatBody {
  const g = request.generation;
  const body: ChatBody = { model, messages: toWireMessages(request) };
  if (g.maxOutputTokens !== undefined) body[options.maxTokensField] = g.maxOutputTokens;
  if (g.temperature !== undefined) body.temperature = g.temperature;
  if (g.topP !== undefined) body.top_p = g.topP;
  if (g.stopSequences.length > 0) body.stop = g.stopSequences;
  if (g.seed !== undefined) body.seed = g.seed;
  const format = g.responseFormat;
  if (format?.type === "json_object") body.response_format = { type: "json_object" };
  if (format?.type === "json_schema") {
    const { name, schema, strict, description } = format;
    body.response_format = { type: "json_schema", json_schema: { name, schema, strict, ...(description ? { description } : {}) } };
  }
  if (request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: "function" as const,
      function: { name: t.name, description: t.description || undefined, parameters: t.parameters },
    }));
  }
  const toolChoice = toWireToolChoice(request);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  return body;
}

export function streamingChatBody(
  request: CompletionRequest,
  model: string,
  options: ChatBodyOptions,
): ChatCompletionCreateParamsStreaming {
  return { ...buildChatBody(request, model, options), stream: true, stream_options: { include_usage: true } };
}

export function finishFromOpenAI(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "tool_calls":
    case "function_call":
      return "tool_calls";
    case "content_filter":
      return "content_filter";
    case null:
    case undefined:
      return "unspecified";
    default:
      return "stop";
  }
}

/**
 * OpenAI's prompt_tokens includes the cached_tokens read from its cache (writes are not reported and
 * cost nothing extra); completion_tokens includes reasoning_tokens. Both are the neutral convention.
 */
export function usageFromOpenAI(usage: CompletionUsage | null | undefined): ReportedUsage | undefined {
  if (!usage) return undefined;
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

export function completionFromChat(response: ChatCompletion): UpstreamCompletion {
  const choice = response.choices?.[0];
  const message = choice?.message;
  const text = typeof message?.content === "string" ? message.content : "";
  const toolCalls: ToolCallPart[] = (message?.tool_calls ?? []).flatMap((call) =>
    call.type === "function"
      ? [{ type: "tool_call" as const, id: call.id, name: call.function.name, argumentsJson: call.function.arguments }]
      : [],
  );
  return {
    id: response.id ?? "",
    text,
    toolCalls,
    finishReason: finishFromOpenAI(choice?.finish_reason),
    usage: usageFromOpenAI(response.usage),
    modelVersion: response.model || undefined,
  };
}

/**
 * Turns a sequence of chat.completion.chunk objects into neutral stream events. The finish reason
 * and the usage come in different chunks (usage in a last chunk with no choices), so `done` is
 * produced by finish(), after the upstream stream ends.
 */
export class ChatStreamDecoder implements StreamDecoder<ChatCompletionChunk> {
  private id = "";
  private model: string | undefined;
  private finishReason: FinishReason = "unspecified";
  private usage: ReportedUsage | undefined;
  /** Tool-call indexes already announced (the first delta of a call carries its id and name). */
  private readonly toolCalls = new Set<number>();

  /** Whether a finish reason arrived: a stream without one was cut short. */
  get finished(): boolean {
    return this.finishReason !== "unspecified";
  }

  push(chunk: ChatCompletionChunk): StreamEvent[] {
    const events: StreamEvent[] = [];
    if (chunk.id) this.id = chunk.id;
    if (chunk.model) this.model = chunk.model;
    const usage = usageFromOpenAI(chunk.usage);
    if (usage) this.usage = usage;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (delta?.content) events.push({ type: "text", text: delta.content });
      for (const call of delta?.tool_calls ?? []) {
        const known = this.toolCalls.has(call.index);
        const fragment = call.function?.arguments ?? "";
        this.toolCalls.add(call.index);
        events.push({
          type: "tool_call",
          index: call.index,
          ...(known ? {} : { id: call.id ?? "", name: call.function?.name ?? "" }),
          argumentsDelta: fragment,
        });
      }
      if (choice.finish_reason) this.finishReason = finishFromOpenAI(choice.finish_reason);
    }
    return events;
  }

  finish(): UpstreamDone {
    return { type: "done", id: this.id, finishReason: this.finishReason, usage: this.usage, modelVersion: this.model };
  }
}
