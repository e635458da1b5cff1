// The contract's CompleteChunk stream → OpenAI chat.completion.chunk objects, one translator per
// call: the first chunk carries the assistant role, a tool call's first fragment its id, type and
// name (later fragments only its index and more arguments), Done the finish reason and — with
// stream_options.include_usage — a last chunk with no choices and the usage.
import { FinishReason, type CompleteChunk } from "../../gen/switchboard/v1/inference_pb.js";
import { finishToOpenAI, usageToOpenAI, type OpenAIFinishReason, type OpenAIUsage } from "./chat-response.js";

export type ToolCallDelta = { index: number; id?: string; type?: "function"; function: { name?: string; arguments: string } };

export type ChunkDelta = { role?: "assistant"; content?: string; tool_calls?: ToolCallDelta[] };

export type ChatCompletionChunkBody = {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: { index: 0; delta: ChunkDelta; finish_reason: OpenAIFinishReason | null; logprobs: null }[];
  usage?: OpenAIUsage | null;
};

export class ChunkTranslator {
  private roleSent = false;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(delta: ChunkDelta, finish: OpenAIFinishReason | null): ChatCompletionChunkBody {
    if (!this.roleSent) {
      this.roleSent = true;
      delta = { role: "assistant", ...delta };
    }
    const body: ChatCompletionChunkBody = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    };
    if (this.includeUsage) body.usage = null;
    return body;
  }

  /** The OpenAI chunks for one contract chunk (none for a Done that reports a broken stream). */
  translate(chunk: CompleteChunk): ChatCompletionChunkBody[] {
    const event = chunk.event;
    switch (event.case) {
      case "textDelta":
        return [this.chunk({ content: event.value.text }, null)];
      case "toolCallDelta": {
        const d = event.value;
        const call: ToolCallDelta =
          d.id !== "" || d.name !== ""
            ? { index: d.index, id: d.id, type: "function", function: { name: d.name, arguments: d.argumentsDelta } }
            : { index: d.index, function: { arguments: d.argumentsDelta } };
        return [this.chunk({ tool_calls: [call] }, null)];
      }
      case "done": {
        // A stream that broke after output: the error event that follows says so, not a finish reason.
        if (event.value.finishReason === FinishReason.ERROR) return [];
        const out = [this.chunk({}, finishToOpenAI(event.value.finishReason))];
        if (this.includeUsage) {
          out.push({ id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices: [], usage: usageToOpenAI(event.value.usage) });
        }
        return out;
      }
      default:
        return [];
    }
  }
}
