// A call's optional watcher of its upstream attempts. Routing knows no tracing library: whoever
// passes an observer (the telemetry step) decides what an attempt means to it — a trace span, and a
// scope in which the attempt's upstream requests carry that span's trace context.
import type { AttemptRecord } from "./billing.js";

export type AttemptStart = {
  /** The attempt's log entry; its outcome, duration, usage and cost are final once the call ends. */
  record: AttemptRecord;
  alias: string;
  strategy: string;
  provider: string;
  providerType: string;
  model: string;
  /** 1 for the call's first upstream request, counting retries, fallbacks and hedges. */
  number: number;
  /** Started by hedge_after_ms beside a silent attempt. */
  hedged: boolean;
};

/** Headers an observer has an attempt's upstream requests carry (its trace context). */
export type AttemptHeaders = Readonly<Record<string, string>>;

export interface AttemptObserver {
  /** Runs one upstream attempt and returns what `run` returns, unchanged (also its rejection). */
  attempt<T>(start: AttemptStart, run: (headers?: AttemptHeaders) => Promise<T>): Promise<T>;
}
