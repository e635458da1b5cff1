// The policy seam: every call, whatever protocol carried it, passes one chain of plain functions
// before the router. Empty today; governance fills it (virtual keys, limits, budgets, ledger).
// A step admits a call (optionally naming who made it) or rejects it by throwing a ConnectError,
// whose code reaches the caller the same way on every protocol.

import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { Cancel } from "../core/cancel.js";
import type { AttemptObserver } from "../routing/observer.js";

export type Protocol = "grpc" | "grpc-web" | "connect" | "openai";
export type Method = "complete" | "stream_complete" | "embed" | "list_models";

/** What a step may know about a call, independent of the door it came through. */
export type InboundCall = {
  protocol: Protocol;
  method: Method;
  /** A request header (gRPC metadata), lower-case name; undefined when absent. */
  header(name: string): string | undefined;
  /** Aborts when the caller cancels. */
  cancel: Cancel;
  /** Epoch ms by which the call must end, when the caller set a deadline. */
  deadline?: number;
  /** Sets a response header (sent with the first response message, or with the error status). */
  setResponseHeader?(name: string, value: string): void;
  /**
   * The request's protobuf encoding, computed on demand (for the audit log's request hash): the
   * decoded proto message re-encoded, so every protocol that carried the same request hashes alike.
   */
  requestBytes?(): Uint8Array;
  /** Streams: the provider (config name) and upstream model that will serve, before the first chunk. */
  onServing?(provider: string, model: string): void;
  /**
   * Who is calling, set by the step that authenticated the call as soon as it knows — so a call a
   * later check of that same step refuses (a limit, a budget) is still recorded as theirs.
   */
  caller?: Admission["caller"];
  /**
   * Set when the call is already refused (an invalid request): steps only establish who is calling
   * and record the call; none reserves anything.
   */
  refused?: boolean;
  /** The call's gateway request id (the ledger step sets it, and `x-request-id`). */
  requestId?: string;
  /** The call's trace id (32 hex digits), once the telemetry step knows it. */
  traceId?: string;
};

/** One upstream attempt, as the router logged it. */
export type OutcomeAttempt = {
  provider: string;
  targetModel: string;
  outcome: string;
  durationMs: number;
  usage?: OutcomeTokens;
  costNanoUsd?: bigint;
};

export type OutcomeTokens = {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  cacheWriteInputTokens?: number;
  reasoningTokens?: number;
  estimated?: boolean;
};

export type OutcomeUsage = OutcomeTokens & { costNanoUsd: bigint };

/** How a call ended, handed to every step's settle callback. */
export type CallOutcome = {
  /** The gRPC status code (0 = OK). */
  code: number;
  usage?: OutcomeUsage;
  provider?: string;
  targetModel?: string;
  /** false: refused or failed before any upstream request (limits refund what it took). */
  reachedUpstream?: boolean;
  /** The model version the provider reported. */
  modelVersion?: string;
  region?: string;
  /** Every upstream attempt (hedge losers and failed attempts included), when the router ran. */
  attempts?: OutcomeAttempt[];
  /** False when the serving model had no price (its cost is 0 but not free). */
  priced?: boolean;
  /** Epoch ms when the first output reached the caller (streams). */
  firstOutputAt?: number;
  /** Who called, as the chain established it (also for a call a later step refused). */
  caller?: Admission["caller"];
  /** How the served answer ended (stop, length, tool_calls, content_filter, error). */
  finishReason?: string;
  /** A step refused the call: the `google.rpc.ErrorInfo` reason it gave (RPM_LIMIT, BUDGET_EXHAUSTED…). */
  refusal?: string;
};

/** What a caller may reach, applied by the router like a rule's restrictions. */
export type RouteAccess = {
  /** Checked for the alias asked for and for any alias a rule redirects to. */
  allowAlias(alias: string): boolean;
  /** The PERMISSION_DENIED error for an alias allowAlias refused. */
  denied(alias: string): Error;
  /** Each entry is one allow-list (the key's, the team's); a target must pass every one. */
  providers: readonly (readonly string[])[];
  regions: readonly (readonly string[])[];
  /** Who imposed the restrictions, for FAILED_PRECONDITION messages ("key search-api"). */
  describe: string;
};

