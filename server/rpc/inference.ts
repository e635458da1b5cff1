// switchboard.v1.InferenceService: a thin binding that validates and converts generated messages
// and hands plain values to the router.
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  InferenceService,
  ListModelsResponseSchema,
  TargetState_Circuit,
  type CompleteChunk,
  type CompleteRequest,
} from "../../gen/switchboard/v1/inference_pb.js";
import { RoutingError, StreamBrokenError, type Router } from "../routing/router.js";
import type { CircuitState } from "../routing/target-state.js";
import { completionRequestFromProto, embeddingRequestFromProto } from "./convert-request.js";
import { completionToProto, embeddingsToProto, streamEventToProto } from "./convert-response.js";
import { invalidArgument, toConnectError } from "./errors.js";

export type InferenceDeps = {
  /** The router in force now; a config reload swaps it between calls. */
  router(): Router;
  logError(error: unknown): void;
  /** A call that ended with an upstream failure, after every retry and fallback. */
  logUpstreamFailure(error: RoutingError): void;
};

const CIRCUIT: Record<CircuitState, TargetState_Circuit> = {
  closed: TargetState_Circuit.CLOSED,
  open: TargetState_Circuit.OPEN,
  half_open: TargetState_Circuit.HALF_OPEN,
};

function callOptions(ctx: HandlerContext) {
  const remaining = ctx.timeoutMs();
  return { signal: ctx.signal, deadline: remaining === undefined ? undefined : Date.now() + remaining };
}

export function createInferenceService(deps: InferenceDeps): ServiceImpl<typeof InferenceService> {
  const fail = (error: unknown) => {
    if (error instanceof RoutingError) deps.logUpstreamFailure(error);
    return toConnectError(error, deps.logError);
  };
  return {
    async complete(request, ctx) {
      const { value, problems } = completionRequestFromProto(request);
      if (problems.length > 0) throw invalidArgument(problems);
      try {
        return completionToProto(await deps.router().complete(value, callOptions(ctx)));
      } catch (error) {
        throw fail(error);
      }
    },

    async *streamComplete(request: CompleteRequest, ctx): AsyncGenerator<CompleteChunk> {
      const { value, problems } = completionRequestFromProto(request);
      if (problems.length > 0) throw invalidArgument(problems);
      try {
        for await (const event of deps.router().stream(value, callOptions(ctx))) yield streamEventToProto(event);
      } catch (error) {
        if (error instanceof StreamBrokenError) {
          // Output already reached the caller: report what was consumed before the error status.
          yield streamEventToProto({ type: "done", id: "", finishReason: "error", ...error.partial });
        }
        throw fail(error);
      }
    },

    async embed(request, ctx) {
      const { value, problems } = embeddingRequestFromProto(request);
      if (problems.length > 0) throw invalidArgument(problems);
      try {
        return embeddingsToProto(await deps.router().embed(value, callOptions(ctx)));
      } catch (error) {
        throw fail(error);
      }
    },

    listModels() {
      return create(ListModelsResponseSchema, {
        models: deps
          .router()
          .list()
          .map((alias) => ({
            name: alias.name,
            strategy: alias.config.strategy,
            targets: alias.targets.map((t) => ({
              provider: t.adapter.name,
              providerType: t.adapter.type,
              model: t.config.model,
              region: t.config.region ?? "",
              internal: t.config.internal,
              priority: t.config.priority,
              weight: t.config.weight,
              state: {
                circuit: CIRCUIT[t.state.circuit],
                inFlight: t.state.inFlight,
                latencyMs: t.state.latencyMs ?? 0,
                successes: BigInt(t.state.successes),
                failures: BigInt(t.state.failures),
              },
            })),
          })),
      });
    },
  };
}
