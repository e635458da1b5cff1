// The admin CLI against a real `switchboard serve` child process with a real SQLite file: usage as
// a table and as JSON, audit verify passing then naming an edited record, and a SIGKILL right
// after answers were received losing none of their rows.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import Database from "better-sqlite3";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../gen/switchboard/v1/admin_pb.js";
import { createInferenceClient, userText } from "../clients/inference-client.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { childOutput } from "./helpers/child-output.js";
import { useFake } from "./helpers/fakes.js";

const CLI = ["--import=tsx", "server/cli.ts"];
const ADMIN_KEY = "admin-secret-for-cli-tests-01";
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS)_/.test(k) && !k.startsWith("SWITCHBOARD_")),
);

async function gatewayConfig(t: ExecutionContext, upstreamUrl: string): Promise<{ file: string; db: string }> {
  const dir = await mkdtemp(join(tmpdir(), "sb-audit-cli-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = join(dir, "data", "switchboard.db");
  const config = {
    listen: "127.0.0.1:0",
    log_level: "info",
    auth: { admin_key: ADMIN_KEY },
    store: { sqlite: { path: db } },
    providers: { upstream: { type: "openai", base_url: `${upstreamUrl}/v1`, api_key: "sk-test-cli-0000000" } },
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "gpt-4o-mini" }] } },
  };
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, JSON.stringify(config));
  return { file, db };
}

async function serve(t: ExecutionContext, configFile: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [...CLI, "serve", "--config", configFile], { env: ENV });
  t.teardown(() => child.kill("SIGKILL"));
  const [, address] = await childOutput(child).waitForLine(/"address":"([^"]+)".*switchboard listening/);
  return { child, address };
}

type Run = { code: number; stdout: string; stderr: string };

async function cli(args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...CLI, ...args], { env: ENV });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test("cli-usage-and-audit-verify: usage as table and json, verify passes, then names the edited record", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const { file, db } = await gatewayConfig(t, fake.url);
  const { address } = await serve(t, file);
  const client = createInferenceClient({ baseUrl: `http://${address}`, timeoutMs: 10_000 });
  fake.enqueue({ kind: "reply", text: "one", usage: { input: 1000, output: 500 } }, { kind: "reply", text: "two", usage: { input: 2000, output: 100 } });
  const costs = [];
  for (const text of ["first", "second"]) costs.push((await client.complete({ model: "chat", messages: [userText(text)] })).usage?.costNanoUsd ?? 0n);
  const target = ["--config", file, "--address", address];

  const created = await cli(["keys", "create", "--name", "search-api", "--team", "search", ...target]);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /secret: sk-sb-/);

  // Independent reads run side by side: each CLI run starts a TypeScript process.
  const [table, json, verified] = await Promise.all([
    cli(["usage", "--since", "24h", "--by", "model", ...target]),
    cli(["usage", "--since", "24h", "--by", "model", "--format", "json", ...target]),
    cli(["audit", "verify", ...target]),
  ]);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split("\n");
  t.deepEqual(lines[0].split(/\s+/), ["model", "calls", "errors", "input_tokens", "cached_input_tokens", "output_tokens", "cost_usd"]);
  const total = costs[0] + costs[1];
  const usd = `0.${String(total).padStart(9, "0")}`;
  t.deepEqual(lines[1].split(/\s+/), ["gpt-4o-mini", "2", "0", "3000", "0", "600", usd]);
  t.deepEqual(lines[2].split(/\s+/), ["TOTAL", "2", "0", "3000", "0", "600", usd]);
  t.is(lines[0].indexOf("calls") + "calls".length, lines[1].indexOf(" 2 ") + 2, "numbers are right-aligned under their header");

  t.is(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { totals: Record<string, unknown>; rows: Record<string, unknown>[] };
  t.is(report.totals.calls, "2");
  t.is(report.totals.input_tokens, "3000");
  t.is(report.totals.cost_nano_usd, String(total));
  t.is(report.rows.length, 1);
  t.is(report.rows[0].model, "gpt-4o-mini");

  t.is(verified.code, 0, verified.stderr);
  t.regex(verified.stdout, /records: 3\n/);
  const head = /head: ([0-9a-f]{64})/.exec(verified.stdout)?.[1] ?? "";
  const [expected, unexpected, exported] = await Promise.all([
    cli(["audit", "verify", "--expect-head", head, ...target]),
    cli(["audit", "verify", "--expect-head", "f".repeat(64), ...target]),
    cli(["audit", "export", ...target]),
  ]);
  t.is(expected.code, 0);
  t.not(unexpected.code, 0, "a head recorded elsewhere that is not in the chain fails");
  t.deepEqual(exported.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { kind: string }).kind), ["call", "call", "key_created"]);

  // Tampering: someone with the file rewrites a call's cost (dropping the guard trigger first).
  const raw = new Database(db);
  raw.exec("DROP TRIGGER audit_no_update");
  raw.prepare("UPDATE audit SET cost_nano = 1 WHERE seq = 2").run();
  raw.close();
  const broken = await cli(["audit", "verify", ...target]);
  t.is(broken.code, 1);
  t.regex(broken.stderr, /BROKEN at record 2\b/);
});

test("sigkill-after-answers-loses-no-row: every call a caller saw answered is in the ledger after a restart", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const { file } = await gatewayConfig(t, fake.url);
  const first = await serve(t, file);
  const client = createInferenceClient({ baseUrl: `http://${first.address}`, timeoutMs: 10_000 });
  const answered = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      let requestId: string | null = null;
      const onHeader = (headers: Headers) => (requestId = headers.get("x-request-id"));
      if (i % 2 === 0) await client.complete({ model: "chat", messages: [userText(`unary ${i}`)] }, { onHeader });
      else for await (const chunk of client.streamComplete({ model: "chat", messages: [userText(`stream ${i}`)] }, { onHeader })) void chunk;
      return requestId;
    }),
  );
  first.child.kill("SIGKILL");
  await new Promise((resolve) => first.child.once("exit", resolve));

  const second = await serve(t, file);
  const admin = createClient(AdminService, createGrpcTransport({ baseUrl: `http://${second.address}` }));
  const stored = new Set<string>();
  for await (const line of admin.exportLedger({}, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })) {
    stored.add((JSON.parse(line.json) as { requestId: string }).requestId);
  }
  t.is(answered.filter((id) => id !== null).length, 20);
  t.deepEqual([...answered].sort(), [...stored].sort());
});
