// The contract's CompleteResponse → an OpenAI chat.completion body, and the pieces the streamed
// form shares with it: finish reasons and usage in OpenAI's shape.
import { FinishReason, type CompleteResponse, type Usage } from "../../gen/switchboard/v1/inference_pb.js";

export type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export type OpenAIUsage = {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
};

export type OpenAIToolCall = { id: string; type: "function"; function: { name: string; arguments: string } };

export type ChatCompletionBody = {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: {
    index: 0;
    message: { role: "assistant"; content: string | null; refusal: null; tool_calls?: OpenAIToolCall[] };
    finish_reason: OpenAIFinishReason;
    logprobs: null;
  }[];
  usage: OpenAIUsage;
};

/** FINISH_REASON_ERROR never reaches here (a broken stream ends with an error event instead). */
export function finishToOpenAI(reason: FinishReason): OpenAIFinishReason {
  switch (reason) {
    case FinishReason.LENGTH:
      return "length";
    case FinishReason.TOOL_CALLS:
      return "tool_calls";
    case FinishReason.CONTENT_FILTER:
      return "content_filter";
    default:
      return "stop";
  }
}

export function usageToOpenAI(usage: Usage | undefined): OpenAIUsage {
  const input = Number(usage?.inputTokens ?? 0n);
  const output = Number(usage?.outputTokens ?? 0n);
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: Number(usage?.cachedInputTokens ?? 0n) },
    completion_tokens_details: { reasoning_tokens: Number(usage?.reasoningTokens ?? 0n) },
  };
}

export function chatCompletionToOpenAI(response: CompleteResponse, model: string, id: string, created: number): ChatCompletionBody {
  let text = "";
  const toolCalls: OpenAIToolCall[] = [];
  for (const part of response.message?.content ?? []) {
    if (part.part.case === "text") text += part.part.value;
    else if (part.part.case === "toolCall") {
      const call = part.part.value;
      toolCalls.push({ id: call.id, type: "function", function: { name: call.name, arguments: call.argumentsJson } });
    }
  }
  return {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishToOpenAI(response.finishReason),
        logprobs: null,
      },
    ],
    usage: usageToOpenAI(response.usage),
  };
}
