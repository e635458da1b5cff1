// Where the admin commands find the gateway and the admin credential: --config FILE (its listen and
// auth.admin_key), overridden by --address and --admin-key / SWITCHBOARD_ADMIN_KEY.
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchboard/v1/admin_pb.js";
import { createInferenceClient, type InferenceClient } from "../../clients/inference-client.js";
import { loadConfigFile } from "../config/load.js";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";

export type TargetFlags = { config?: string; address?: string; "admin-key"?: string };

export type AdminTarget = { client: Client<typeof AdminService>; headers: Record<string, string>; address: string };

export async function adminTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): Promise<AdminTarget> {
  const config = flags.config ? await loadConfigFile(flags.config, env) : undefined;
  // A wildcard listen address is reached on loopback.
  const listen = config?.listen.replace(/^(0\.0\.0\.0|\[::\]):/, "127.0.0.1:");
  const address = flags.address ?? listen ?? DEFAULT_ADDRESS;
  const adminKey = flags["admin-key"] ?? env.SWITCHBOARD_ADMIN_KEY ?? config?.auth.admin_key;
  const scheme = config?.tls && !flags.address ? "https" : "http";
  const client = createClient(AdminService, createGrpcTransport({ baseUrl: `${scheme}://${address}`, defaultTimeoutMs: 30_000 }));
  return { client, headers: adminKey ? { authorization: `Bearer ${adminKey}` } : {}, address };
}

export type InferenceFlags = { config?: string; address?: string; "api-key"?: string };

export type InferenceTarget = { client: InferenceClient; address: string };

/** The gateway for chat/complete: like adminTarget, with the caller's virtual key (--api-key / SWITCHBOARD_API_KEY). */
export async function inferenceTarget(flags: InferenceFlags, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<InferenceTarget> {
  const config = flags.config ? await loadConfigFile(flags.config, env) : undefined;
  const listen = config?.listen.replace(/^(0\.0\.0\.0|\[::\]):/, "127.0.0.1:");
  const address = flags.address ?? listen ?? DEFAULT_ADDRESS;
  const scheme = config?.tls && !flags.address ? "https" : "http";
  const apiKey = flags["api-key"] ?? env.SWITCHBOARD_API_KEY;
  return { client: createInferenceClient({ baseUrl: `${scheme}://${address}`, apiKey, timeoutMs }), address };
}
