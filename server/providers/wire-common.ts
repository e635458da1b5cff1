// Wire helpers every translator shares, written once: bytes as base64 and data URLs, tool-call
// arguments as JSON objects, and same-role turn merging. Plain functions; no I/O.
import { UpstreamError } from "../core/errors.js";
import type { CompletionRequest, ToolCallPart } from "../core/types.js";

/** For wires with no JSON mode: a response_format is refused, naming the field, never dropped silently. */
export function rejectResponseFormat(provider: string, api: string, request: CompletionRequest): void {
  if (request.generation.responseFormat === undefined) return;
  throw new UpstreamError("invalid_request", provider, `provider "${provider}" (${api}) has no JSON mode: response_format is not supported`, {
    field: "generation.response_format",
  });
}

export function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

/** `data:<type>;base64,<data>` split into its MIME type and base64 payload, or undefined for any other URL. */
export function parseDataUrl(url: string): { mimeType: string; base64: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mimeType: match[1], base64: match[2] } : undefined;
}

export function toDataUrl(mimeType: string, data: Uint8Array): string {
  return `data:${mimeType};base64,${base64(data)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// Tool-call arguments are a JSON object encoded as a string (the API's contract, which the RPC
// layer enforces on callers). One behaviour, in both directions:
// - to an upstream whose wire takes an object (Anthropic, Gemini, Bedrock): empty arguments are
//   `{}`, a JSON object passes through, anything else is invalid_request (never sent as `{}`);
// - from an upstream (OpenAI's wire carries a string the model wrote): empty arguments become
//   `{}`; arguments that are not a JSON object make the answer malformed (UNAVAILABLE, retried or
//   failed over like any unparseable answer), unless the answer was cut by its token limit
//   (FINISH_REASON_LENGTH), whose truncated arguments travel as they came so the caller sees why.

/** Arguments for a wire that takes a JSON object; throws invalid_request for anything else. */
export function toolArgumentsObject(provider: string, call: ToolCallPart): Record<string, unknown> {
  if (call.argumentsJson.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(call.argumentsJson);
  } catch {
    value = undefined;
  }
  if (!isPlainObject(value)) {
    throw new UpstreamError(
      "invalid_request",
      provider,
      `provider "${provider}" needs the arguments of tool call "${call.id}" as a JSON object`,
    );
  }
  return value;
}

/** Whether an upstream's arguments text is a JSON object (the API's contract for arguments_json). */
export function isJsonObjectText(text: string): boolean {
  try {
    return isPlainObject(JSON.parse(text));
  } catch {
    return false;
  }
}

export function malformedArguments(provider: string, callId: string): UpstreamError {
  return new UpstreamError("malformed", provider, `provider "${provider}" answered tool call "${callId}" with arguments that are not a JSON object`);
}

/** A JSON value when `text` parses, else undefined (tool results may be plain text). */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type Turn<R, B> = { role: R; blocks: B[] };

/**
 * Appends a turn, merging it into the previous one when both have the same role. APIs that want
 * user and assistant turns to alternate (Anthropic, Gemini, Bedrock Converse) see consecutive
 * tool results and user text as one user turn; empty turns are dropped.
 */
export function appendTurn<R, B>(turns: Turn<R, B>[], role: R, blocks: B[]): void {
  if (blocks.length === 0) return;
  const previous = turns.at(-1);
  if (previous && previous.role === role) previous.blocks.push(...blocks);
  else turns.push({ role, blocks: [...blocks] });
}
