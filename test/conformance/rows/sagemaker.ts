// Conformance rows for SageMaker endpoints: one behind an OpenAI-schema container (LMI / vLLM,
// which reports usage), one behind TGI's native `inputs` schema (usage estimated).
import { Code } from "@connectrpc/connect";
import { FinishReason } from "../../../gen/switchboard/v1/inference_pb.js";
import { startSageMakerFake } from "../../fakes/sagemaker.js";
import type { RecordedRequest } from "../../fakes/server.js";
import type { AdapterRow, SentRequest, Unsupported } from "../adapter-row.js";
import { inspectOpenAI } from "./openai.js";

type TgiBody = { inputs?: string; parameters?: { max_new_tokens?: number; stop?: string[] }; stream?: boolean };

const CREDENTIALS = { region: "us-west-2", access_key_id: "AKIACONFORMANCE00001", secret_access_key: "conformance-sagemaker-key-0001" };
const NO_EMBEDDINGS: Unsupported = {
  reason: "SageMaker containers share no embeddings schema over /invocations; the adapter offers none",
  outcome: { code: Code.Unimplemented, message: /provider "upstream" \(SageMaker\) does not offer embeddings/ },
};
const TGI_NO_TOOLS: Unsupported = {
  reason: "the TGI payload format is one prompt string with no tool definitions or calls (use payload_format openai)",
  outcome: { code: Code.InvalidArgument, message: /uses the TGI payload format, which cannot carry tools/ },
};

/** Reads the turns back out of the adapter's TGI prompt template (`<|role|>\n<text>\n`, then `<|assistant|>\n`). */
function tgiTurns(prompt: string): { role: string; text: string }[] {
  const pieces = prompt.split(/(?:^|\n)<\|(system|user|assistant|tool)\|>\n/);
  const turns: { role: string; text: string }[] = [];
  for (let i = 1; i < pieces.length; i += 2) turns.push({ role: pieces[i], text: pieces[i + 1] });
  return turns.slice(0, -1); // the open assistant turn the model completes
}

export function inspectTgi(request: RecordedRequest): SentRequest {
  const body = (request.body ?? {}) as TgiBody;
  const turns = tgiTurns(body.inputs ?? "");
  return {
    system: turns.filter((t) => t.role === "system").map((t) => t.text).join("\n"),
    turns: turns.filter((t) => t.role !== "system").length,
    maxTokens: body.parameters?.max_new_tokens,
    stopSequences: body.parameters?.stop ?? [],
    images: 0,
    toolResults: [],
    toolNames: [],
    stream: body.stream === true && request.path.endsWith("/invocations-response-stream"),
    authenticated: typeof request.headers.authorization === "string",
  };
}

export const sagemakerRow: AdapterRow = {
  name: "sagemaker",
  startFake: () => startSageMakerFake(),
  providerConfig: (fake) => ({ type: "sagemaker", base_url: fake.url, ...CREDENTIALS, payload_format: "openai" }),
  model: "llama-3-1-8b-lmi",
  inspect: inspectOpenAI,
  // SageMaker's ThrottlingException carries no retry delay.
  reportsRetryDelay: false,
  unsupported: { embeddings: NO_EMBEDDINGS },
};

export const sagemakerTgiRow: AdapterRow = {
  name: "sagemaker",
  label: "sagemaker-tgi",
  startFake: () => startSageMakerFake(),
  providerConfig: (fake) => ({ type: "sagemaker", base_url: fake.url, ...CREDENTIALS, payload_format: "tgi" }),
  model: "mistral-7b-tgi",
  inspect: inspectTgi,
  estimatesUsage: true,
  reportsRetryDelay: false,
  unsupported: {
    "tool call round trip": TGI_NO_TOOLS,
    "streaming tool-call deltas": TGI_NO_TOOLS,
    "image input": {
      reason: "the TGI payload format is one text prompt; images need TGI's Messages API (payload_format openai)",
      outcome: { code: Code.InvalidArgument, message: /uses the TGI payload format, which cannot carry images/ },
    },
    "content filter": {
      reason: "TGI has no content filter: its finish reasons are only length, eos_token and stop_sequence",
      outcome: { finishReason: FinishReason.STOP },
    },
    embeddings: NO_EMBEDDINGS,
  },
};
