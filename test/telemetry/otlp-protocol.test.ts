// OTLP/HTTP bodies are JSON by default (cheaper on the gateway's event loop, bench/RESULTS.md);
// `telemetry.traces.protocol: http/protobuf` sends OTLP protobuf for collectors that want it. Either
// way the collector reads the call's server and attempt spans.
import test, { type ExecutionContext } from "ava";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { ConfigError, validateConfig } from "../../server/config/load.js";
import { setEnvForTest } from "../helpers/env.js";
import { startTracedGateway, tracesDocument } from "../helpers/traced-gateway.js";

async function exportOneCall(t: ExecutionContext, traces: Record<string, unknown>) {
  const { gateway, client, collector } = await startTracedGateway(t, traces);
  await client.complete({ model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
  await gateway.close(100); // flushes the batch
  return { exports: collector.exports };
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
  const error = t.throws(() => validateConfig(tracesDocument({ protocol: "grpc" }), "test", {}), { instanceOf: ConfigError });
  t.regex(error.problems.join("\n"), /^telemetry\.traces\.protocol: /m);
});

// Serial: it sets a process-wide environment variable, read when the gateway's config is validated.
test.serial("otlp-protocol-follows-otel-exporter-otlp-protocol when the config sets none", async (t) => {
  setEnvForTest(t, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
  const { exports } = await exportOneCall(t, {});
  t.true(exports.length >= 1);
  for (const { headers } of exports) t.is(headers["content-type"], "application/x-protobuf");
});

test("otlp-protocol-in-the-config-wins-over-the-environment, and the traces variable over the general one", (t) => {
  const document = tracesDocument;
  const env = { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" };
  t.is(validateConfig(document({}), "test", env).telemetry.traces.protocol, "http/json");
  t.is(validateConfig(document({}), "test", { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }).telemetry.traces.protocol, "http/protobuf");
  t.is(validateConfig(document({ protocol: "http/json" }), "test", { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }).telemetry.traces.protocol, "http/json");
  t.is(validateConfig(document({}), "test", {}).telemetry.traces.protocol, "http/json");
});

test("otel-exporter-otlp-protocol-grpc-is-refused-by-name, and ignored when traces do not go to OTLP", (t) => {
  const document = (exporter: string) => tracesDocument({ exporter });
  const error = t.throws(() => validateConfig(document("otlp"), "test", { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }), { instanceOf: ConfigError });
  t.deepEqual(error.problems, [
    'OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported for traces: the gateway exports OTLP over HTTP (http/json or http/protobuf)',
  ]);
  t.notThrows(() => validateConfig(document("none"), "test", { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }));
});
