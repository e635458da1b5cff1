// A gateway whose traces go over OTLP to a stand-in collector, with alias "chat" in front of an OpenAI
// fake; and the same config shape as a bare document, for validateConfig tests of `telemetry.traces`.
import type { ExecutionContext } from "ava";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "./fakes.js";
import { startTestGateway } from "./gateway.js";
import { startOtlpCollector } from "./otlp-collector.js";

/** A config document whose traces go to OTLP with `traces` merged in. */
export const tracesDocument = (traces: Record<string, unknown>) => ({
  providers: { up: { type: "openai", api_key: "sk-x-123456" } },
  models: { chat: { targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
  telemetry: { traces: { exporter: "otlp", ...traces } },
});

export async function startTracedGateway(t: ExecutionContext, traces: Record<string, unknown>) {
  const collector = await startOtlpCollector(t);
  const openai = await useFake(t, () => startOpenAIFake());
  const started = await startTestGateway(t, {
    providers: { up: { type: "openai", base_url: `${openai.url}/v1`, api_key: "sk-test-openai-key-000001" } },
    models: { chat: { retry: { max_attempts: 1 }, targets: [{ provider: "up", model: "gpt-4o-mini" }] } },
    telemetry: { traces: { exporter: "otlp", endpoint: collector.endpoint, ...traces } },
  });
  return { ...started, collector, openai };
}
