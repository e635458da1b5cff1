// One Cancel per call that fires on the caller's cancel or deadline, or on the alias's default
// timeout when the caller set no deadline, and one control per upstream attempt linked to it until
// the CALL ends — not until the attempt resolves: a stream keeps reading on its attempt's signal long
// after its first event. The attempt's signal is a Cancel too (an AbortSignal costs ~5 µs on Node 20,
// see core/cancel.ts); adapters whose SDK needs an AbortSignal make one. Every abort has a reason (a
// reasonless abort builds a DOMException, which costs ~16 µs on Node 20).
import { Code, ConnectError } from "@connectrpc/connect";
import { Cancel } from "../core/cancel.js";

export type CallScope = {
  /** Aborted by the caller's cancel or the deadline. */
  cancel: Cancel;
  /** Epoch milliseconds after which no upstream attempt may run. */
  deadline: number;
  /** A new attempt control, aborted whenever the call's cancel fires, until dispose(). */
  attempt(): AttemptControl;
  /** The call is over: stop its timer and unlink its attempts. */
  dispose(): void;
};

/** One upstream attempt's signal, with an optional timer that aborts it with a given error. */
export class AttemptControl {
  /** What the adapter gets: a Cancel, not an AbortSignal (core/cancel.ts). */
  readonly signal = new Cancel();
  private timer: NodeJS.Timeout | undefined;
  private timeoutError: (() => Error) | undefined;

  abort(reason: unknown): void {
    this.signal.abort(reason);
    this.disarm();
  }

  /** Aborts the attempt with `error()` unless disarmed or re-armed within `ms`. */
  arm(ms: number | undefined, error: () => Error): void {
    this.disarm();
    if (ms === undefined || this.signal.aborted) return;
    this.timeoutError = error;
    this.timer = setTimeout(() => this.abort(this.timeoutError?.()), ms);
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

const deadlinePassed = (cancel: Cancel) => cancel.abort(new ConnectError("the call's deadline passed before the upstream answered", Code.DeadlineExceeded));

/** A class rather than closures: tsx renames every closure made per call, at ~1 µs each. */
class OpenCallScope implements CallScope {
  readonly cancel = new Cancel();
  private readonly attempts = new Set<AttemptControl>();
  private readonly onCallerAbort = this.cancel.abort.bind(this.cancel);
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly caller: Cancel,
    readonly deadline: number,
  ) {
    this.cancel.onAbort(this.abortAttempts.bind(this));
    caller.onAbort(this.onCallerAbort);
    this.timer = setTimeout(deadlinePassed, Math.max(0, deadline - Date.now()), this.cancel);
  }

  attempt(): AttemptControl {
    const control = new AttemptControl();
    if (this.cancel.aborted) control.abort(this.cancel.reason);
    else this.attempts.add(control);
    return control;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller.off(this.onCallerAbort);
    for (const attempt of this.attempts) attempt.disarm();
    this.attempts.clear();
  }

  private abortAttempts(reason: unknown): void {
    for (const attempt of this.attempts) attempt.abort(reason);
  }
}

export function openCallScope(caller: Cancel, callerDeadline: number | undefined, defaultTimeoutMs: number): CallScope {
  return new OpenCallScope(caller, callerDeadline ?? Date.now() + defaultTimeoutMs);
}
