// The servers under test, each started as a fresh process and driven as a black box: the gateway
// (`node --import tsx server/cli.ts serve --config <generated yaml>`, whatever front door it has) and
// the peer, the Portkey gateway from npm, installed on demand outside the project's dependencies.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, ROOT, startNode, waitForPort, type Proc } from "./processes.js";

export const PEER_VERSION = "1.15.2";
const PEER_DIR = join(ROOT, "bench/.peer");
const PEER_START = join(PEER_DIR, "node_modules/@portkey-ai/gateway/build/start-server.js");

export type Server = Proc & { port: number; baseUrl: string };

/** A switchboard.yaml document (JSON is YAML) for the gateway. */
export type GatewayDocument = Record<string, unknown> & { models: Record<string, unknown> };

/** `root` is the checkout to run (default this one): `bench:quick -- --b-root` compares two. */
export async function startGateway(document: GatewayDocument, nodeFlags: string[] = [], onLine?: (line: string) => void, root = ROOT): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-config-"));
  const configPath = join(dir, "switchboard.yaml");
  // The ledger goes to a fresh file on the temp disk (never the repo's data/), as a deployment would write it.
  const store = { sqlite: { path: join(dir, "switchboard.db") } };
  writeFileSync(configPath, JSON.stringify({ log_level: "warn", store, ...document, listen: `127.0.0.1:${port}` }, null, 2));
  const proc = startNode("gateway", [...nodeFlags, "--import", "tsx", "server/cli.ts", "serve", "--config", configPath], onLine, root);
  try {
    await waitForPort(port, proc, 60_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { ...proc, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** The one OpenAI-compatible provider every bench alias uses: the fake upstream. */
export function fakeProvider(fakePort: number) {
  return { type: "openai", base_url: `http://127.0.0.1:${fakePort}/v1`, api_key: "sk-bench-0000000000" };
}

export function ensurePeer(): void {
  if (existsSync(PEER_START)) return;
  console.error(`== installing the peer @portkey-ai/gateway@${PEER_VERSION} into bench/.peer (gitignored)`);
  execFileSync("npm", ["install", "--prefix", PEER_DIR, "--no-audit", "--no-fund", "--no-save", `@portkey-ai/gateway@${PEER_VERSION}`], {
    stdio: "ignore",
  });
  if (!existsSync(PEER_START)) throw new Error(`the peer did not install: ${PEER_START} is missing`);
}

export async function startPeer(): Promise<Server> {
  const port = await freePort();
  const proc = startNode("portkey", [PEER_START, `--port=${port}`]);
  try {
    await waitForPort(port, proc, 60_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { ...proc, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** Portkey's route to an OpenAI-compatible upstream at the fake, as the issue names it. */
export function peerHeaders(fakePort: number): string[] {
  return [
    "content-type: application/json",
    "authorization: Bearer sk-bench-0000000000",
    "x-portkey-provider: openai",
    `x-portkey-custom-host: http://127.0.0.1:${fakePort}/v1`,
  ];
}
