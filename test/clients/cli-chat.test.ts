// `switchboard chat` and `switchboard complete` as CLI child processes against a running gateway:
// streamed answers with each one's cost, the conversation's history sent with the next question,
// the key from SWITCHBOARD_API_KEY or --api-key, and an unknown alias exiting 1 with its status.
import { spawn } from "node:child_process";
import test, { type ExecutionContext } from "ava";
import { usdFromNano } from "../../server/cli/table.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "../helpers/gateway.js";

const KEY = "sk-cli-chat-test-key-0001";
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS)_/.test(k) && !k.startsWith("SWITCHBOARD_")),
);

type Run = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], input: string, env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ["--import=tsx", "server/cli.ts", ...args], { env: { ...ENV, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

async function setup(t: ExecutionContext) {
  // Each CLI run starts a TypeScript process: slow on a busy 2-core machine.
  t.timeout(180_000);
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(t, {
    ...singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-0000000" }),
    teams: { search: {} },
    keys: [{ name: "cli-user", team: "search", secret: KEY }],
  });
  return { fake, address: gw.gateway.address };
}

const COST_LINE = /\[\$(\d+\.\d{9}) · upstream\/gpt-4o-mini · (\d+) in, (\d+) out tokens\]/g;

test("cli-chat-streams-answers-with-their-cost-and-keeps-the-history", async (t) => {
  const { fake, address } = await setup(t);
  fake.enqueue(
    { kind: "reply", chunks: ["Hello ", "there."], usage: { input: 1000, output: 500 } },
    { kind: "reply", chunks: ["Second ", "answer."], usage: { input: 2000, output: 100 } },
  );
  const run = await cli(["chat", "--address", address, "--model", "chat"], "Hi!\n\nWhat next?\n/exit\n", { SWITCHBOARD_API_KEY: KEY });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /Hello there\.\n\[/);
  t.regex(run.stdout, /Second answer\.\n\[/);
  const costs = [...run.stdout.matchAll(COST_LINE)];
  t.deepEqual(costs.map((m) => [m[2], m[3]]), [["1000", "500"], ["2000", "100"]]);
  const nano = costs.map((m) => BigInt(m[1].replace(".", "")));
  t.true(nano[0] > 0n && nano[1] > 0n);
  t.regex(run.stdout, new RegExp(`total: \\$${usdFromNano(nano[0] + nano[1]).replace(".", "\\.")} over 2 answers`));

  t.is(fake.requests.length, 2);
  const second = fake.requests[1].body as { messages: { role: string; content: unknown }[]; stream: boolean };
  t.true(second.stream);
  t.deepEqual(second.messages.map((m) => m.role), ["user", "assistant", "user"]);
  t.regex(JSON.stringify(second.messages[1].content), /Hello there\./);
});

test("cli-complete-prints-the-answer-and-its-cost", async (t) => {
  const { fake, address } = await setup(t);
  fake.enqueue({ kind: "reply", text: "One-off answer.", usage: { input: 40, output: 7 } }, { kind: "reply", text: "From stdin.", usage: { input: 3, output: 2 } });
  const run = await cli(["complete", "--address", address, "--api-key", KEY, "--model", "chat", "--system", "Be brief.", "Say", "something"], "");
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, "One-off answer.\n");
  t.regex(run.stderr, /^\$\d+\.\d{9} · upstream\/gpt-4o-mini · 40 in, 7 out tokens\n$/);
  const body = fake.requests[0].body as { messages: { role: string; content: unknown }[] };
  t.deepEqual(body.messages.map((m) => m.role), ["system", "user"]);
  t.regex(JSON.stringify(body.messages[1].content), /Say something/);

  const json = await cli(["complete", "--address", address, "--api-key", KEY, "--model", "chat", "--json"], "prompt on stdin\n");
  t.is(json.code, 0, json.stderr);
  const response = JSON.parse(json.stdout) as { usage: { inputTokens: string; costNanoUsd: string }; route: { provider: string } };
  t.is(response.usage.inputTokens, "3");
  t.is(response.route.provider, "upstream");
  t.regex(JSON.stringify(fake.requests[1].body), /prompt on stdin/);
});

test("cli-complete-failures-exit-1-with-the-status", async (t) => {
  const { fake, address } = await setup(t);
  const [unknownAlias, noKey, noPrompt] = await Promise.all([
    cli(["complete", "--address", address, "--api-key", KEY, "--model", "no-such-alias", "Hi"], ""),
    cli(["complete", "--address", address, "--model", "chat", "Hi"], ""),
    cli(["complete", "--address", address, "--api-key", KEY], ""),
  ]);
  t.is(unknownAlias.code, 1);
  t.regex(unknownAlias.stderr, /not_found.*no-such-alias/);
  t.is(noKey.code, 1);
  t.regex(noKey.stderr, /unauthenticated/);
  t.false(noKey.stderr.includes(KEY));
  t.is(noPrompt.code, 2);
  t.regex(noPrompt.stderr, /needs a prompt/);
  t.is(fake.requests.length, 0);
});
