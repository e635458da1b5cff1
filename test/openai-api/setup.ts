// A gateway with one provider fake behind the aliases "chat" and "embed", and the official openai
// SDK pointed at its /v1 (no SDK retries: a test sees exactly the gateway's first answer).
import type { ExecutionContext } from "ava";
import OpenAI from "openai";
import type { GatewayOptions } from "../../server/gateway.js";
import type { AdapterRow } from "../conformance/adapter-row.js";
import type { FakeUpstream } from "../fakes/server.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

export type OpenAISetup = TestGateway & { fake: FakeUpstream; openai: OpenAI; v1: string };

export function openaiClient(gateway: TestGateway, apiKey = "sk-unused"): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.baseUrl}/v1`, maxRetries: 0, timeout: 10_000 });
}

export async function startWithRow(t: ExecutionContext, row: AdapterRow, extra: Record<string, unknown> = {}, options: GatewayOptions = {}): Promise<OpenAISetup> {
  const fake = await useFake(t, () => row.startFake());
  const retry = { max_attempts: 1 };
  const models = {
    chat: { retry, targets: [{ provider: "upstream", model: row.model }] },
    embed: { retry, targets: [{ provider: "upstream", model: row.embeddingModel ?? row.model }] },
  };
  const gateway = await startTestGateway(t, { providers: { upstream: row.providerConfig(fake) }, models, ...extra }, options);
  return { ...gateway, fake, openai: openaiClient(gateway), v1: `${gateway.baseUrl}/v1` };
}
