// The admin commands of the CLI, talking to a running gateway over gRPC:
//   switchboard keys create --name N --team T [--expires ISO] [--models G,…] [--rpm N] [--tpm N]
//     [--budget-usd X [--budget-window day|month]] [--role admin] | keys list [--team T] | keys revoke ID
//   switchboard budget [--team T] [--key K]
//   switchboard usage [--since 7d] [--by model,…] [--format table|csv|json] [filters]
//   switchboard audit verify [--expect-head HASH] | audit export
// Each takes --config FILE, --address HOST:PORT, --admin-key KEY (or SWITCHBOARD_ADMIN_KEY).
import { parseArgs } from "node:util";
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../config/load.js";
import { alignedTable } from "./table.js";
import { adminTarget, type AdminTarget } from "./target.js";
import { UsageArgumentError, usageCommand } from "./usage-command.js";

export const ADMIN_COMMANDS = ["keys", "usage", "audit", "budget"];

export const ADMIN_USAGE = `  switchboard keys create --name NAME --team TEAM [--expires ISO]   create a virtual key (its secret is shown once)
      [--models GLOB,…] [--rpm N] [--tpm N] [--budget-usd X] [--budget-window day|month] [--role admin]
  switchboard budget [--team TEAM] [--key NAME]                       budgets: limit, spent, reserved, remaining
  switchboard keys list [--team TEAM]                                 list keys
  switchboard keys revoke KEY_ID                                      revoke a key created at run time
  switchboard usage [--since 7d] [--by model] [--format table|csv|json]   usage (--by model|alias|team|key|provider|hour|day)
  switchboard audit verify [--expect-head HASH]                       check the audit chain (exit 1 when broken)
  switchboard audit export                                            the audit log as JSON lines
  admin commands take --config FILE, --address HOST:PORT, --admin-key KEY (or SWITCHBOARD_ADMIN_KEY)`;

export type CommandIo = { out(text: string): void; err(text: string): void; env: NodeJS.ProcessEnv };

const OPTIONS = {
  config: { type: "string", short: "c" },
  address: { type: "string" },
  "admin-key": { type: "string" },
  name: { type: "string" },
  team: { type: "string" },
  expires: { type: "string" },
  models: { type: "string" },
  rpm: { type: "string" },
  tpm: { type: "string" },
  "budget-usd": { type: "string" },
  "budget-window": { type: "string" },
  role: { type: "string" },
  since: { type: "string" },
  by: { type: "string" },
  format: { type: "string" },
  key: { type: "string" },
  alias: { type: "string" },
  provider: { type: "string" },
  model: { type: "string" },
  "expect-head": { type: "string" },
} as const;

const date = (t: Timestamp | undefined) => (t === undefined ? "-" : new Date(timestampMs(t)).toISOString());

class UsageError extends Error {}

type KeyFlags = {
  name?: string;
  team?: string;
  expires?: string;
  models?: string;
  rpm?: string;
  tpm?: string;
  "budget-usd"?: string;
  "budget-window"?: string;
  role?: string;
};

function positiveNumber(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && (!Number.isSafeInteger(n) || n === 0))) {
    throw new UsageError(`--${flag} ${value}: expected ${integer ? "a positive integer" : "a number ≥ 0"}`);
  }
  return n;
}

/** The key's restrictions from the flags, in the config's `keys[]` shape (the gateway validates them again). */
function restrictionsOf(flags: KeyFlags): JsonObject {
  const restrictions: JsonObject = {};
  if (flags.models !== undefined) restrictions.models = flags.models.split(",").map((m) => m.trim()).filter((m) => m !== "");
  if (flags.rpm !== undefined) restrictions.rpm = positiveNumber("rpm", flags.rpm, true);
  if (flags.tpm !== undefined) restrictions.tpm = positiveNumber("tpm", flags.tpm, true);
  if (flags["budget-usd"] !== undefined) {
    const window = flags["budget-window"] ?? "month";
    if (window !== "day" && window !== "month") throw new UsageError(`--budget-window ${window}: expected day or month`);
    restrictions.budget = { usd: positiveNumber("budget-usd", flags["budget-usd"], false), window };
  } else if (flags["budget-window"] !== undefined) {
    throw new UsageError("--budget-window needs --budget-usd");
  }
  if (flags.role !== undefined) {
    if (flags.role !== "admin" && flags.role !== "user") throw new UsageError(`--role ${flags.role}: expected admin or user`);
    restrictions.role = flags.role;
  }
  return restrictions;
}

