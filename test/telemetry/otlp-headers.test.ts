// Hosted collectors want a credential on every export (Honeycomb's x-honeycomb-team, Grafana
// Cloud's authorization, …): `telemetry.traces.headers` sends configured headers, the standard
// OTEL_EXPORTER_OTLP_(TRACES_)HEADERS variables still apply, the config wins where both name one,
// and the values never reach the gateway's logs.
import test from "ava";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { ConfigError, validateConfig } from "../../server/config/load.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { setEnvForTest } from "../helpers/env.js";
import { startOtlpCollector } from "../helpers/otlp-collector.js";

const COLLECTOR_TOKEN = "hc-collector-token-0000000000000001";
const ENV_TOKEN = "env-collector-token-000000000000002";

async function exportOneCall(t: Parameters<typeof startTestGateway>[0], traces: Record<string, unknown>) {
  const openai = await useFake(t, () => startOpenAIFake());
  const { gateway, client, logs } = await startTestGateway(t, {
    providers: { up: { type: "openai", base_url: `${openai.url}/v1`, api_key: "sk-test-openai-key-000001" } },
    models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    telemetry: { traces: { exporter: "otlp", ...traces } },
  });
  await client.complete({ model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
  await gateway.close(100); // flushes the batch
  return logs;
}

// Serial: one of them sets a process-wide environment variable while its gateway is built.
test.serial("otlp-exporter-sends-configured-headers and never logs them", async (t) => {
  const collector = await startOtlpCollector(t);
  const logs = await exportOneCall(t, { endpoint: collector.endpoint, headers: { "x-honeycomb-team": COLLECTOR_TOKEN } });
  t.true(collector.exports.length >= 1);
  for (const { headers } of collector.exports) t.is(headers["x-honeycomb-team"], COLLECTOR_TOKEN);
  t.true(logs.length > 0);
  t.false(logs.join("").includes(COLLECTOR_TOKEN));
});

test.serial("otlp-exporter-reads-otel-headers-env and the config wins for the same header", async (t) => {
  const collector = await startOtlpCollector(t);
  setEnvForTest(t, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", `x-env-token=${ENV_TOKEN},x-shared=from-env`);
  const logs = await exportOneCall(t, { endpoint: collector.endpoint, headers: { "x-shared": "from-config" } });
  t.true(collector.exports.length >= 1);
  for (const { headers } of collector.exports) {
    t.is(headers["x-env-token"], ENV_TOKEN);
    t.is(headers["x-shared"], "from-config");
  }
  t.false(logs.join("").includes(ENV_TOKEN));
});

test("otlp-headers-with-a-bad-name-or-a-line-break-are-refused-by-path", (t) => {
  const document = (headers: Record<string, string>) => ({
    providers: { up: { type: "openai", api_key: "sk-x-123456" } },
    models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    telemetry: { traces: { exporter: "otlp", headers } },
  });
  const badName = t.throws(() => validateConfig(document({ "x team": "v" }), "test", {}), { instanceOf: ConfigError });
  t.regex(badName.problems.join("\n"), /^telemetry\.traces\.headers\.x team: expected an HTTP header name/m);
  const badValue = t.throws(() => validateConfig(document({ "x-team": "a\r\nx-injected: 1" }), "test", {}), { instanceOf: ConfigError });
  t.regex(badValue.problems.join("\n"), /^telemetry\.traces\.headers\.x-team: a header value cannot contain a line break/m);
});

test("provider-headers-are-checked-the-same-way: a line break in an openai-compatible provider's header is refused by path", (t) => {
  const document = {
    providers: { local: { type: "openai-compatible", base_url: "http://127.0.0.1:8000/v1", headers: { "x-tenant": "a\nb" } } },
    models: { chat: { targets: [{ provider: "local", model: "llama" }] } },
  };
  const error = t.throws(() => validateConfig(document, "test", {}), { instanceOf: ConfigError });
  t.deepEqual(error.problems, ["providers.local.headers.x-tenant: a header value cannot contain a line break or NUL"]);
});
