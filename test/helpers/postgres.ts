// A throwaway PostgreSQL cluster for a test file: initdb into a temp dir, the server on a free
// loopback port (fsync off), one fresh database per test, stopped (SIGINT, waited for) at the end.
// PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` user.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { childOutput } from "./child-output.js";

export type PostgresCluster = {
  port: number;
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
};

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(root, version, "bin", "postgres"))) return join(root, version, "bin");
  throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)");
}

function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  return dir;
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = binDir();
  const dataDir = ownedTempDir("switchboard-pg-data-");
  const socketDir = ownedTempDir("switchboard-pg-sock-");
  const [initCommand, initArgs] = asPostgresUser(join(bin, "initdb"), ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const init = spawnSync(initCommand, initArgs, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);

  const port = await freePort();
  const [command, args] = asPostgresUser(join(bin, "postgres"), [
    "-D", dataDir, "-p", String(port), "-k", socketDir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
    "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
  ]);
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output = childOutput(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await output.waitForLine(/database system is ready to accept connections/, { timeoutMs: 30_000 });

  const admin = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, max: 2 }).on("error", () => {});
  let databases = 0;
  return {
    port,
    async createDatabase() {
      const name = `t_${process.pid}_${++databases}`;
      await admin.query(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await admin.end();
      // The server's own pid (runuser would be the child): fast shutdown on SIGINT.
      const pidFile = join(dataDir, "postmaster.pid");
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : child.pid;
      if (pid) process.kill(pid, "SIGINT");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
