// The Gemini generateContent wire format (Gemini API and Vertex AI share it): neutral values to the
// SDK's request parameters and the SDK's responses back. Plain functions; no I/O here.
import {
  FunctionCallingConfigMode,
  type Content,
  type FunctionCall,
  type GenerateContentConfig,
  type GenerateContentResponse,
  type GenerateContentResponseUsageMetadata,
  type Part,
  type ToolConfig,
} from "@google/genai";
import type { CompletionRequest, FinishReason, ImagePart, StreamEvent, ToolCallPart, ToolResultPart } from "../core/types.js";
import type { ReportedUsage, StreamDecoder, UpstreamCompletion, UpstreamDone } from "./runner.js";
import { appendTurn, base64, parseDataUrl, toolArgumentsObject, type Turn } from "./wire-common.js";

export type GeminiRequest = { contents: Content[]; config: GenerateContentConfig };

const IMAGE_TYPES_BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

function imageToPart(image: ImagePart): Part {
  if (image.data) return { inlineData: { mimeType: image.mimeType, data: base64(image.data) } };
  const url = image.url ?? "";
  const inline = parseDataUrl(url);
  if (inline) return { inlineData: { mimeType: inline.mimeType, data: inline.base64 } };
  // fileData needs a MIME type and callers may send a bare URL: infer it from the extension.
  const extension = /\.([A-Za-z0-9]+)(?:[?#].*)?$/.exec(url)?.[1]?.toLowerCase() ?? "";
  const mimeType = image.mimeType || IMAGE_TYPES_BY_EXTENSION[extension] || "image/jpeg";
  return { fileData: { mimeType, fileUri: url } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** functionResponse.response must be a JSON object: JSON objects pass through, anything else is wrapped. */
export function toolResultResponse(result: ToolResultPart): Record<string, unknown> {
  let value: unknown = result.content;
  try {
    value = JSON.parse(result.content);
  } catch {
    // plain-text tool output stays a string
  }
  if (result.isError) return { error: value };
  return isPlainObject(value) ? value : { result: value };
}

function toParts(provider: string, request: CompletionRequest["messages"][number]): Part[] {
  const parts: Part[] = [];
  for (const part of request.content) {
    if (part.type === "text") parts.push({ text: part.text });
    else if (part.type === "image") parts.push(imageToPart(part));
    else if (part.type === "tool_call") {
      parts.push({
        functionCall: { id: part.id || undefined, name: part.name, args: toolArgumentsObject(provider, part) },
        ...(part.providerState ? { thoughtSignature: part.providerState } : {}),
      });
    } else {
      parts.push({
        functionResponse: { id: part.toolCallId || undefined, name: part.name, response: toolResultResponse(part) },
      });
    }
  }
  return parts;
}

function toToolConfig(request: CompletionRequest): ToolConfig | undefined {
  const choice = request.toolChoice;
  if (!choice) return undefined;
  switch (choice.mode) {
    case "auto":
      return { functionCallingConfig: { mode: FunctionCallingConfigMode.AUTO } };
    case "none":
      return { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } };
    case "required":
      return { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } };
    case "tool":
      return { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: [choice.name] } };
  }
}

export function buildGeminiRequest(provider: string, request: CompletionRequest, abortSignal: AbortSignal): GeminiRequest {
  const system: string[] = [];
  const turns: Turn<"user" | "model", Part>[] = [];
  for (const message of request.messages) {
    if (message.role === "system") {
      system.push(...message.content.flatMap((p) => (p.type === "text" ? [p.text] : [])));
      continue;
    }
    const role = message.role === "assistant" ? "model" : "user";
    // Gemini expects turns to alternate; a tool message followed by a user message is one user turn.
    appendTurn(turns, role, toParts(provider, message));
  }
  const contents: Content[] = turns.map((t) => ({ role: t.role, parts: t.blocks }));

  const g = request.generation;
  const config: GenerateContentConfig = {
    abortSignal,
    // The gateway owns retries and reconnects: never let the SDK resume a stream on its own.
    automaticContinuation: false,
  };
  if (system.length > 0) config.systemInstruction = { parts: [{ text: system.join("\n") }] };
  if (g.maxOutputTokens !== undefined) config.maxOutputTokens = g.maxOutputTokens;
  if (g.temperature !== undefined) config.temperature = g.temperature;
  if (g.topP !== undefined) config.topP = g.topP;
  if (g.stopSequences.length > 0) config.stopSequences = g.stopSequences;
  if (g.seed !== undefined) config.seed = g.seed;
  if (g.responseFormat !== undefined) config.responseMimeType = "application/json";
  if (g.responseFormat?.type === "json_schema") config.responseJsonSchema = g.responseFormat.schema;
  if (request.tools.length > 0) {
    config.tools = [
      {
        functionDeclarations: request.tools.map((t) => ({
          name: t.name,
          description: t.description || undefined,
          parametersJsonSchema: t.parameters,
        })),
      },
    ];
  }
  const toolConfig = toToolConfig(request);
  if (toolConfig) config.toolConfig = toolConfig;
  return { contents, config };
}

const CONTENT_FILTER_REASONS = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

const ERROR_REASONS = new Set([
  "MALFORMED_FUNCTION_CALL",
  "UNEXPECTED_TOOL_CALL",
  "TOO_MANY_TOOL_CALLS",
  "LANGUAGE",
  "OTHER",
  "NO_IMAGE",
  "IMAGE_OTHER",
]);

/** Gemini reports STOP when it calls functions; the calls themselves say it was a tool turn. */
export function finishFromGemini(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (reason === undefined || reason === "FINISH_REASON_UNSPECIFIED") return hasToolCalls ? "tool_calls" : "unspecified";
  if (reason === "MAX_TOKENS") return "length";
  if (CONTENT_FILTER_REASONS.has(reason)) return "content_filter";
  if (ERROR_REASONS.has(reason)) return "error";
  return hasToolCalls ? "tool_calls" : "stop";
}

/**
 * Gemini's promptTokenCount includes cachedContentTokenCount (a cache read; creating a cache is a
 * separate call, so a generation writes none). thoughtsTokenCount is reported apart from
 * candidatesTokenCount (totalTokenCount sums them) and is billed as output, so it counts into
 * outputTokens.
 */
export function usageFromGemini(usage: GenerateContentResponseUsageMetadata | undefined): ReportedUsage | undefined {
  if (!usage || (usage.promptTokenCount === undefined && usage.candidatesTokenCount === undefined)) return undefined;
  const reasoning = usage.thoughtsTokenCount ?? 0;
  return {
    inputTokens: (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0),
    outputTokens: (usage.candidatesTokenCount ?? 0) + reasoning,
    cachedInputTokens: usage.cachedContentTokenCount ?? 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: reasoning,
  };
}

/**
 * Gemini function calls often carry no id; a positional id lets the caller match its result.
 * Gemini 3 signs its calls (thoughtSignature) and rejects a later turn that drops the signature,
 * so it travels to the caller as opaque provider state and comes back with the call.
 */
function toolCallFrom(part: Part, index: number): ToolCallPart {
  const call = part.functionCall as FunctionCall;
  return {
    type: "tool_call",
    id: call.id || `call_${index}`,
    name: call.name ?? "",
    argumentsJson: JSON.stringify(call.args ?? {}),
    ...(part.thoughtSignature ? { providerState: part.thoughtSignature } : {}),
  };
}

/** Visible parts of the first candidate (thought summaries are not part of the answer). */
function answerParts(response: GenerateContentResponse): Part[] {
  return (response.candidates?.[0]?.content?.parts ?? []).filter((p) => !p.thought);
}

export function isBlockedPrompt(response: GenerateContentResponse): boolean {
  return Boolean(response.promptFeedback?.blockReason) && !response.candidates?.length;
}

/** False for a 200 body that is neither an answer nor a blocked prompt. */
export function isGenerateContentResponse(response: unknown): response is GenerateContentResponse {
  if (!isPlainObject(response)) return false;
  const { candidates, promptFeedback } = response as { candidates?: unknown; promptFeedback?: { blockReason?: unknown } };
  return Array.isArray(candidates) ? candidates.length > 0 : Boolean(promptFeedback?.blockReason);
}

export function completionFromGemini(response: GenerateContentResponse): UpstreamCompletion {
  const parts = answerParts(response);
  const text = parts.map((p) => p.text ?? "").join("");
  const toolCalls = parts.filter((p) => p.functionCall).map(toolCallFrom);
  const finishReason = isBlockedPrompt(response)
    ? "content_filter"
    : finishFromGemini(response.candidates?.[0]?.finishReason, toolCalls.length > 0);
  return {
    id: response.responseId ?? "",
    text,
    toolCalls,
    finishReason,
    usage: usageFromGemini(response.usageMetadata),
    modelVersion: response.modelVersion || undefined,
  };
}

/**
 * Turns streamed GenerateContentResponse chunks into neutral events. usageMetadata on each chunk
 * is a running total, so the latest one wins; function calls arrive whole, one event each.
 */
export class GeminiStreamDecoder implements StreamDecoder<GenerateContentResponse> {
  private id = "";
  private model: string | undefined;
  private usage: ReportedUsage | undefined;
  private finishReason: FinishReason | undefined;
  private toolCalls = 0;

  /** Whether the upstream said the answer is over (a finish reason or a blocked prompt). */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  push(chunk: GenerateContentResponse): StreamEvent[] {
    const events: StreamEvent[] = [];
    if (chunk.responseId) this.id = chunk.responseId;
    if (chunk.modelVersion) this.model = chunk.modelVersion;
    this.usage = usageFromGemini(chunk.usageMetadata) ?? this.usage;
    if (isBlockedPrompt(chunk)) {
      this.finishReason = "content_filter";
      return events;
    }
    for (const part of answerParts(chunk)) {
      if (part.text) events.push({ type: "text", text: part.text });
      if (part.functionCall) {
        const index = this.toolCalls++;
        const call = toolCallFrom(part, index);
        const { id, name, argumentsJson, providerState } = call;
        events.push({ type: "tool_call", index, id, name, argumentsDelta: argumentsJson, ...(providerState ? { providerState } : {}) });
      }
    }
    const reason = chunk.candidates?.[0]?.finishReason;
    if (reason) this.finishReason = finishFromGemini(reason, this.toolCalls > 0);
    return events;
  }

  finish(): UpstreamDone {
    return { type: "done", id: this.id, finishReason: this.finishReason ?? "unspecified", usage: this.usage, modelVersion: this.model };
  }
}
