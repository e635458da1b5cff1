// Conformance row for the `gemini` adapter (Gemini API, API-key mode) against the fake Gemini API.
import { startGeminiFake } from "../../fakes/gemini.js";
import type { RecordedRequest } from "../../fakes/server.js";
import type { AdapterRow, SentRequest } from "../adapter-row.js";

type WirePart = {
  text?: string;
  inlineData?: unknown;
  fileData?: unknown;
  functionResponse?: { response?: Record<string, unknown> };
};
type WireBody = {
  contents?: { role?: string; parts?: WirePart[] }[];
  systemInstruction?: { parts?: WirePart[] };
  generationConfig?: { maxOutputTokens?: number; stopSequences?: string[] };
  tools?: { functionDeclarations?: { name: string }[] }[];
};

/** The tool result as the caller gave it: plain results are wrapped as {result}, objects sent as they are. */
function toolResultText(response: Record<string, unknown> | undefined): string {
  if (response && Object.keys(response).length === 1 && "result" in response) {
    const result = response.result;
    return typeof result === "string" ? result : JSON.stringify(result);
  }
  return JSON.stringify(response ?? {});
}

export function inspectGemini(request: RecordedRequest): SentRequest {
  const body = (request.body ?? {}) as WireBody;
  const contents = body.contents ?? [];
  const parts = contents.flatMap((c) => c.parts ?? []);
  return {
    system: (body.systemInstruction?.parts ?? []).map((p) => p.text ?? "").join("\n"),
    turns: contents.length,
    maxTokens: body.generationConfig?.maxOutputTokens,
    stopSequences: body.generationConfig?.stopSequences ?? [],
    images: parts.filter((p) => p.inlineData !== undefined || p.fileData !== undefined).length,
    toolResults: parts.flatMap((p) => (p.functionResponse ? [toolResultText(p.functionResponse.response)] : [])),
    toolNames: (body.tools ?? []).flatMap((t) => (t.functionDeclarations ?? []).map((d) => d.name)),
    stream: request.path.endsWith(":streamGenerateContent"),
    authenticated: typeof request.headers["x-goog-api-key"] === "string",
  };
}

export const geminiRow: AdapterRow = {
  name: "gemini",
  startFake: () => startGeminiFake(),
  providerConfig: (fake) => ({ type: "gemini", base_url: fake.url, api_key: "AIzaSyConformanceGemini000000000000001" }),
  model: "gemini-2.0-flash",
  embeddingModel: "text-embedding-004",
  inspect: inspectGemini,
  reportsRetryDelay: true,
  unsupported: {},
};
