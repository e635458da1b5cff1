// The one implementation of InferenceService behind every door: validate and convert the proto
// request to neutral values, admit it through the policy chain, call the router, convert back.
// The connect-node ServiceImpl and the grpc-js handlers only translate their call objects into an
// InboundCall and hand over; errors leave here as ConnectErrors with their final status.
import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CompleteRequestSchema,
  EmbedRequestSchema,
  ListModelsResponseSchema,
  TargetState_Circuit,
  type CompleteChunk,
  type CompleteRequest,
  type CompleteResponse,
  type EmbedRequest,
  type EmbedResponse,
  type ListModelsResponse,
} from "../../gen/switchboard/v1/inference_pb.js";
import { admit, refuseInvalid, type Admission, type CallOutcome, type InboundCall, type PolicyChain, type RouteAccess } from "../policy/chain.js";
import {
  RoutingError,
  StreamBrokenError,
  StreamInterruptedError,
  type Billed,
  type CallOptions,
  type RoutedCompletion,
  type RoutedEmbeddings,
  type Router,
} from "../routing/router.js";
import type { CircuitState } from "../routing/target-state.js";
import { completionRequestFromProto, embeddingRequestFromProto } from "./convert-request.js";
import { completionToProto, embeddingsToProto, streamEventToProto } from "./convert-response.js";
import { invalidArgument, toConnectError } from "./errors.js";

export type CallDeps = {
  /** The router in force now; a config reload swaps it between calls. */
  router(): Router;
  /** Steps every call passes before the router (empty: admit all). */
  policy: PolicyChain;
  logError(error: unknown): void;
  /** A call that ended with an upstream failure, after every retry and fallback. */
  logUpstreamFailure(error: RoutingError): void;
  /** A stream the caller's cancel or deadline ended after output reached it, with what it consumed. */
  logInterrupted(error: StreamInterruptedError): void;
};

const CIRCUIT: Record<CircuitState, TargetState_Circuit> = {
  closed: TargetState_Circuit.CLOSED,
  open: TargetState_Circuit.OPEN,
  half_open: TargetState_Circuit.HALF_OPEN,
};

export type InferenceCalls = {
  complete(call: InboundCall, request: CompleteRequest): Promise<CompleteResponse>;
  streamComplete(call: InboundCall, request: CompleteRequest): AsyncGenerator<CompleteChunk>;
  embed(call: InboundCall, request: EmbedRequest): Promise<EmbedResponse>;
  listModels(call: InboundCall): Promise<ListModelsResponse>;
};

function routerOptions(call: InboundCall, admission: Admission): CallOptions {
  return {
    cancel: call.cancel,
    deadline: call.deadline,
    caller: admission.caller?.name,
    team: admission.caller?.team,
    access: admission.access,
    observer: admission.observer,
    onServing: call.onServing,
  };
}

/** The admission's defaults under the request: its metadata (the request's own values win) and max_output_tokens. */
function withDefaults<T extends { metadata: Record<string, string>; generation?: { maxOutputTokens?: number } }>(value: T, admission: Admission): T {
  let result = value;
  if (admission.metadata) result = { ...result, metadata: { ...admission.metadata, ...value.metadata } };
  if (admission.maxOutputTokens !== undefined && result.generation && result.generation.maxOutputTokens === undefined) {
    result = { ...result, generation: { ...result.generation, maxOutputTokens: admission.maxOutputTokens } };
  }
  return result;
}

/** Whether a failed call got as far as an upstream request (limits refund the calls that did not). */
function reachedUpstream(error: unknown): boolean {
  return error instanceof RoutingError || error instanceof StreamInterruptedError || (error instanceof ConnectError && (error.code === Code.DeadlineExceeded || error.code === Code.Canceled));
}

/** A served (or partly served) call's outcome: its bill and route. */
function billedOutcome(code: number, billed: Billed, caller: Admission["caller"], finishReason?: string): CallOutcome {
  return {
    code,
    finishReason,
    caller,
    reachedUpstream: true,
    usage: { ...billed.usage, costNanoUsd: billed.costNanoUsd },
    provider: billed.route.provider,
    targetModel: billed.route.targetModel,
    modelVersion: billed.route.modelVersion,
    attempts: billed.route.attempts,
  };
}

/** A failed call's outcome: what the router logged of it, when it got that far. */
function failedOutcome(error: unknown, status: ConnectError, caller: Admission["caller"]): CallOutcome {
  if (error instanceof StreamBrokenError || error instanceof StreamInterruptedError) return billedOutcome(status.code, error.partial, caller, "error");
  if (error instanceof RoutingError) {
    const last = error.attempts.at(-1);
    return { code: status.code, caller, reachedUpstream: true, attempts: error.attempts, provider: last?.provider, targetModel: last?.targetModel };
  }
  return { code: status.code, caller, reachedUpstream: reachedUpstream(error) };
}

