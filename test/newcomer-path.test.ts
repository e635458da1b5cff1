// The README's newcomer path, command by command, against a real `switchboard serve` child on the
// built-in defaults (demo upstream, SWITCHBOARD_ADMIN_KEY in the environment): create keys with the
// CLI, call with one through `buf curl`, see the call in `usage`, hit an RPM limit and a budget,
// read `budget`, verify the audit chain.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { createInferenceClient, userText } from "../clients/inference-client.js";
import { childOutput } from "./helpers/child-output.js";

const CLI = ["--import=tsx", "server/cli.ts"];
const ADMIN_KEY = "newcomer-admin-key-000000000001";

type Run = { code: number; stdout: string; stderr: string };

async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test("newcomer-path: keys create, buf curl with the key, usage, an RPM limit, a budget, budget and audit verify", async (t) => {
  // Eight CLI processes, each a fresh node + tsx start: minutes on a loaded 2-core machine.
  t.timeout(300_000);
  const dir = await mkdtemp(join(tmpdir(), "sb-newcomer-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS)_/.test(k) && !k.startsWith("SWITCHBOARD_"))),
    SWITCHBOARD_ADMIN_KEY: ADMIN_KEY,
    SWITCHBOARD_SQLITE_PATH: join(dir, "switchboard.db"),
  };
  const child = spawn(process.execPath, [...CLI, "serve", "--listen", "127.0.0.1:0"], { env });
  t.teardown(() => child.kill("SIGKILL"));
  const [, address] = await childOutput(child).waitForLine(/"address":"([^"]+)".*switchboard listening/);
  const cli = (...args: string[]) => run(process.execPath, [...CLI, ...args, "--address", address], env);

  const created = await cli("keys", "create", "--name", "me", "--team", "demo", "--rpm", "3");
  t.is(created.code, 0, created.stderr);
  const secret = /secret: (sk-sb-\S+)/.exec(created.stdout)?.[1] ?? "";
  t.regex(secret, /^sk-sb-/);

  const body = JSON.stringify({ model: "chat-default", messages: [{ role: "ROLE_USER", content: [{ text: "Hello!" }] }] });
  const curl = await run(
    "node_modules/.bin/buf",
    ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", `authorization: Bearer ${secret}`, "-d", body, `http://${address}/switchboard.v1.InferenceService/Complete`],
    env,
  );
  t.is(curl.code, 0, curl.stderr);
  const answer = JSON.parse(curl.stdout) as { route: { provider: string }; usage: { costNanoUsd: string } };
  t.is(answer.route.provider, "demo-upstream");
  t.true(BigInt(answer.usage.costNanoUsd) > 0n, "the demo carries a nominal price");

  const usage = await cli("usage", "--since", "1h", "--by", "model", "--format", "json");
  t.is(usage.code, 0, usage.stderr);
  const report = JSON.parse(usage.stdout) as { totals: { calls: string; cost_nano_usd: string } };
  t.is(report.totals.calls, "1");
  t.is(report.totals.cost_nano_usd, answer.usage.costNanoUsd);

  const client = createInferenceClient({ baseUrl: `http://${address}`, apiKey: secret, timeoutMs: 20_000 });
  const hello = { model: "chat-default", messages: [userText("Hello!")] };
  await client.complete(hello);
  await client.complete(hello);
  const limited = ConnectError.from(await t.throwsAsync(client.complete(hello)));
  t.is(limited.code, Code.ResourceExhausted);
  t.is(limited.findDetails(ErrorInfoSchema)[0]?.reason, "RPM_LIMIT");

  const tight = await cli("keys", "create", "--name", "tight", "--team", "demo", "--budget-usd", "0.0002", "--budget-window", "day");
  const tightKey = createInferenceClient({ baseUrl: `http://${address}`, apiKey: /secret: (sk-sb-\S+)/.exec(tight.stdout)?.[1] ?? "", timeoutMs: 20_000 });
  let served = 0;
  let refusal: ConnectError | undefined;
  for (let i = 0; i < 20 && refusal === undefined; i++) {
    try {
      await tightKey.complete(hello);
      served++;
    } catch (error) {
      refusal = ConnectError.from(error);
    }
  }
  t.true(served >= 1, "the budget admits what fits");
  t.is(refusal?.code, Code.ResourceExhausted);
  t.is(refusal?.findDetails(ErrorInfoSchema)[0]?.reason, "BUDGET_EXHAUSTED");

  const budget = await cli("budget");
  t.is(budget.code, 0, budget.stderr);
  t.regex(budget.stdout, /key\s+tight\s+day\s+0\.000200\s+0\.000\d+/);

  const verify = await cli("audit", "verify");
  t.is(verify.code, 0, verify.stderr);
  t.regex(verify.stdout, /audit chain OK/);
  t.regex(verify.stdout, /records: (\d+)/);
});
