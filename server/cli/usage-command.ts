// switchboard usage --since 7d --by model [--format table|csv|json] [--team T --key ID --alias A --provider P --model M]
import { toJson } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { UsageBucket, UsageDimension, UsageTotalsSchema, UsageRowSchema, type GetUsageResponse, type UsageRow, type UsageTotals } from "../../gen/switchboard/v1/admin_pb.js";
import { alignedTable, csv, usdFromNano } from "./table.js";
import type { AdminTarget } from "./target.js";

export class UsageArgumentError extends Error {}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** 30m / 24h / 7d before now, or an ISO date. */
export function parseSince(value: string, now: number): number {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2]];
  const absolute = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(absolute)) return absolute;
  throw new UsageArgumentError(`--since ${value}: expected 30m, 24h, 7d or an ISO date`);
}

const BY: Record<string, { dimension?: UsageDimension; bucket?: UsageBucket; column: string; cell(row: UsageRow): string }> = {
  model: { dimension: UsageDimension.MODEL, column: "model", cell: (r) => r.model },
  alias: { dimension: UsageDimension.ALIAS, column: "alias", cell: (r) => r.alias },
  team: { dimension: UsageDimension.TEAM, column: "team", cell: (r) => r.team },
  key: { dimension: UsageDimension.KEY, column: "key", cell: (r) => (r.keyName ? `${r.keyName} (${r.keyId})` : r.keyId) },
  provider: { dimension: UsageDimension.PROVIDER, column: "provider", cell: (r) => r.provider },
  hour: { bucket: UsageBucket.HOUR, column: "hour", cell: (r) => (r.bucketStart ? new Date(timestampMs(r.bucketStart)).toISOString().slice(0, 13) + ":00Z" : "") },
  day: { bucket: UsageBucket.DAY, column: "day", cell: (r) => (r.bucketStart ? new Date(timestampMs(r.bucketStart)).toISOString().slice(0, 10) : "") },
};

const TOTAL_COLUMNS = ["calls", "errors", "input_tokens", "cached_input_tokens", "output_tokens", "cost_usd"];

function totalCells(t: UsageTotals | undefined): string[] {
  if (t === undefined) return TOTAL_COLUMNS.map(() => "0");
  return [t.calls, t.errors, t.inputTokens, t.cacheReadInputTokens, t.outputTokens].map(String).concat(usdFromNano(t.costNanoUsd));
}

export type UsageFlags = { since?: string; by?: string; format?: string; team?: string; key?: string; alias?: string; provider?: string; model?: string };

export async function usageCommand(target: AdminTarget, flags: UsageFlags, now: number): Promise<string> {
  const by = (flags.by ?? "model").split(",").filter((b) => b !== "");
  for (const b of by) if (!(b in BY)) throw new UsageArgumentError(`--by ${b}: expected model, alias, team, key, provider, hour or day`);
  const format = flags.format ?? "table";
  if (!["table", "csv", "json"].includes(format)) throw new UsageArgumentError(`--format ${format}: expected table, csv or json`);
  const from = parseSince(flags.since ?? "7d", now);
  const buckets = by.flatMap((b) => (BY[b].bucket === undefined ? [] : [BY[b].bucket]));
  if (buckets.length > 1) throw new UsageArgumentError("--by takes hour or day, not both");
  const report: GetUsageResponse = await target.client.getUsage(
    {
      filter: { from: timestampFromMs(from), team: flags.team, keyId: flags.key, alias: flags.alias, provider: flags.provider, model: flags.model },
      groupBy: by.flatMap((b) => (BY[b].dimension === undefined ? [] : [BY[b].dimension])),
      bucket: buckets[0],
    },
    { headers: target.headers },
  );
  if (format === "json") {
    const options = { useProtoFieldName: true, alwaysEmitImplicit: true };
    return JSON.stringify({
      totals: report.totals ? toJson(UsageTotalsSchema, report.totals, options) : {},
      rows: report.rows.map((r) => toJson(UsageRowSchema, r, options)),
    });
  }
  const header = [...by.map((b) => BY[b].column), ...TOTAL_COLUMNS];
  const rows = report.rows.map((r) => [...by.map((b) => BY[b].cell(r) || "-"), ...totalCells(r.totals)]);
  if (format === "csv") return csv(header, rows);
  const total = [...by.map((_, i) => (i === 0 ? "TOTAL" : "")), ...totalCells(report.totals)];
  return alignedTable(header, [...rows, total]);
}
