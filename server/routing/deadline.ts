// One signal per call that fires on the caller's cancel or deadline, or on the alias's default
// timeout when the caller set no deadline, and one control per upstream attempt linked to it until
// the CALL ends — not until the attempt resolves: a stream keeps reading on its attempt's signal long
// after its first event. Cheaper than AbortSignal.any + AbortSignal.timeout, and every abort has a
// reason (a reasonless abort builds a DOMException, which costs ~16 µs on Node 20).
import { Code, ConnectError } from "@connectrpc/connect";

export type CallScope = {
  signal: AbortSignal;
  /** Epoch milliseconds after which no upstream attempt may run. */
  deadline: number;
  /** A new attempt control, aborted whenever the call's signal fires, until dispose(). */
  attempt(): AttemptControl;
  /** The call is over: stop its timer and unlink its attempts. */
  dispose(): void;
};

/** One upstream attempt's signal, with an optional timer that aborts it with a given error. */
export class AttemptControl {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timeoutError: (() => Error) | undefined;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.disarm();
  }

  /** Aborts the attempt with `error()` unless disarmed or re-armed within `ms`. */
  arm(ms: number | undefined, error: () => Error): void {
    this.disarm();
    if (ms === undefined || this.controller.signal.aborted) return;
    this.timeoutError = error;
    this.timer = setTimeout(() => this.abort(this.timeoutError?.()), ms);
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function openCallScope(caller: AbortSignal, callerDeadline: number | undefined, defaultTimeoutMs: number): CallScope {
  const deadline = callerDeadline ?? Date.now() + defaultTimeoutMs;
  const controller = new AbortController();
  const attempts = new Set<AttemptControl>();
  const onCallerAbort = () => controller.abort(caller.reason);
  const onAbort = () => {
    for (const attempt of attempts) attempt.abort(controller.signal.reason);
  };
  controller.signal.addEventListener("abort", onAbort, { once: true });
  if (caller.aborted) controller.abort(caller.reason);
  else caller.addEventListener("abort", onCallerAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new ConnectError("the call's deadline passed before the upstream answered", Code.DeadlineExceeded)),
    Math.max(0, deadline - Date.now()),
  );
  return {
    signal: controller.signal,
    deadline,
    attempt() {
      const control = new AttemptControl();
      if (controller.signal.aborted) control.abort(controller.signal.reason);
      else attempts.add(control);
      return control;
    },
    dispose() {
      clearTimeout(timer);
      caller.removeEventListener("abort", onCallerAbort);
      for (const attempt of attempts) attempt.disarm();
      attempts.clear();
    },
  };
}
