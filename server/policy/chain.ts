// The policy seam: every call, whatever protocol carried it, passes one chain of plain functions
// before the router. Empty today; governance fills it (virtual keys, limits, budgets, ledger).
// A step admits a call (optionally naming who made it) or rejects it by throwing a ConnectError,
// whose code reaches the caller the same way on every protocol.

export type Protocol = "grpc" | "grpc-web" | "connect";
export type Method = "complete" | "stream_complete" | "embed" | "list_models";

/** What a step may know about a call, independent of the door it came through. */
export type InboundCall = {
  protocol: Protocol;
  method: Method;
  /** A request header (gRPC metadata), lower-case name; undefined when absent. */
  header(name: string): string | undefined;
  /** Aborts when the caller cancels or the deadline passes. */
  signal: AbortSignal;
  /** Epoch ms by which the call must end, when the caller set a deadline. */
  deadline?: number;
};

/** How a call ended, handed to every step's settle callback. */
export type CallOutcome = {
  /** The gRPC status code (0 = OK). */
  code: number;
  usage?: { inputTokens: number; outputTokens: number; costNanoUsd: bigint };
  provider?: string;
  targetModel?: string;
  /** false: refused or failed before any upstream request (limits refund what it took). */
  reachedUpstream?: boolean;
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
  caller?: { name: string; team?: string };
  /** Default request metadata a step adds (visible to routing rules); the request's own values win. */
  metadata?: Record<string, string>;
  /** Restrictions the router applies to this caller (virtual keys). */
  access?: RouteAccess;
  /** Sent upstream as max_output_tokens when the request sets none (a budget must bound the output). */
  maxOutputTokens?: number;
  /** Called once when the call ends, with its outcome. */
  settle?: (outcome: CallOutcome) => void;
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
    const admitted = chain[i]!(call, request);
    if (admitted instanceof Promise) return finishAsync(chain, i, admitted, admissions, call, request);
    admissions.push(admitted);
  }
  return admissions.length === 1 ? admissions[0]! : merge(admissions);
}

async function finishAsync(chain: PolicyChain, from: number, pending: Promise<Admission>, admissions: Admission[], call: InboundCall, request: unknown): Promise<Admission> {
  admissions.push(await pending);
  for (let i = from + 1; i < chain.length; i++) admissions.push(await chain[i]!(call, request));
  return merge(admissions);
}

function merge(admissions: Admission[]): Admission {
  const settles = admissions.flatMap((a) => (a.settle ? [a.settle] : []));
  let caller: Admission["caller"];
  let metadata: Record<string, string> | undefined;
  let access: RouteAccess | undefined;
  let maxOutputTokens: number | undefined;
  for (const a of admissions) {
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
    settle: settles.length === 0 ? undefined : (outcome) => settles.forEach((settle) => settle(outcome)),
  };
}
