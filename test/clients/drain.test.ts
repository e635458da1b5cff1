// Two gateway processes behind the grpc-js client's round-robin; one gets SIGTERM mid-run. It
// drains (health Watch turns NOT_SERVING, GOAWAY, in-flight calls finish) and the client keeps
// succeeding on the other with zero failed calls: grpc-js's transparent retry covers streams the
// draining gateway refused, with no status-based retry in the client.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { type ExecutionContext } from "ava";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { createGrpcInferenceClient } from "../../clients/grpc-client.js";
import { userText } from "../../clients/inference-client.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { childOutput } from "../helpers/child-output.js";
import { useFake } from "../helpers/fakes.js";

const ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS)_/.test(k) && !k.startsWith("SWITCHBOARD_")),
);

async function serve(t: ExecutionContext, dir: string, name: string, upstreamUrl: string) {
  const config = {
    listen: "127.0.0.1:0",
    log_level: "info",
    shutdown_grace_ms: 10_000,
    store: { sqlite: { path: join(dir, `${name}.db`) } },
    // The provider is named after the gateway, so each answer's route tells which one served it.
    providers: { [name]: { type: "openai", base_url: `${upstreamUrl}/v1`, api_key: "sk-test-drain-000000" } },
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: name, model: "gpt-4o-mini" }] } },
  };
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify(config));
  const child: ChildProcess = spawn(process.execPath, ["--import=tsx", "server/cli.ts", "serve", "--config", file], { env: ENV });
  t.teardown(() => child.kill("SIGKILL"));
  const output = childOutput(child);
  const [, address] = await output.waitForLine(/"address":"([^"]+)".*switchboard listening/);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, address, output, exited };
}

test("sigterm-one-of-two-gateways-loses-no-call: round-robin client, health NOT_SERVING, zero failures", async (t) => {
  t.timeout(180_000);
  const fake = await useFake(t, () => startOpenAIFake());
  // Every answer takes a little while, so calls are in flight when the signal lands.
  fake.setProgram(() => ({ kind: "reply", text: "ok", delayMs: 20 }));
  const dir = await mkdtemp(join(tmpdir(), "sb-drain-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [a, b] = await Promise.all([serve(t, dir, "gw-a", fake.url), serve(t, dir, "gw-b", fake.url)]);

  const client = createGrpcInferenceClient({ addresses: [a.address, b.address], timeoutMs: 20_000 });
  t.teardown(() => client.close());
  const servedBy = { "gw-a": 0, "gw-b": 0 } as Record<string, number>;
  const failures: unknown[] = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const response = await client.complete({ model: "chat", messages: [userText("ping")] });
        const provider = response.route?.provider ?? "?";
        servedBy[provider] = (servedBy[provider] ?? 0) + 1;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);

  const waitFor = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setImmediate(resolve));
  };
  await waitFor(() => servedBy["gw-a"] >= 20 && servedBy["gw-b"] >= 20);

  // A health Watch opened before the signal sees the draining gateway turn NOT_SERVING.
  const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${a.address}` }));
  const statuses: Serving[] = [];
  const watched = (async () => {
    for await (const response of health.watch({ service: "" })) {
      statuses.push(response.status);
      if (statuses.length === 1) a.child.kill("SIGTERM");
    }
  })();
  await watched;
  t.deepEqual(statuses, [Serving.SERVING, Serving.NOT_SERVING]);
  const signalled = Date.now();
  t.is(await a.exited, 0, a.output.text());
  t.log(`drained in ${Date.now() - signalled} ms`);
  t.regex(a.output.text(), /SIGTERM: draining in-flight calls/);

  const afterExit = servedBy["gw-b"];
  await waitFor(() => servedBy["gw-b"] >= afterExit + 50 || failures.length > 0);
  stop = true;
  await Promise.all(workers);
  t.deepEqual(failures, [], "no call failed");
  t.true(servedBy["gw-a"] >= 20 && servedBy["gw-b"] >= afterExit + 50);
  t.deepEqual(Object.keys(servedBy).sort(), ["gw-a", "gw-b"]);
});