/**
 * The call as the chain sees it: with the request's encoding for the audit hash. Set on the call
 * itself (a door's call may keep its methods on a prototype, which a copy would lose).
 */
function withRequestBytes<Desc extends DescMessage>(call: InboundCall, schema: Desc, request: MessageShape<Desc>): InboundCall {
  call.requestBytes = () => toBinary(schema, request);
  return call;
}

export function createInferenceCalls(deps: CallDeps): InferenceCalls {
  const fail = (error: unknown): ConnectError => {
    if (error instanceof RoutingError) deps.logUpstreamFailure(error);
    return toConnectError(error, deps.logError);
  };
  return {
    async complete(inbound, request) {
      const { value, problems } = completionRequestFromProto(request);
      const call = withRequestBytes(inbound, CompleteRequestSchema, request);
      if (problems.length > 0) return refuseInvalid(deps.policy, call, value, invalidArgument(problems));
      let admission: Admission = {};
      let result: RoutedCompletion;
      try {
        const admitted = admit(deps.policy, call, value);
        admission = admitted instanceof Promise ? await admitted : admitted;
        result = await deps.router().complete(withDefaults(value, admission), routerOptions(call, admission));
      } catch (error) {
        const status = fail(error);
        await admission.settle?.(failedOutcome(error, status, admission.caller));
        throw status;
      }
      await admission.settle?.(billedOutcome(0, result, admission.caller, result.finishReason));
      return completionToProto(result);
    },

    async *streamComplete(inbound, request) {
      const { value, problems } = completionRequestFromProto(request);
      const call = withRequestBytes(inbound, CompleteRequestSchema, request);
      if (problems.length > 0) await refuseInvalid(deps.policy, call, value, invalidArgument(problems));
      let admission: Admission = {};
      let settled = false;
      let firstOutputAt: number | undefined;
      const settle = (outcome: CallOutcome) => {
        settled = true;
        return admission.settle?.({ ...outcome, firstOutputAt });
      };
      try {
        const admitted = admit(deps.policy, call, value);
        admission = admitted instanceof Promise ? await admitted : admitted;
        for await (const event of deps.router().stream(withDefaults(value, admission), routerOptions(call, admission))) {
          if (event.type === "done") await settle(billedOutcome(0, event, admission.caller, event.finishReason));
          else firstOutputAt ??= Date.now();
          yield streamEventToProto(event);
        }
      } catch (error) {
        const status = fail(error);
        await settle(failedOutcome(error, status, admission.caller));
        if (error instanceof StreamBrokenError) {
          // Output already reached the caller: report what was consumed before the error status.
          yield streamEventToProto({ type: "done", id: "", finishReason: "error", ...error.partial });
        }
        if (error instanceof StreamInterruptedError) deps.logInterrupted(error);
        throw status;
      } finally {
        // The caller went away between chunks: the generator is closed without an error.
        if (!settled) await settle({ code: Code.Canceled, caller: admission.caller, reachedUpstream: true });
      }
    },

    async embed(inbound, request) {
      const { value, problems } = embeddingRequestFromProto(request);
      const call = withRequestBytes(inbound, EmbedRequestSchema, request);
      if (problems.length > 0) return refuseInvalid(deps.policy, call, value, invalidArgument(problems));
      let admission: Admission = {};
      let result: RoutedEmbeddings;
      try {
        const admitted = admit(deps.policy, call, value);
        admission = admitted instanceof Promise ? await admitted : admitted;
        result = await deps.router().embed(withDefaults(value, admission), routerOptions(call, admission));
      } catch (error) {
        const status = fail(error);
        await admission.settle?.(failedOutcome(error, status, admission.caller));
        throw status;
      }
      await admission.settle?.(billedOutcome(0, result, admission.caller));
      return embeddingsToProto(result);
    },

    async listModels(call) {
      let admission: Admission;
      try {
        const admitted = admit(deps.policy, call, undefined);
        admission = admitted instanceof Promise ? await admitted : admitted;
        admission.settle?.({ code: 0 });
      } catch (error) {
        throw fail(error);
      }
      return listModelsResponse(deps.router(), admission.access);
    },
  };
}

/** Every alias the caller may use, with its targets and their live state (circuit, in-flight, latency). */
export function listModelsResponse(router: Router, access?: RouteAccess): ListModelsResponse {
  return create(ListModelsResponseSchema, {
    models: router
      .list()
      .filter((alias) => access?.allowAlias(alias.name) ?? true)
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
}
