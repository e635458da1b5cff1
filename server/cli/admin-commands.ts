// The admin commands of the CLI, talking to a running gateway over gRPC:
//   switchboard keys create --name N --team T [--expires ISO] | keys list [--team T] | keys revoke ID
//   switchboard usage [--since 7d] [--by model,…] [--format table|csv|json] [filters]
//   switchboard audit verify [--expect-head HASH] | audit export
// Each takes --config FILE, --address HOST:PORT, --admin-key KEY (or SWITCHBOARD_ADMIN_KEY).
import { parseArgs } from "node:util";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../config/load.js";
import { alignedTable } from "./table.js";
import { adminTarget, type AdminTarget } from "./target.js";
import { UsageArgumentError, usageCommand } from "./usage-command.js";

export const ADMIN_COMMANDS = ["keys", "usage", "audit"];

export const ADMIN_USAGE = `  switchboard keys create --name NAME --team TEAM [--expires ISO]   create a virtual key (its secret is shown once)
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

async function keys(target: AdminTarget, sub: string | undefined, args: string[], flags: { name?: string; team?: string; expires?: string }, io: CommandIo): Promise<number> {
  const call = { headers: target.headers };
  if (sub === "create") {
    if (!flags.name || !flags.team) throw new UsageError("keys create needs --name and --team");
    const expires = flags.expires === undefined ? undefined : Date.parse(flags.expires);
    if (expires !== undefined && !Number.isFinite(expires)) throw new UsageError(`--expires ${flags.expires}: expected an ISO date`);
    const created = await target.client.createKey({ name: flags.name, team: flags.team, expiresAt: expires === undefined ? undefined : timestampFromMs(expires) }, call);
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
