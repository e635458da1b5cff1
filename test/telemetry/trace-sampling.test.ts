// Head sampling: `telemetry.traces.sampler` / `sample_ratio` (or the standard OTEL_TRACES_SAMPLER /
// OTEL_TRACES_SAMPLER_ARG) decide which new traces are recorded; under a parentbased sampler the
// caller's sampled flag decides for its own trace. Calls not sampled export no span, and their
// upstream requests still carry a traceparent, flagged "not sampled".
import test, { type ExecutionContext } from "ava";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { ConfigError, validateConfig } from "../../server/config/load.js";
import { createGrpcInferenceClient } from "../helpers/grpc-client.js";
import { setEnvForTest } from "../helpers/env.js";
import { startTracedGateway, tracesDocument } from "../helpers/traced-gateway.js";

const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const SAMPLED = `00-${CALLER_TRACE}-b7ad6b7169203331-01`;
const NOT_SAMPLED = `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00`;
const message = { role: Role.USER, content: [{ part: { case: "text" as const, value: "Hi" } }] };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

/** One call per entry of `callers` (a traceparent, or none); what the collector and the upstream saw. */
async function tracedCalls(t: ExecutionContext, traces: Record<string, unknown>, callers: (string | undefined)[]) {
  const { gateway, collector, openai } = await startTracedGateway(t, traces);
  const client = createGrpcInferenceClient(gateway.address);
  t.teardown(() => client.close());
  for (const traceparent of callers) await client.complete({ model: "chat", messages: [message] }, traceparent ? { traceparent } : {});
  await gateway.close(100); // flushes the batch
  const upstream = openai.requests.map((request) => TRACEPARENT.exec(String(request.headers.traceparent)));
  return { spans: collector.exports.flatMap((e) => e.spans), upstream };
}

test("trace-sample-ratio-zero-records-only-traces-the-caller-sampled, and every upstream request still carries a traceparent", async (t) => {
  const { spans, upstream } = await tracedCalls(t, { sample_ratio: 0 }, [undefined, SAMPLED, NOT_SAMPLED]);
  t.deepEqual(spans.map((s) => s.name).sort(), ["chat gpt-4o-mini", "switchboard.v1.InferenceService/Complete"]);
  for (const span of spans) t.is(span.traceId, CALLER_TRACE);
  t.is(upstream.length, 3);
  const [own, sampled, notSampled] = upstream;
  t.truthy(own, "a call with no caller trace still sends a traceparent");
  t.not(own![1], CALLER_TRACE);
  t.is(own![3], "00");
  t.deepEqual([sampled![1], sampled![3]], [CALLER_TRACE, "01"]);
  t.not(sampled![2], "b7ad6b7169203331", "the upstream's parent is the attempt span, not the caller's span");
  t.deepEqual([notSampled![1], notSampled![3]], ["4bf92f3577b34da6a3ce929d0e0e4736", "00"]);
});

test("trace-sampler-always-off-records-nothing, the caller's sampled flag included", async (t) => {
  const { spans, upstream } = await tracedCalls(t, { sampler: "always_off" }, [undefined, SAMPLED]);
  t.deepEqual(spans, []);
  t.deepEqual(upstream.map((match) => match?.[3]), ["00", "00"]);
});

// Serial: it sets process-wide environment variables, read when the gateway's config is validated.
test.serial("trace-sampler-follows-otel-traces-sampler when the config sets none", async (t) => {
  setEnvForTest(t, "OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
  setEnvForTest(t, "OTEL_TRACES_SAMPLER_ARG", "0");
  const { spans } = await tracedCalls(t, {}, [undefined, SAMPLED, undefined]);
  t.deepEqual([...new Set(spans.map((s) => s.traceId))], [CALLER_TRACE]);
});

const resolved = (traces: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
  const { sampler, sample_ratio } = validateConfig(tracesDocument(traces), "test", env).telemetry.traces;
  return { sampler, sample_ratio };
};

test("trace-sampler-is-resolved-from-the-config-then-the-environment-then-every-call", (t) => {
  t.deepEqual(resolved({}), { sampler: "parentbased_always_on", sample_ratio: undefined });
  t.deepEqual(resolved({ sample_ratio: 0.25 }), { sampler: "parentbased_traceidratio", sample_ratio: 0.25 });
  t.deepEqual(resolved({ sampler: "traceidratio" }), { sampler: "traceidratio", sample_ratio: 1 });
  t.deepEqual(resolved({}, { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" }), { sampler: "traceidratio", sample_ratio: 0.5 });
  t.deepEqual(resolved({}, { OTEL_TRACES_SAMPLER: "always_off" }), { sampler: "always_off", sample_ratio: undefined });
  t.deepEqual(resolved({ sampler: "always_on" }, { OTEL_TRACES_SAMPLER: "always_off" }), { sampler: "always_on", sample_ratio: undefined });
  t.deepEqual(resolved({ sample_ratio: 0.1 }, { OTEL_TRACES_SAMPLER: "always_off", OTEL_TRACES_SAMPLER_ARG: "0.9" }), { sampler: "parentbased_traceidratio", sample_ratio: 0.1 });
});

test("trace-sampler-problems-name-the-field-or-the-variable, and other programs' variables are ignored without traces", (t) => {
  const problems = (traces: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    t.throws(() => validateConfig(tracesDocument(traces), "test", env), { instanceOf: ConfigError }).problems;
  t.regex(problems({ sample_ratio: 1.5 }).join("\n"), /^telemetry\.traces\.sample_ratio: /m);
  t.regex(problems({ sampler: "sometimes" }).join("\n"), /^telemetry\.traces\.sampler: /m);
  t.deepEqual(problems({}, { OTEL_TRACES_SAMPLER: "jaeger_remote" }), [
    'OTEL_TRACES_SAMPLER: "jaeger_remote" is not a sampler the gateway knows (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)',
  ]);
  t.deepEqual(problems({}, { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "half" }), ['OTEL_TRACES_SAMPLER_ARG: "half" is not a ratio between 0 and 1']);
  t.notThrows(() => validateConfig(tracesDocument({ exporter: "none" }), "test", { OTEL_TRACES_SAMPLER: "jaeger_remote" }));
});
