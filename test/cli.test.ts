// The `switchboard` command as an operator runs it: exit codes, the built-in demo, SIGTERM drain, TLS.
import test from "ava";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { InferenceService } from "../gen/switchboard/v1/inference_pb.js";
import { createInferenceClient, userText } from "../clients/inference-client.js";
import { validateConfig } from "../server/config/load.js";
import { startGateway } from "../server/gateway.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { childOutput, type ChildOutput } from "./helpers/child-output.js";
import { useFake } from "./helpers/fakes.js";

const run = promisify(execFile);
const CLI = ["--import=tsx", "server/cli.ts"];
const ENV_WITHOUT_KEYS = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS)_/.test(k) && k !== "SWITCHBOARD_CONFIG"),
);

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sb-cli-"));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Starts `switchboard serve` and resolves with its address once it logs that it listens. */
async function serve(args: string[]): Promise<{ child: ChildProcess; address: string; output: ChildOutput }> {
  const child = spawn(process.execPath, [...CLI, "serve", "--listen", "127.0.0.1:0", ...args], { env: ENV_WITHOUT_KEYS });
  const output = childOutput(child);
  try {
    const [, address] = await output.waitForLine(/"address":"([^"]+)".*switchboard listening/);
    return { child, address, output };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

const exitCode = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once("exit", resolve));

const messagesOf = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);

test("--version prints the package version on stdout and exits 0", async (t) => {
  const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  const { stdout, stderr } = await run(process.execPath, [...CLI, "--version"], { env: ENV_WITHOUT_KEYS });
  t.is(stdout, `switchboard ${manifest.version}\n`);
  t.is(stderr, "");
});

test("--help prints the usage on stdout and exits 0", async (t) => {
  const { stdout, stderr } = await run(process.execPath, [...CLI, "--help"], { env: ENV_WITHOUT_KEYS });
  t.regex(stdout, /^usage:\n {2}switchboard serve/);
  t.regex(stdout, /switchboard --version/);
  t.is(stderr, "");
});

test("an unknown command or option prints the usage on stderr and exits 2", async (t) => {
  for (const args of [["servee"], ["--bogus"]]) {
    const error = (await t.throwsAsync(run(process.execPath, [...CLI, ...args], { env: ENV_WITHOUT_KEYS }))) as Error & {
      code: number;
      stdout: string;
      stderr: string;
    };
    t.is(error.code, 2, args.join(" "));
    t.is(error.stdout, "", args.join(" "));
    t.regex(error.stderr, /usage:\n {2}switchboard serve/, args.join(" "));
  }
});

test("check: an invalid file exits non-zero with the path of each bad field", async (t) => {
  const file = await tempFile(
    "bad.yaml",
    "providers:\n  openai-main:\n    type: openai\n    api_key: sk-x\nmodels:\n  chat:\n    targets:\n      - provider: opena1\n        model: gpt-4o\n",
  );
  const error = await t.throwsAsync(run(process.execPath, [...CLI, "check", "--config", file], { env: ENV_WITHOUT_KEYS }));
  const failed = error as Error & { code: number; stderr: string };
  t.is(failed.code, 2);
  t.true(failed.stderr.includes('models.chat.targets[0].provider: unknown provider "opena1" (known: openai-main)'));
});

test("serve: an invalid config exits 2 before listening", async (t) => {
  const file = await tempFile("bad.yaml", "listen: 127.0.0.1:50051\nproviders: {}\nmodels: {}\nbogus: 1\n");
  const error = (await t.throwsAsync(run(process.execPath, [...CLI, "serve", "--config", file], { env: ENV_WITHOUT_KEYS }))) as Error & {
    code: number;
    stderr: string;
  };
  t.is(error.code, 2);
  t.regex(error.stderr, /\(root\): unknown field\(s\) "bogus"/);
  t.regex(error.stderr, /models: at least one model alias is required/);
});

test("serve with no config and no keys: the demo alias streams through the OpenAI adapter", async (t) => {
  const { child, address, output } = await serve([]);
  t.teardown(() => child.kill("SIGKILL"));
  t.regex(output.text(), /embedded DEMO upstream/);
  const client = createInferenceClient({ baseUrl: `http://${address}` });
  let text = "";
  for await (const chunk of client.streamComplete({ model: "chat-default", messages: [userText("Hi")] })) {
    if (chunk.event.case === "textDelta") text += chunk.event.value.text;
    if (chunk.event.case === "done") t.is(chunk.event.value.route?.providerType, "openai");
  }
  t.regex(text, /demo upstream \(canned, not a model\)/);
  const notes = messagesOf(output.text());
  t.true(notes.some((msg) => msg.startsWith("no provider credentials in the environment")));
  t.deepEqual(notes.filter((msg) => msg.endsWith(":")), [], "no start-up line ends in a dangling colon");
  child.kill("SIGTERM");
  t.is(await exitCode(child), 0);
});

test("SIGTERM lets an in-flight stream finish, then exits 0", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const file = await tempFile(
    "switchboard.yaml",
    `providers:\n  up:\n    type: openai\n    base_url: ${fake.url}/v1\n    api_key: sk-test-000000\nmodels:\n  chat:\n    targets:\n      - provider: up\n        model: gpt-4o-mini\n`,
  );
  const { child, address } = await serve(["--config", file]);
  t.teardown(() => child.kill("SIGKILL"));
  fake.enqueue({ kind: "reply", chunks: ["one ", "two ", "three"], chunkDelayMs: 150 });
  const client = createInferenceClient({ baseUrl: `http://${address}` });
  const exited = exitCode(child);
  let text = "";
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Hi")] })) {
    if (chunk.event.case === "textDelta") {
      if (text === "") child.kill("SIGTERM");
      text += chunk.event.value.text;
    }
  }
  t.is(text, "one two three");
  t.is(await exited, 0);
});

test("TLS: with a cert and key the gateway serves gRPC over https", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sb-tls-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"]);
  const fake = await useFake(t, () => startOpenAIFake());
  const config = validateConfig(
    {
      listen: "127.0.0.1:0",
      log_level: "silent",
      tls: { cert_file: cert, key_file: key },
      providers: { up: { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-000000" } },
      models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    },
    "tls test",
  );
  const gateway = await startGateway(config);
  t.teardown(() => gateway.close(100));
  const transport = createGrpcTransport({ baseUrl: `https://${gateway.address}`, nodeOptions: { ca: await readFile(cert) } });
  const res = await createClient(InferenceService, transport).complete({ model: "chat", messages: [userText("secure")] });
  t.is(res.message?.content[0]?.part.value, "echo: secure");
});
