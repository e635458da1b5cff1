// Wire helpers every translator shares, written once: bytes as base64 and data URLs, tool-call
// arguments as JSON objects, and same-role turn merging. Plain functions; no I/O.
import { UpstreamError } from "../core/errors.js";
import type { ToolCallPart } from "../core/types.js";

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

/**
 * A tool call's arguments for a wire that carries them as a JSON object (Anthropic, Gemini, Bedrock).
 * One behaviour for every such adapter: empty arguments are `{}`; a JSON object passes through;
 * anything else (invalid JSON — which a model may well have produced on an earlier turn — or a
 * JSON array or scalar) is rejected as invalid_request (INVALID_ARGUMENT, naming the call) before
 * any upstream request, rather than silently sent as `{}`: the gateway never drops caller data.
 * The other direction needs no parsing: arguments an upstream sends travel to the caller exactly
 * as sent (OpenAI's as its string, the others' objects as JSON).
 */
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
