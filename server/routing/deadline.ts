// One signal per call that fires on the caller's cancel or deadline, or on the alias's default
// timeout when the caller set no deadline. Cheaper than AbortSignal.any + AbortSignal.timeout, and
// its reason is a proper DEADLINE_EXCEEDED rather than a DOMException.
import { Code, ConnectError } from "@connectrpc/connect";

export type CallScope = {
  signal: AbortSignal;
  /** Epoch milliseconds after which no upstream attempt may run. */
  deadline: number;
  dispose(): void;
};

export function openCallScope(caller: AbortSignal, callerDeadline: number | undefined, defaultTimeoutMs: number): CallScope {
  const deadline = callerDeadline ?? Date.now() + defaultTimeoutMs;
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(caller.reason);
  if (caller.aborted) controller.abort(caller.reason);
  else caller.addEventListener("abort", onCallerAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new ConnectError("the call's deadline passed before the upstream answered", Code.DeadlineExceeded)),
    Math.max(0, deadline - Date.now()),
  );
  return {
    signal: controller.signal,
    deadline,
    dispose() {
      clearTimeout(timer);
      caller.removeEventListener("abort", onCallerAbort);
    },
  };
}
