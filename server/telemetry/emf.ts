// CloudWatch Embedded Metric Format: one JSON line per call, which CloudWatch Logs (or the
// CloudWatch agent reading stdout) turns into metrics without an exporter.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

export const EMF_NAMESPACE = "Switchboard";

export type EmfCall = {
  time: number;
  method: string;
  alias: string;
  provider: string;
  model: string;
  code: string;
  durationMs: number;
  ttftMs?: number;
  inputTokens: number;
  outputTokens: number;
  costNanoUsd: bigint;
};

// The directive never changes; only the values do.
const METRICS = [
  { Name: "RequestDuration", Unit: "Milliseconds" },
  { Name: "TimeToFirstToken", Unit: "Milliseconds" },
  { Name: "InputTokens", Unit: "Count" },
  { Name: "OutputTokens", Unit: "Count" },
  { Name: "CostNanoUsd", Unit: "None" },
  { Name: "Calls", Unit: "Count" },
  { Name: "Errors", Unit: "Count" },
];
const DIMENSIONS = [["alias", "provider", "model"], ["alias"]];

/** The EMF line (with its newline) for one call. */
export function emfLine(call: EmfCall): string {
  const metrics = call.ttftMs === undefined ? METRICS.filter((m) => m.Name !== "TimeToFirstToken") : METRICS;
  const line: Record<string, unknown> = {
    _aws: { Timestamp: call.time, CloudWatchMetrics: [{ Namespace: EMF_NAMESPACE, Dimensions: DIMENSIONS, Metrics: metrics }] },
    alias: call.alias,
    provider: call.provider,
    model: call.model,
    method: call.method,
    code: call.code,
    RequestDuration: call.durationMs,
    InputTokens: call.inputTokens,
    OutputTokens: call.outputTokens,
    CostNanoUsd: Number(call.costNanoUsd),
    Calls: 1,
    Errors: call.code === "OK" ? 0 : 1,
  };
  if (call.ttftMs !== undefined) line.TimeToFirstToken = call.ttftMs;
  return `${JSON.stringify(line)}\n`;
}
