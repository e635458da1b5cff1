// Opt-in smoke tests against the real providers: they run only with SWITCHBOARD_LIVE=1 and the
// provider's credentials in the environment, and are reported as skipped otherwise.
import test from "ava";
import { FinishReason } from "../gen/switchboard/v1/inference_pb.js";
import { userText } from "../clients/inference-client.js";
import { startTestGateway } from "./helpers/gateway.js";

type LiveProvider = { name: string; env: string[]; provider: Record<string, unknown>; model: string };

const LIVE: LiveProvider[] = [
  { name: "openai", env: ["OPENAI_API_KEY"], provider: { type: "openai", api_key: "${OPENAI_API_KEY}" }, model: "gpt-4o-mini" },
  { name: "anthropic", env: ["ANTHROPIC_API_KEY"], provider: { type: "anthropic", api_key: "${ANTHROPIC_API_KEY}" }, model: "claude-haiku-4-5" },
  { name: "gemini", env: ["GEMINI_API_KEY"], provider: { type: "gemini", api_key: "${GEMINI_API_KEY}" }, model: "gemini-2.5-flash" },
  { name: "bedrock", env: ["AWS_ACCESS_KEY_ID", "AWS_REGION"], provider: { type: "bedrock", region: "${AWS_REGION}" }, model: "amazon.nova-lite-v1:0" },
  {
    name: "sagemaker",
    env: ["AWS_ACCESS_KEY_ID", "AWS_REGION", "SWITCHBOARD_LIVE_SAGEMAKER_ENDPOINT"],
    provider: { type: "sagemaker", region: "${AWS_REGION}" },
    model: process.env.SWITCHBOARD_LIVE_SAGEMAKER_ENDPOINT ?? "",
  },
];

for (const live of LIVE) {
  const enabled = process.env.SWITCHBOARD_LIVE === "1" && live.env.every((name) => process.env[name]);
  const title = `live ${live.name}: unary and streamed completion through the gateway`;
  if (!enabled) {
    test.skip(`${title} (needs SWITCHBOARD_LIVE=1 and ${live.env.join(", ")})`, () => {});
    continue;
  }
  test(title, async (t) => {
    const { client } = await startTestGateway(t, {
      providers: { live: live.provider },
      models: { chat: { targets: [{ provider: "live", model: live.model }] } },
    });
    const request = { model: "chat", messages: [userText("Reply with the single word: pong")], generation: { maxOutputTokens: 20 } };
    const res = await client.complete(request, { timeoutMs: 60_000 });
    t.regex(String(res.message?.content[0]?.part.value ?? ""), /pong/i);
    t.true((res.usage?.outputTokens ?? 0n) > 0n);
    let text = "";
    let finish: FinishReason | undefined;
    for await (const chunk of client.streamComplete(request, { timeoutMs: 60_000 })) {
      if (chunk.event.case === "textDelta") text += chunk.event.value.text;
      if (chunk.event.case === "done") finish = chunk.event.value.finishReason;
    }
    t.regex(text, /pong/i);
    t.is(finish, FinishReason.STOP);
  });
}
