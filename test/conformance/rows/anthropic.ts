// Conformance row for the Anthropic Messages API adapter, read back from the Messages wire body.
import { Code } from "@connectrpc/connect";
import { startAnthropicFake } from "../../fakes/anthropic.js";
import type { RecordedRequest } from "../../fakes/server.js";
import type { AdapterRow, SentRequest } from "../adapter-row.js";

type WireBlock = { type: string; text?: string; content?: string | WireBlock[] };
type WireBody = {
  system?: string | WireBlock[];
  messages?: { role: string; content: string | WireBlock[] }[];
  max_tokens?: number;
  stop_sequences?: string[];
  tools?: { name: string }[];
  stream?: boolean;
};

function textOf(content: string | WireBlock[] | undefined): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content.map((b) => (b.type === "text" ? (b.text ?? "") : "")).join("");
}

export function inspectAnthropic(request: RecordedRequest): SentRequest {
  const body = (request.body ?? {}) as WireBody;
  const messages = body.messages ?? [];
  const blocks = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
  return {
    system: Array.isArray(body.system) ? body.system.map((b) => b.text ?? "").join("\n") : (body.system ?? ""),
    turns: messages.filter((m) => m.role !== "system").length,
    maxTokens: body.max_tokens,
    stopSequences: body.stop_sequences ?? [],
    images: blocks.filter((b) => b.type === "image").length,
    toolResults: blocks.filter((b) => b.type === "tool_result").map((b) => textOf(b.content)),
    toolNames: (body.tools ?? []).map((t) => t.name),
    stream: body.stream === true,
    authenticated: typeof request.headers["x-api-key"] === "string" || typeof request.headers.authorization === "string",
  };
}

export const anthropicRow: AdapterRow = {
  name: "anthropic",
  startFake: () => startAnthropicFake(),
  providerConfig: (fake) => ({ type: "anthropic", base_url: fake.url, api_key: "sk-ant-conformance-0001" }),
  model: "claude-haiku-4-5",
  inspect: inspectAnthropic,
  reportsRetryDelay: true,
  unsupported: {
    embeddings: {
      reason: "Anthropic has no embeddings API (its docs point to third-party providers such as Voyage AI)",
      outcome: { code: Code.Unimplemented, message: /provider "upstream" \(anthropic\) has no embeddings API/ },
    },
  },
};
