// A call's cancellation, from the front doors to the upstream request. Not an AbortSignal: on Node
// 20 creating one costs ~3–5 µs and adding or removing a listener ~2–3 µs more (`npm run
// bench:builtins`), and a unary call used to carry three of them plus six listener operations. An
// upstream attempt's Cancel goes to the adapter as it is: undici.request takes anything with
// `addEventListener`/`removeEventListener`, `aborted` and `reason` as its signal, so the lean
// OpenAI client needs no AbortSignal; an adapter whose SDK does gets one from `abortSignalOf`.

export type CancelListener = (reason: unknown) => void;

export class Cancel {
  aborted = false;
  reason: unknown = undefined;
  private listeners: CancelListener[] | undefined;

  /** Aborts once, with `reason`; listeners run in the order they were added. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  /** Runs `listener` once on abort (at once when already aborted) unless removed first. */
  onAbort(listener: CancelListener): void {
    if (this.aborted) {
      listener(this.reason);
      return;
    }
    (this.listeners ??= []).push(listener);
  }

  off(listener: CancelListener): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  }

  /** The EventTarget shape of an AbortSignal's "abort" event, for undici and other duck-typers. */
  // Like EventTarget's: a listener added after the abort is never called; each runs at most once.
  addEventListener(_type: "abort", listener: () => void, _options?: { once?: boolean }): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    this.off(listener);
  }

  /** A Cancel that follows `signal` (a door that already holds one, such as connect-node's). */
  static following(signal: AbortSignal): Cancel {
    const cancel = new Cancel();
    if (signal.aborted) cancel.abort(signal.reason);
    else signal.addEventListener("abort", () => cancel.abort(signal.reason), { once: true });
    return cancel;
  }

  /** An AbortSignal that aborts with this Cancel (for an API that needs one). */
  toSignal(): AbortSignal {
    const controller = new AbortController();
    this.onAbort((reason) => controller.abort(reason));
    return controller.signal;
  }
}

/** How an upstream attempt's cancellation reaches an adapter: its Cancel, or an AbortSignal. */
export type UpstreamSignal = Cancel | AbortSignal;

/** An AbortSignal for an SDK that takes nothing else. */
export function abortSignalOf(signal: UpstreamSignal): AbortSignal {
  return signal instanceof Cancel ? signal.toSignal() : signal;
}
