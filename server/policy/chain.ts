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
};

export type Admission = {
  /** Who is calling, once a step has established it. */
  caller?: { name: string; team?: string };
  /** Extra request metadata a step adds (visible to routing rules). */
  metadata?: Record<string, string>;
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
  return (async () => {
    const admissions: Admission[] = [];
    for (const step of chain) admissions.push(await step(call, request));
    return merge(admissions);
  })();
}

function merge(admissions: Admission[]): Admission {
  const settles = admissions.flatMap((a) => (a.settle ? [a.settle] : []));
  let caller: Admission["caller"];
  let metadata: Record<string, string> | undefined;
  for (const a of admissions) {
    caller = a.caller ?? caller;
    if (a.metadata) metadata = { ...metadata, ...a.metadata };
  }
  return {
    caller,
    metadata,
    settle: settles.length === 0 ? undefined : (outcome) => settles.forEach((settle) => settle(outcome)),
  };
}
