// Secrets stay out of what leaves the process: provider headers are secrets like api_key, logged
// errors are readable and redacted, and the redaction set follows the config in force.
import test from "ava";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ConnectError } from "@connectrpc/connect";
import { UpstreamError } from "../server/core/errors.js";
import { isRegisteredSecret, registerSecret } from "../server/core/redact.js";
import { createLogger } from "../server/telemetry/log.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";
import { watchForGateway } from "./helpers/reloads.js";
import { userText } from "../clients/inference-client.js";

const ask = () => ({ model: "chat", messages: [userText("Hi")] });

function logSink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  });
  return { stream, lines: () => written.join("").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>) };
}

// Serial: AVA runs serial tests first, so this test's config swaps cannot prune the secrets the
// concurrent tests below register.
test.serial("rotated-secrets-leave-the-redaction-set: rotating a ${file:…} secret twice keeps only the one in force", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  // The fake echoes the key it was sent (without "Bearer ", which redaction knows as a shape).
  fake.setProgram((request) => ({
    kind: "error",
    error: "server_error",
    message: `no such key: ${String(request.headers.authorization).slice("Bearer ".length)}`,
  }));
  const dir = await mkdtemp(join(tmpdir(), "sb-rotate-"));
  const secret = join(dir, "key");
  await writeFile(secret, "rotation-key-one-1111\n");
  const document = singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: `\${file:${secret}}` });
  const { gateway, client, logs } = await startTestGateway(t, document);
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, JSON.stringify({ listen: "127.0.0.1:0", ...document }));
  const watched = await watchForGateway(t, file, gateway);
  t.true(isRegisteredSecret("rotation-key-one-1111"));

  for (const next of ["rotation-key-two-2222", "rotation-key-three-3333"]) {
    const reloaded = watched.nextReload();
    await writeFile(secret, `${next}\n`);
    await reloaded;
  }
  t.false(isRegisteredSecret("rotation-key-one-1111"), "the first key left the set");
  t.false(isRegisteredSecret("rotation-key-two-2222"), "the second key left the set");
  t.true(isRegisteredSecret("rotation-key-three-3333"));

  const error = await t.throwsAsync(client.complete(ask()));
  t.is(fake.last().headers.authorization, "Bearer rotation-key-three-3333");
  t.regex(error?.message ?? "", /no such key: \[REDACTED\]/);
  t.false(logs.join("").includes("rotation-key-three-3333"));
});

test("provider-header-echo-redacted: an upstream echoing a headers: value leaks it to neither caller nor logs", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  fake.setProgram((request) => ({ kind: "error", error: "server_error", message: `unknown tenant ${String(request.headers["x-tenant"])}` }));
  const { client, logs } = await startTestGateway(
    t,
    singleProviderConfig({ type: "openai-compatible", base_url: `${fake.url}/v1`, headers: { "x-tenant": "tenant-7f3a9c2e" } }),
  );
  const error = await t.throwsAsync(client.complete(ask()));
  t.is(fake.last().headers["x-tenant"], "tenant-7f3a9c2e", "the header reached the upstream");
  t.false(error?.message.includes("tenant-7f3a9c2e"), error?.message);
  t.regex(error?.message ?? "", /unknown tenant \[REDACTED\]/);
  t.true(logs.some((line) => line.includes("unknown tenant [REDACTED]")), "the failure was logged, redacted");
  t.false(logs.join("").includes("tenant-7f3a9c2e"));
});

test("logged-errors-are-not-empty: an error's type, message and cause chain reach the log line, redacted", (t) => {
  registerSecret("logged-secret-5d1e");
  const sink = logSink();
  const log = createLogger("info", sink.stream);
  const root = new ConnectError("socket hang up near logged-secret-5d1e");
  const failure = new UpstreamError("unavailable", "up", "provider up failed", { status: 503 });
  const error = new Error("call failed for logged-secret-5d1e", { cause: Object.assign(failure, { cause: root }) });
  log.error({ err: error }, "unexpected error in a call");
  log.error(new TypeError("bad input logged-secret-5d1e"));
  log.warn({ headers: { authorization: "opaque-credential", "x-request-id": "req_1" } }, "upstream answered");

  const [first, second, third] = sink.lines();
  t.is(first.msg, "unexpected error in a call");
  const err = first.err as Record<string, unknown>;
  t.is(err.type, "Error");
  t.is(err.message, "call failed for [REDACTED]");
  t.regex(String(err.stack), /^Error: call failed for \[REDACTED\]\n {4}at /);
  const cause = err.cause as Record<string, unknown>;
  t.like(cause, { type: "UpstreamError", message: "provider up failed", kind: "unavailable", provider: "up" });
  t.like(cause.cause as Record<string, unknown>, { type: "ConnectError", message: "[unknown] socket hang up near [REDACTED]" });

  t.like(second, { msg: "bad input [REDACTED]", err: { type: "TypeError", message: "bad input [REDACTED]" } });
  t.deepEqual(third.headers, { authorization: "[REDACTED]", "x-request-id": "req_1" });
  t.false(JSON.stringify(sink.lines()).includes("logged-secret-5d1e"));
});
