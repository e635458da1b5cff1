// One unary completion with a 10 s deadline.
//   npm run example:complete -- [alias] [prompt]
import { createInferenceClient, userText } from "../inference-client.js";

const [alias = "demo", prompt = "Say hello to Switchboard."] = process.argv.slice(2);
const client = createInferenceClient({ baseUrl: process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:50051", apiKey: process.env.SWITCHBOARD_API_KEY });
const response = await client.complete({ model: alias, messages: [userText(prompt)] }, { timeoutMs: 10_000 });
const text = response.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("");
console.log(text);
console.error(`route: ${response.route?.provider}/${response.route?.targetModel}, usage: ${response.usage?.inputTokens}+${response.usage?.outputTokens} tokens`);
