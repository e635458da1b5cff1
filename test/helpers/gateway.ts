// Starts a real gateway on a free loopback port for a test, with the client library pointed at it.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { ExecutionContext } from "ava";
import { createInferenceClient, type InferenceClient } from "../../clients/inference-client.js";
import { validateConfig } from "../../server/config/load.js";
import type { GatewayConfig } from "../../server/config/schema.js";
import { startGateway, type Gateway, type GatewayOptions } from "../../server/gateway.js";
import { seededRandom } from "../fakes/script.js";

export type TestGateway = { gateway: Gateway; client: InferenceClient; baseUrl: string; logs: string[]; config: GatewayConfig };

/**
 * Starts a gateway from a config document; it is closed when the test ends. Its routing randomness
 * is seeded (options.random overrides), so a test that involves weighted or exploring strategies
 * replays identically.
 */
export async function startTestGateway(t: ExecutionContext, document: Record<string, unknown>, options: GatewayOptions = {}): Promise<TestGateway> {
  // Each gateway gets its own ledger file, so tests never share (or leave behind) a database. On
  // memory-backed /dev/shm where there is one: SQLite's fsyncs (at close, at checkpoints) run on the
  // event loop, and on a busy disk they stall the timing-sensitive tests sharing this process.
  const dataDir = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "sb-test-store-"));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = { sqlite: { path: join(dataDir, "switchboard.db") } };
  // The operator listener on a port of its own too: parallel tests must not race for 9464.
  const config = validateConfig({ listen: "127.0.0.1:0", log_level: "info", store, operator: { listen: "127.0.0.1:0" }, ...document }, "test config");
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const gateway = await startGateway(config, { logDestination: sink, random: seededRandom(20261201), ...options });
  t.teardown(() => gateway.close(100));
  const baseUrl = `http://${gateway.address}`;
  // Generous: the first call of a file may load an SDK lazily while other test files start on the same cores.
  return { gateway, client: createInferenceClient({ baseUrl, timeoutMs: 30_000 }), baseUrl, logs, config };
}

/** A config with one provider and one alias "chat" in front of it. */
export function singleProviderConfig(provider: Record<string, unknown>, model = "gpt-4o-mini", extra: Record<string, unknown> = {}) {
  return {
    providers: { upstream: provider },
    // One attempt: these configs test what one upstream answer maps to, not retries.
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model }] } },
    ...extra,
  };
}
