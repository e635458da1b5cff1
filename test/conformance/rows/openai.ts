// Conformance rows for the OpenAI wire: the `openai` adapter, and `openai-compatible` against a
// server that omits usage (so it is estimated and marked so).
import { startOpenAIFake } from "../../fakes/openai.js";
import type { RecordedRequest } from "../../fakes/server.js";
import type { AdapterRow, SentRequest } from "../adapter-row.js";

type WireMessage = { role: string; content: unknown; tool_call_id?: string };
type WireBody = {
  messages?: WireMessage[];
  max_completion_tokens?: number;
  max_tokens?: number;
  stop?: string[];
  tools?: { function: { name: string } }[];
  stream?: boolean;
};

export function inspectOpenAI(request: RecordedRequest): SentRequest {
  const body = (request.body ?? {}) as WireBody;
  const messages = body.messages ?? [];
  const parts = messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as { type: string }[]) : []));
  return {
    system: messages
      .filter((m) => m.role === "system")
      .map((m) => String(m.content))
      .join("\n"),
    turns: messages.filter((m) => m.role !== "system").length,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    stopSequences: body.stop ?? [],
    images: parts.filter((p) => p.type === "image_url").length,
    toolResults: messages.filter((m) => m.role === "tool").map((m) => String(m.content)),
    toolNames: (body.tools ?? []).map((t) => t.function.name),
    stream: body.stream === true,
    authenticated: typeof request.headers.authorization === "string",
  };
}

export const openaiRow: AdapterRow = {
  name: "openai",
  startFake: () => startOpenAIFake(),
  providerConfig: (fake) => ({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-conformance-openai-0001" }),
  model: "gpt-4o-mini",
  embeddingModel: "text-embedding-3-small",
  inspect: inspectOpenAI,
  reportsRetryDelay: true,
  unsupported: {},
};

export const openaiCompatibleRow: AdapterRow = {
  name: "openai-compatible",
  startFake: () => startOpenAIFake({ omitUsage: true }),
  providerConfig: (fake) => ({
    type: "openai-compatible",
    base_url: `${fake.url}/v1`,
    headers: { "x-tenant": "conformance" },
  }),
  model: "meta-llama/Llama-3.1-8B-Instruct",
  embeddingModel: "BAAI/bge-small-en",
  inspect: inspectOpenAI,
  estimatesUsage: true,
  reportsRetryDelay: true,
  unsupported: {},
};
