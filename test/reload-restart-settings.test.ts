// A reload applies routing, keys, limits and prices; what the gateway built once at start (sockets,
// store, operator listener, logger, tracer, prompt capture, the drain's grace) stays as it was, and
// the reload says so by name instead of appearing to take a change it ignores.
import test from "ava";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { startTestGateway } from "./helpers/gateway.js";

test("config-reload-names-the-settings-it-cannot-apply: telemetry, log level, audit, the drain", async (t) => {
  const openai = await useFake(t, () => startOpenAIFake());
  const providers = { up: { type: "openai", base_url: `${openai.url}/v1`, api_key: "sk-test-openai-key-000001" } };
  const { gateway, logs, config } = await startTestGateway(t, { providers, models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } } });
  const warnings = () => logs.map((line) => JSON.parse(line) as { msg: string; fields?: string[] }).filter((entry) => entry.msg.startsWith("config reload:"));

  gateway.reload({ ...config, models: { ...config.models, other: config.models.chat! } });
  t.deepEqual(warnings(), [], "a routing change alone is applied without a warning");

  gateway.reload({
    ...config,
    log_level: "debug",
    shutdown_grace_ms: 1,
    audit: { ...config.audit, capture_prompts: !config.audit.capture_prompts },
    telemetry: { ...config.telemetry, traces: { ...config.telemetry.traces, sampler: "always_off" } },
  });
  t.deepEqual(warnings().map((entry) => entry.fields), [["audit", "telemetry", "log_level", "shutdown_grace_ms"]]);
});
