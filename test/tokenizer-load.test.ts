// The tokenizer (~1 s and ~160 MB to load) never loads on a live call: a gateway whose upstreams
// report usage does not load it even when an answer comes without usage, and a gateway that needs
// exact estimates loads it at start-up. One process per test file, so the module state is this file's.
import test from "ava";
import { userText } from "../clients/inference-client.js";
import { tokenizerLoaded } from "../server/core/tokens.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

// Serial and in this order: the first test needs a process where nothing has loaded the tables yet.
test.serial("tokenizer-never-loads-on-a-live-call: an openai answer without usage is estimated without it", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake({ omitUsage: true }));
  const { client } = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-tokenizer-0001" }));
  t.false(tokenizerLoaded(), "an openai-only gateway does not load it at start-up");

  const unary = await client.complete({ model: "chat", messages: [userText("How many tokens is this?")] });
  t.true(unary.usage?.estimated);
  t.true((unary.usage?.inputTokens ?? 0n) > 0n && (unary.usage?.outputTokens ?? 0n) > 0n);

  let done;
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("And this one?")] })) {
    if (chunk.event.case === "done") done = chunk.event.value;
  }
  t.true(done?.usage?.estimated);
  t.true((done?.usage?.outputTokens ?? 0n) > 0n);
  t.false(tokenizerLoaded(), "no live call loaded the tokenizer");
});

test.serial("a gateway whose upstream reports no usage loads the tokenizer at start-up, before any call", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake({ omitUsage: true }));
  await startTestGateway(t, singleProviderConfig({ type: "openai-compatible", base_url: `${fake.url}/v1` }));
  t.true(tokenizerLoaded());
  t.is(fake.requests.length, 0);
});
