// Streams a completion from a running gateway to stdout.
//   npm run example:stream -- [alias] [prompt]      (SWITCHBOARD_URL, SWITCHBOARD_API_KEY)
import { createInferenceClient, streamText, userText } from "../inference-client.js";

const [alias = "demo", prompt = "Say hello to Switchboard."] = process.argv.slice(2);
const client = createInferenceClient({
  baseUrl: process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:50051",
  apiKey: process.env.SWITCHBOARD_API_KEY,
  timeoutMs: 30_000,
});

for await (const text of streamText(
  client,
  { model: alias, messages: [userText(prompt)] },
  {
    onDone: (done) => {
      const u = done.usage;
      process.stderr.write(
        `\n[${done.route?.provider}/${done.route?.targetModel}] in=${u?.inputTokens} out=${u?.outputTokens} cost=${u?.costNanoUsd} nano-USD\n`,
      );
    },
  },
)) {
  process.stdout.write(text);
}
