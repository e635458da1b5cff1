// One access line per call with what operators grep for, never the prompt or a secret; the EMF
// line's format; the telemetry and operator config fields' errors.
import test from "ava";
import { Writable } from "node:stream";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { validateConfig, ConfigError } from "../../server/config/load.js";
import { emfLine } from "../../server/telemetry/emf.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { createGrpcInferenceClient } from "../helpers/grpc-client.js";

const PROMPT = "my confidential prompt text";
const KEY = "sk-sb-access-log-secret-00000000";
const UPSTREAM_KEY = "sk-test-upstream-key-000000";

test("access-log-line-per-call: request id, trace id, key, alias, provider, model, code, latency, tokens and cost; no prompt or secret", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const emf: string[] = [];
  const { gateway, logs } = await startTestGateway(
    t,
    {
      providers: { up: { type: "openai", base_url: `${fake.url}/v1`, api_key: UPSTREAM_KEY } },
      models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
      keys: [{ name: "search-api", team: "search", secret: KEY }],
      teams: { search: {} },
      telemetry: { cloudwatch_emf: true },
    },
    { emfDestination: new Writable({ write: (chunk, _e, done) => (emf.push(String(chunk)), done()) }) },
  );
  fake.enqueue({ kind: "reply", text: "answer", usage: { input: 40, output: 8 } });
  const client = createGrpcInferenceClient(gateway.address);
  t.teardown(() => client.close());
  const traceparent = "00-11112222333344445555666677778888-1111222233334444-01";
  await client.complete({ model: "chat", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: PROMPT } }] }] }, { authorization: `Bearer ${KEY}`, traceparent });
  const lines = logs.flatMap((l) => l.split("\n")).filter((l) => l.includes('"msg":"call"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.length, 1);
  const line = lines[0]!;
  t.like(line, {
    trace_id: "11112222333344445555666677778888",
    key: "search-api",
    team: "search",
    method: "complete",
    alias: "chat",
    provider: "up",
    model: "gpt-4o-mini",
    code: "OK",
    input_tokens: 40,
    output_tokens: 8,
    cost_nano_usd: String(40 * 150 + 8 * 600),
    attempts: 1,
  });
  t.regex(String(line.request_id), /^[0-9a-f-]{36}$/);
  t.true(typeof line.latency_ms === "number" && line.latency_ms > 0);
  const all = logs.join("");
  for (const secret of [PROMPT, KEY, UPSTREAM_KEY]) t.false(all.includes(secret), `logs must not contain ${secret}`);

  t.is(emf.length, 1, "one EMF line per call");
  const record = JSON.parse(emf[0]!) as Record<string, unknown>;
  t.like(record, { alias: "chat", provider: "up", model: "gpt-4o-mini", code: "OK", InputTokens: 40, OutputTokens: 8, Calls: 1, Errors: 0 });
});

test("emf-line-format: the CloudWatch directive names every metric and the dimensions present on the line", (t) => {
  const line = emfLine({
    time: 1_764_000_000_000,
    method: "stream_complete",
    alias: "chat",
    provider: "openai-main",
    model: "gpt-4o",
    code: "UNAVAILABLE",
    durationMs: 12.5,
    ttftMs: 3,
    inputTokens: 10,
    outputTokens: 2,
    costNanoUsd: 4_500n,
  });
  t.true(line.endsWith("}\n"));
  const record = JSON.parse(line) as { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>;
  t.is(record._aws.Timestamp, 1_764_000_000_000);
  const [directive] = record._aws.CloudWatchMetrics;
  t.is(directive!.Namespace, "Switchboard");
  for (const dimensions of directive!.Dimensions) for (const name of dimensions) t.is(typeof record[name], "string", `dimension ${name} is on the line`);
  for (const metric of directive!.Metrics) t.is(typeof record[metric.Name], "number", `metric ${metric.Name} has a value`);
  t.like(record, { RequestDuration: 12.5, TimeToFirstToken: 3, CostNanoUsd: 4500, Errors: 1 });
  const unary = JSON.parse(emfLine({ time: 1, method: "complete", alias: "a", provider: "p", model: "m", code: "OK", durationMs: 1, inputTokens: 0, outputTokens: 0, costNanoUsd: 0n })) as typeof record;
  t.false(unary._aws.CloudWatchMetrics[0]!.Metrics.some((m) => m.Name === "TimeToFirstToken"), "no TTFT metric without a first token");
});

test("telemetry-config-errors-name-the-field: bad exporter, endpoint, operator address and bearer", (t) => {
  const base = { providers: { up: { type: "openai", api_key: "k" } }, models: { chat: { targets: [{ provider: "up", model: "m" }] } } };
  const problems = (extra: Record<string, unknown>) => {
    const error = t.throws(() => validateConfig({ ...base, ...extra }, "t.yaml", {}));
    return error instanceof ConfigError ? error.problems : [String(error?.message)];
  };
  t.true(problems({ telemetry: { traces: { exporter: "jaeger" } } }).some((p) => p.startsWith("telemetry.traces.exporter:")));
  t.true(problems({ telemetry: { traces: { exporter: "otlp", endpoint: "not a url" } } }).some((p) => p.startsWith("telemetry.traces.endpoint:")));
  t.true(problems({ telemetry: { cloudwatch_emf: "yes" } }).some((p) => p.startsWith("telemetry.cloudwatch_emf:")));
  t.true(problems({ operator: { listen: "9464" } }).some((p) => p.startsWith("operator.listen: expected host:port")));
  t.true(problems({ operator: { bearer: "short" } }).some((p) => p.startsWith("operator.bearer:")));
  t.true(problems({ operator: { port: 1 } }).some((p) => p.startsWith("operator")));
  const ok = validateConfig(base, "t.yaml", {});
  t.is(ok.telemetry.traces.exporter, "none");
  t.false(ok.telemetry.cloudwatch_emf);
  t.is(ok.operator.listen, undefined, "the default address 127.0.0.1:9464 applies at start-up");
});
