// OTLP/HTTP bodies are JSON by default (cheaper on the gateway's event loop, bench/RESULTS.md);
// `telemetry.traces.protocol: http/protobuf` sends OTLP protobuf for collectors that want it. Either
// way the collector reads the call's server and attempt spans.
import test from "ava";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { ConfigError, validateConfig } from "../../server/config/load.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startOtlpCollector } from "../helpers/otlp-collector.js";

async function exportOneCall(t: Parameters<typeof startTestGateway>[0], traces: Record<string, unknown>) {
  const collector = await startOtlpCollector(t);
  const openai = await useFake(t, () => startOpenAIFake());
  const { gateway, client } = await startTestGateway(t, {
    providers: { up: { type: "openai", base_url: `${openai.url}/v1`, api_key: "sk-test-openai-key-000001" } },
    models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    telemetry: { traces: { exporter: "otlp", endpoint: collector.endpoint, ...traces } },
  });
  const response = await client.complete({ model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
  await gateway.close(100); // flushes the batch
  return { exports: collector.exports, response };
}

test("otlp-protocol-http-protobuf-sends-otlp-protobuf with the call's server and attempt spans", async (t) => {
  const { exports } = await exportOneCall(t, { protocol: "http/protobuf" });
  t.true(exports.length >= 1);
  for (const { headers } of exports) t.is(headers["content-type"], "application/x-protobuf");
  const spans = exports.flatMap((e) => e.spans);
  t.deepEqual(spans.map((s) => s.name).sort(), ["chat gpt-4o-mini", "switchboard.v1.InferenceService/Complete"]);
  t.regex(spans[0]!.traceId, /^[0-9a-f]{32}$/);
  t.is(spans[0]!.traceId, spans[1]!.traceId);
});

test("otlp-export-is-otlp-json-by-default", async (t) => {
  const { exports } = await exportOneCall(t, {});
  t.true(exports.length >= 1);
  for (const { headers } of exports) t.is(headers["content-type"], "application/json");
  t.deepEqual(exports.flatMap((e) => e.spans.map((s) => s.name)).sort(), ["chat gpt-4o-mini", "switchboard.v1.InferenceService/Complete"]);
});

test("otlp-protocol-grpc-is-refused-by-path: the gateway's exporter speaks OTLP/HTTP only", (t) => {
  const document = {
    providers: { up: { type: "openai", api_key: "sk-x-123456" } },
    models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    telemetry: { traces: { exporter: "otlp", protocol: "grpc" } },
  };
  const error = t.throws(() => validateConfig(document, "test", {}), { instanceOf: ConfigError });
  t.regex(error.problems.join("\n"), /^telemetry\.traces\.protocol: /m);
});
