// Starting and watching the processes of a bench run: each one fresh, with the file-descriptor
// limit raised (10,000 open streams need more than the default 1,024), and its CPU time and
// resident memory read from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { createInterface } from "node:readline";

export const ROOT = new URL("..", import.meta.url).pathname;
const FD_LIMIT = 20_000;

export type Proc = {
  name: string;
  pid: number;
  /** The first stdout line, for processes that announce themselves (the fake prints {"port":N}). */
  firstLine: Promise<string>;
  /** stderr and stdout tail, for the failure message when a run goes wrong. */
  output(): string;
  stop(): Promise<void>;
};

/** Runs `node ...args` under `ulimit -n` raised as far as the hard limit allows. */
export function startNode(name: string, args: string[], onLine?: (line: string) => void, cwd = ROOT): Proc {
  const command = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n $(ulimit -Hn); exec node "$@"`;
  const child: ChildProcess = spawn("sh", ["-c", command, "node", ...args], {
    cwd,
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString("utf8")).slice(-4000));
  child.stderr?.on("data", keep);
  const lines = createInterface({ input: child.stdout! });
  const firstLine = new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${tail}`)));
  });
  lines.on("line", (line) => {
    tail = (tail + line + "\n").slice(-4000);
    onLine?.(line);
  });
  firstLine.catch(() => undefined);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    pid: child.pid!,
    firstLine,
    output: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port free right now on 127.0.0.1 (for processes that take --port / --listen). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== "object") throw new Error("no port");
  return address.port;
}

/** Resolves once the port accepts TCP connections (the process is listening), or fails after timeoutMs. */
export async function waitForPort(port: number, proc: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died: Error | undefined;
  proc.firstLine.catch((error: Error) => (died = error));
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    if (died) throw died;
    if (Date.now() > deadline) throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const CLOCK_TICKS_PER_S = 100; // Linux USER_HZ; /proc reports utime/stime in these units

export type ProcSample = { cpuMs: number; rssBytes: number };

/** utime+stime (ms) and resident set size of a process, from /proc/PID/stat and /proc/PID/status. */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name in parentheses (which may contain spaces): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) + stime (15)
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S, rssBytes: rssKb * 1024 };
}

/** Starts the fake upstream (bench/fake-upstream.ts) and returns its port. */
export async function startFake(options: { latencyMs?: number; tokenIntervalMs?: number; hosts?: number } = {}): Promise<Proc & { port: number }> {
  const proc = startNode("fake upstream", [
    "--import",
    "tsx",
    "bench/fake-upstream.ts",
    "--latency-ms",
    String(options.latencyMs ?? 0),
    "--token-interval-ms",
    String(options.tokenIntervalMs ?? 0),
    "--hosts",
    String(options.hosts ?? 1),
  ]);
  const { port } = JSON.parse(await proc.firstLine) as { port: number };
  return { ...proc, port };
}

/** A redis-server for the shared-state scenario: its own port, no persistence. */
export async function startRedis(): Promise<Proc & { url: string }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      tail = (tail + line + "\n").slice(-4000);
      if (line.includes("Ready to accept connections")) resolve(line);
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${tail}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proc: Proc = {
    name: "redis",
    pid: child.pid!,
    firstLine: ready,
    output: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
  await ready;
  return { ...proc, url: `redis://127.0.0.1:${port}` };
}

export type FakeCounts = { ok: number; failed: number; open: number };

export async function fakeCounts(port: number): Promise<FakeCounts> {
  const response = await fetch(`http://127.0.0.1:${port}/count`);
  return (await response.json()) as FakeCounts;
}
