// Neutral values → generated response messages.
import { create } from "@bufbuild/protobuf";
import {
  CompleteChunkSchema,
  CompleteResponseSchema,
  EmbedResponseSchema,
  FinishReason as ProtoFinish,
  Role as ProtoRole,
  type CompleteChunk,
  type CompleteResponse,
  type ContentPart,
  type EmbedResponse,
  type Route,
  type Usage,
} from "../../gen/switchboard/v1/inference_pb.js";
import type { FinishReason, TokenUsage } from "../core/types.js";
import type { RouteInfo, RoutedCompletion, RoutedEmbeddings, RoutedStreamEvent } from "../routing/router.js";

const FINISH: Record<FinishReason, ProtoFinish> = {
  stop: ProtoFinish.STOP,
  length: ProtoFinish.LENGTH,
  tool_calls: ProtoFinish.TOOL_CALLS,
  content_filter: ProtoFinish.CONTENT_FILTER,
  error: ProtoFinish.ERROR,
  unspecified: ProtoFinish.UNSPECIFIED,
};

function usageToProto(usage: TokenUsage, cost: bigint, priced: boolean): Usage {
  return {
    $typeName: "switchboard.v1.Usage",
    inputTokens: BigInt(usage.inputTokens),
    outputTokens: BigInt(usage.outputTokens),
    cachedInputTokens: BigInt(usage.cachedInputTokens),
    cacheWriteInputTokens: BigInt(usage.cacheWriteInputTokens),
    reasoningTokens: BigInt(usage.reasoningTokens),
    costNanoUsd: cost,
    priced,
    estimated: usage.estimated,
  };
}

export function routeToProto(route: RouteInfo): Route {
  return {
    $typeName: "switchboard.v1.Route",
    alias: route.alias,
    provider: route.provider,
    providerType: route.providerType,
    targetModel: route.targetModel,
    modelVersion: route.modelVersion ?? "",
    attempts: route.attempts.length,
    attemptLog: route.attempts.map((a) => ({
      $typeName: "switchboard.v1.Attempt",
      provider: a.provider,
      targetModel: a.targetModel,
      outcome: a.outcome,
      durationMs: a.durationMs,
      usage: a.usage ? usageToProto(a.usage, a.costNanoUsd ?? 0n, a.priced ?? false) : undefined,
    })),
  };
}

export function completionToProto(result: RoutedCompletion): CompleteResponse {
  const content: ContentPart[] = [];
  if (result.text !== "" || result.toolCalls.length === 0) {
    content.push({ $typeName: "switchboard.v1.ContentPart", part: { case: "text", value: result.text } });
  }
  for (const call of result.toolCalls) {
    content.push({
      $typeName: "switchboard.v1.ContentPart",
      part: {
        case: "toolCall",
        value: {
          $typeName: "switchboard.v1.ToolCall",
          id: call.id,
          name: call.name,
          argumentsJson: call.argumentsJson,
          providerState: call.providerState ?? "",
        },
      },
    });
  }
  return create(CompleteResponseSchema, {
    id: result.id,
    message: { role: ProtoRole.ASSISTANT, content },
    finishReason: FINISH[result.finishReason],
    usage: usageToProto(result.usage, result.costNanoUsd, result.priced),
    route: routeToProto(result.route),
  });
}

export function streamEventToProto(event: RoutedStreamEvent): CompleteChunk {
  switch (event.type) {
    case "text":
      return create(CompleteChunkSchema, { event: { case: "textDelta", value: { text: event.text } } });
    case "tool_call":
      return create(CompleteChunkSchema, {
        event: {
          case: "toolCallDelta",
          value: {
            index: event.index,
            id: event.id ?? "",
            name: event.name ?? "",
            argumentsDelta: event.argumentsDelta,
            providerState: event.providerState ?? "",
          },
        },
      });
    case "done":
      return create(CompleteChunkSchema, {
        event: {
          case: "done",
          value: {
            id: event.id,
            finishReason: FINISH[event.finishReason],
            usage: usageToProto(event.usage, event.costNanoUsd, event.priced),
            route: routeToProto(event.route),
          },
        },
      });
  }
}

export function embeddingsToProto(result: RoutedEmbeddings): EmbedResponse {
  return create(EmbedResponseSchema, {
    embeddings: result.vectors.map((values) => ({ values })),
    usage: usageToProto(result.usage, result.costNanoUsd, result.priced),
    route: routeToProto(result.route),
  });
}