const usd = (nano: bigint) => (Number(nano) / 1e9).toFixed(6);

async function budget(target: AdminTarget, flags: { team?: string; key?: string }, io: CommandIo): Promise<number> {
  const response = await target.client.getBudget({ team: flags.team, key: flags.key }, { headers: target.headers });
  const rows = response.budgets.map((b) => [
    b.scope, b.name, b.window, usd(b.limitNanoUsd), usd(b.spentNanoUsd), usd(b.reservedNanoUsd), usd(b.remainingNanoUsd), date(b.windowEnd),
  ]);
  io.out(alignedTable(["scope", "name", "window", "limit_usd", "spent_usd", "reserved_usd", "remaining_usd", "window_ends"], rows));
  return 0;
}

async function keys(target: AdminTarget, sub: string | undefined, args: string[], flags: KeyFlags, io: CommandIo): Promise<number> {
  const call = { headers: target.headers };
  if (sub === "create") {
    if (!flags.name || !flags.team) throw new UsageError("keys create needs --name and --team");
    const expires = flags.expires === undefined ? undefined : Date.parse(flags.expires);
    if (expires !== undefined && !Number.isFinite(expires)) throw new UsageError(`--expires ${flags.expires}: expected an ISO date`);
    const request = { name: flags.name, team: flags.team, expiresAt: expires === undefined ? undefined : timestampFromMs(expires), restrictions: restrictionsOf(flags) };
    const created = await target.client.createKey(request, call);
    io.out(`created key ${created.key?.id} (name ${created.key?.name}, team ${created.key?.team})`);
    io.out(`secret: ${created.secret}`);
    io.out("store it now: the secret is shown only once");
    return 0;
  }
  if (sub === "list") {
    const listed = await target.client.listKeys({ team: flags.team }, call);
    const rows = listed.keys.map((k) => [k.id, k.name, k.team, k.source, date(k.createdAt), date(k.expiresAt), date(k.revokedAt)]);
    io.out(alignedTable(["id", "name", "team", "source", "created", "expires", "revoked"], rows));
    return 0;
  }
  if (sub === "revoke") {
    if (args.length !== 1) throw new UsageError("keys revoke takes one KEY_ID");
    const revoked = await target.client.revokeKey({ id: args[0] }, call);
    io.out(`revoked key ${revoked.key?.id} (name ${revoked.key?.name})`);
    return 0;
  }
  throw new UsageError(`keys ${sub ?? ""}: expected create, list or revoke`);
}

async function audit(target: AdminTarget, sub: string | undefined, flags: { "expect-head"?: string }, io: CommandIo): Promise<number> {
  if (sub === "verify") {
    const verdict = await target.client.verifyAudit({ expectHead: flags["expect-head"] }, { headers: target.headers });
    io.out(`records: ${verdict.count}`);
    io.out(`head: ${verdict.head}`);
    if (verdict.ok) {
      io.out("audit chain OK");
      return 0;
    }
    io.err(`audit chain BROKEN at record ${verdict.firstBrokenSeq}: ${verdict.firstBrokenReason}`);
    return 1;
  }
  if (sub === "export") {
    for await (const line of target.client.exportAudit({}, { headers: target.headers, timeoutMs: 0 })) io.out(line.json);
    return 0;
  }
  throw new UsageError(`audit ${sub ?? ""}: expected verify or export`);
}

/** Runs one admin command; returns the exit code (2 for a usage mistake, 1 for a failed call). */
export async function runAdminCommand(argv: string[], io: CommandIo, now = Date.now()): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
    const [command, sub, ...rest] = positionals;
    const target = await adminTarget(values, io.env);
    if (command === "keys") return await keys(target, sub, rest, values, io);
    if (command === "audit") return await audit(target, sub, values, io);
    if (command === "budget") return await budget(target, values, io);
    if (sub !== undefined) throw new UsageError(`usage takes no argument "${sub}"`);
    io.out(await usageCommand(target, values, now));
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 2;
    }
    if (error instanceof UsageError || error instanceof UsageArgumentError || (error instanceof TypeError && "code" in error)) {
      io.err(`switchboard: ${error.message}\n${ADMIN_USAGE}`);
      return 2;
    }
    if (error instanceof ConnectError) {
      io.err(`switchboard: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