export type Admission = {
  /** Who is calling, once a step has established it. */
  caller?: {
    name: string;
    team?: string;
    /** The virtual key's id, when the caller used one. */
    keyId?: string;
  };
  /** Default request metadata a step adds (visible to routing rules); the request's own values win. */
  metadata?: Record<string, string>;
  /** Restrictions the router applies to this caller (virtual keys). */
  access?: RouteAccess;
  /** Sent upstream as max_output_tokens when the request sets none (a budget must bound the output). */
  maxOutputTokens?: number;
  /** Watches the call's upstream attempts (telemetry). */
  observer?: AttemptObserver;
  /**
   * Called once when the call ends, with its outcome. The call's answer (or its last chunk, or its
   * error status) waits for a returned promise: that is how a ledger row commits before the caller
   * sees the end of its call. Any other return value is ignored.
   */
  settle?: (outcome: CallOutcome) => unknown;
};

/** The request as the router will see it (neutral values), so steps need no proto types. */
export type PolicyStep<Request = unknown> = (call: InboundCall, request: Request) => Admission | Promise<Admission>;

export type PolicyChain = readonly PolicyStep[];

const ADMITTED: Admission = Object.freeze({});

/**
 * Runs every step in order and merges what they admitted. With no steps it returns synchronously,
 * so the empty chain costs nothing on the hot path.
 */
export function admit(chain: PolicyChain, call: InboundCall, request: unknown): Admission | Promise<Admission> {
  if (chain.length === 0) return ADMITTED;
  // Steps that answer synchronously (auth off, nothing to limit) keep the whole admission synchronous.
  const admissions: Admission[] = [];
  for (let i = 0; i < chain.length; i++) {
    let admitted: Admission | Promise<Admission>;
    try {
      admitted = chain[i]!(call, request);
    } catch (error) {
      return refused(admissions, call, error);
    }
    if (admitted instanceof Promise) return finishAsync(chain, i, admitted, admissions, call, request);
    admissions.push(admitted);
  }
  return admissions.length === 1 ? admissions[0]! : merge(admissions);
}

async function finishAsync(chain: PolicyChain, from: number, pending: Promise<Admission>, admissions: Admission[], call: InboundCall, request: unknown): Promise<Admission> {
  try {
    admissions.push(await pending);
    for (let i = from + 1; i < chain.length; i++) admissions.push(await chain[i]!(call, request));
  } catch (error) {
    return refused(admissions, call, error);
  }
  return merge(admissions);
}

/**
 * The steps that already admitted the call learn it was refused (a limit hit still gets its ledger
 * row) before the refusal reaches the caller.
 */
async function refused(admissions: Admission[], call: InboundCall, error: unknown): Promise<never> {
  const admitted = merge(admissions);
  const code = error instanceof ConnectError ? error.code : Code.Internal;
  await admitted.settle?.({ code, caller: admitted.caller ?? call.caller, reachedUpstream: false, refusal: refusalReason(error) });
  throw error;
}

/**
 * An invalid request still passes the chain to be identified and recorded (its ledger row says
 * INVALID_ARGUMENT); a caller that fails authentication gets that error instead, as for any call.
 */
export async function refuseInvalid(chain: PolicyChain, call: InboundCall, request: unknown, invalid: ConnectError): Promise<never> {
  if (chain.length === 0) throw invalid;
  // Marked on the call itself: a door's call may keep its methods on a prototype, which a copy loses.
  call.refused = true;
  const admitted = await admit(chain, call, request);
  await admitted.settle?.({ code: invalid.code, caller: admitted.caller ?? call.caller, reachedUpstream: false });
  throw invalid;
}

function refusalReason(error: unknown): string | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  return error.findDetails(ErrorInfoSchema)[0]?.reason || undefined;
}

function merge(admissions: Admission[]): Admission {
  const settles = admissions.flatMap((a) => (a.settle ? [a.settle] : []));
  let caller: Admission["caller"];
  let metadata: Record<string, string> | undefined;
  let access: RouteAccess | undefined;
  let maxOutputTokens: number | undefined;
  let observer: AttemptObserver | undefined;
  for (const a of admissions) {
    observer = a.observer ?? observer;
    caller = a.caller ?? caller;
    access = a.access ?? access;
    maxOutputTokens = a.maxOutputTokens ?? maxOutputTokens;
    if (a.metadata) metadata = { ...metadata, ...a.metadata };
  }
  return {
    caller,
    metadata,
    access,
    maxOutputTokens,
    observer,
    settle: settles.length === 0 ? undefined : settleAll(settles),
  };
}

function settleAll(settles: NonNullable<Admission["settle"]>[]): NonNullable<Admission["settle"]> {
  return (outcome) => {
    let pending: Promise<unknown>[] | undefined;
    for (const settle of settles) {
      const result = settle(outcome);
      if (result instanceof Promise) (pending ??= []).push(result as Promise<unknown>);
    }
    return pending && Promise.all(pending);
  };
}
