// A real redis-server for a test: its own free loopback port and temporary directory, no
// persistence; ready when it prints "Ready to accept connections". stop() and start() again on the
// same port are how a test simulates an outage and Redis's return.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionContext } from "ava";
import { childOutput } from "./child-output.js";

export type TestRedis = {
  port: number;
  url: string;
  /** Starts redis-server (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (SIGTERM) and resolves once the process has exited. */
  stop(): Promise<void>;
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(t: ExecutionContext): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), "sb-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
      child = started;
      await childOutput(started).waitForLine(/Ready to accept connections/, { timeoutMs: 20_000 });
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGTERM");
      await exited;
    },
  };
  t.teardown(async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await redis.start();
  return redis;
}
