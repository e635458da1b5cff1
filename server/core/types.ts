// The gateway's provider-neutral values. The RPC layer converts generated Protobuf messages to
// and from these; routing and provider adapters only ever see these.

export type Role = "system" | "user" | "assistant" | "tool";

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "error" | "unspecified";

export type ImagePart = { type: "image"; mimeType: string; data?: Uint8Array; url?: string };
export type ToolCallPart = {
  type: "tool_call";
  id: string;
  name: string;
  argumentsJson: string;
  /** Opaque provider state to echo back with the call (Gemini thought signatures). */
  providerState?: string;
};
export type ToolResultPart = {
  type: "tool_result";
  toolCallId: string;
  content: string;
  isError: boolean;
  /** The called tool's name; the RPC layer fills it from the matching call when the caller omits it. */
  name: string;
};
export type TextPart = { type: "text"; text: string };
export type ContentPart = TextPart | ImagePart | ToolCallPart | ToolResultPart;

export type ChatMessage = { role: Role; content: ContentPart[] };

export type ToolDefinition = { name: string; description: string; parameters: Record<string, unknown> };

export type ToolChoice =
  | { mode: "auto" }
  | { mode: "none" }
  | { mode: "required" }
  | { mode: "tool"; name: string };

/** JSON mode, or JSON that must match a schema. Free text is its absence. */
export type ResponseFormat =
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: Record<string, unknown>; strict: boolean; description?: string };

export type GenerationOptions = {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences: string[];
  seed?: number;
  responseFormat?: ResponseFormat;
};

export type CompletionRequest = {
  alias: string;
  messages: ChatMessage[];
  generation: GenerationOptions;
  tools: ToolDefinition[];
  toolChoice?: ToolChoice;
  metadata: Record<string, string>;
};

/**
 * Token counts in the neutral convention, whatever the provider's: `inputTokens` counts every input
 * token (cache reads and writes included), `outputTokens` every output token (reasoning included).
 * The pricing buckets are disjoint: uncached = input − cache read − cache write (pricing.ts).
 */
export type TokenUsage = {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the prompt cache. */
  cachedInputTokens: number;
  /** Input tokens written to the prompt cache. */
  cacheWriteInputTokens: number;
  /** Output tokens spent reasoning; part of outputTokens. */
  reasoningTokens: number;
  /** True when the provider gave no counts and the gateway estimated them. */
  estimated: boolean;
};

export type Completion = {
  id: string;
  text: string;
  toolCalls: ToolCallPart[];
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The model version the provider reported, if any. */
  modelVersion?: string;
};

export type StreamEvent =
  | { type: "text"; text: string }
  | { type: "tool_call"; index: number; id?: string; name?: string; argumentsDelta: string; providerState?: string }
  | { type: "done"; id: string; finishReason: FinishReason; usage: TokenUsage; modelVersion?: string };

export type EmbeddingRequest = {
  alias: string;
  inputs: string[];
  dimensions?: number;
  metadata: Record<string, string>;
};

export type Embeddings = { vectors: number[][]; usage: TokenUsage; modelVersion?: string };

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false };
}
