// Conformance row for Amazon Bedrock: the real AWS SDK (Converse, ConverseStream, InvokeModel) over
// HTTP/2 against the event-stream fake, with static credentials so SigV4 signing really happens.
import { startBedrockFake } from "../../fakes/bedrock.js";
import type { RecordedRequest } from "../../fakes/server.js";
import type { AdapterRow, SentRequest } from "../adapter-row.js";

type ToolResultContent = { json?: unknown; text?: string };
type WireBlock = { text?: string; image?: unknown; toolResult?: { content?: ToolResultContent[] } };
type WireBody = {
  messages?: { role: string; content?: WireBlock[] }[];
  system?: { text?: string }[];
  inferenceConfig?: { maxTokens?: number; stopSequences?: string[] };
  toolConfig?: { tools?: { toolSpec?: { name: string } }[] };
};

export function inspectBedrock(request: RecordedRequest): SentRequest {
  const body = (request.body ?? {}) as WireBody;
  const messages = body.messages ?? [];
  const blocks = messages.flatMap((m) => m.content ?? []);
  const authorization = request.headers.authorization;
  return {
    system: (body.system ?? []).map((b) => b.text ?? "").join("\n"),
    turns: messages.length,
    maxTokens: body.inferenceConfig?.maxTokens,
    stopSequences: body.inferenceConfig?.stopSequences ?? [],
    images: blocks.filter((b) => b.image !== undefined).length,
    toolResults: blocks.flatMap((b) =>
      b.toolResult ? [(b.toolResult.content ?? []).map((c) => (c.json !== undefined ? JSON.stringify(c.json) : (c.text ?? ""))).join("")] : [],
    ),
    toolNames: (body.toolConfig?.tools ?? []).flatMap((t) => (t.toolSpec ? [t.toolSpec.name] : [])),
    stream: request.path.endsWith("/converse-stream"),
    authenticated: typeof authorization === "string" && authorization.startsWith("AWS4-HMAC-SHA256 Credential=AKIA"),
  };
}

export const bedrockRow: AdapterRow = {
  name: "bedrock",
  startFake: () => startBedrockFake(),
  providerConfig: (fake) => ({
    type: "bedrock",
    region: "us-west-2",
    base_url: fake.url,
    access_key_id: "AKIACONFORMANCE00001",
    secret_access_key: "conformance/bedrock/secret/key/0000000001",
  }),
  model: "anthropic.claude-3-5-haiku-20241022-v1:0",
  embeddingModel: "amazon.titan-embed-text-v2:0",
  inspect: inspectBedrock,
  // Bedrock answers throttling with no retry-after header and no delay in the body.
  reportsRetryDelay: false,
  unsupported: {},
};
