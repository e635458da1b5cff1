// Errors through the OpenAI door, as the official SDK classifies them: virtual keys (401), the
// key's alias allow-list (403) and /v1/models filtered to it, an unknown alias (404), a key's rpm
// limit (429 + retry-after), bad parameters (400 naming `param`), response_format on a target
// without JSON mode, an https image for Bedrock (refused naming the field, never fetched), bodies
// over max_message_bytes (413), paths and methods the door does not serve, and web_listen serving it.
import { request as httpRequest } from "node:http";
import test, { type ExecutionContext } from "ava";
import OpenAI from "openai";
import { startOpenAIFake } from "../fakes/openai.js";
import { anthropicRow } from "../conformance/rows/anthropic.js";
import { bedrockRow } from "../conformance/rows/bedrock.js";
import { geminiRow } from "../conformance/rows/gemini.js";
import { openaiRow } from "../conformance/rows/openai.js";
import { sagemakerTgiRow } from "../conformance/rows/sagemaker.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { openaiClient, startWithRow } from "./setup.js";

const SEARCH = "sk-sb-openai-door-search-00000001";
const LIMITED = "sk-sb-openai-door-limited-0000002";
const hi: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: "user", content: "Hi" }];

async function withKeys(t: ExecutionContext) {
  const fake = await useFake(t, () => startOpenAIFake());
  const provider = { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-000000000" };
  const alias = { retry: { max_attempts: 1 }, targets: [{ provider: "main", model: "gpt-4o-mini" }] };
  const gw = await startTestGateway(
    t,
    {
      providers: { main: provider },
      models: { chat: alias, secret: alias },
      teams: { search: { models: ["chat"] } },
      keys: [
        { name: "search-api", team: "search", secret: SEARCH },
        { name: "limited", team: "search", secret: LIMITED, rpm: 1 },
      ],
    },
    // A frozen clock: the rpm bucket does not refill mid-test.
    { clock: () => 1_800_000_000_000 },
  );
  return { ...gw, fake, as: (key: string) => openaiClient(gw, key) };
}

test("openai-door-unknown-key-is-AuthenticationError", async (t) => {
  const { as, fake } = await withKeys(t);
  const error = await t.throwsAsync(as("sk-sb-not-a-key-000000000000000").chat.completions.create({ model: "chat", messages: hi }), {
    instanceOf: OpenAI.AuthenticationError,
  });
  t.is(error?.status, 401);
  t.is(error?.code, "invalid_api_key");
  t.notRegex(error?.message ?? "", /sk-sb-not-a-key/, "the secret is not echoed");
  t.is(fake.requests.length, 0);
});

test("openai-door-key-sees-only-its-aliases: 403 for another, /v1/models filtered, 404 for an unknown alias", async (t) => {
  const { as } = await withKeys(t);
  const client = as(SEARCH);
  const ok = await client.chat.completions.create({ model: "chat", messages: hi });
  t.is(ok.choices[0]?.message.content, "echo: Hi");
  await t.throwsAsync(client.chat.completions.create({ model: "secret", messages: hi }), { instanceOf: OpenAI.PermissionDeniedError });
  const models = [];
  for await (const model of client.models.list()) models.push(model.id);
  t.deepEqual(models, ["chat"]);
  t.is((await client.models.retrieve("chat")).id, "chat");
  await t.throwsAsync(client.models.retrieve("secret"), { instanceOf: OpenAI.NotFoundError });
  const missing = await t.throwsAsync(client.chat.completions.create({ model: "no-such-alias", messages: hi }), { instanceOf: OpenAI.NotFoundError });
  t.is(missing?.param, "model");
  t.is(missing?.code, "model_not_found");
});

test("openai-door-rpm-limit-is-RateLimitError-with-retry-after", async (t) => {
  const { as } = await withKeys(t);
  const client = as(LIMITED);
  await client.chat.completions.create({ model: "chat", messages: hi });
  const error = await t.throwsAsync(client.chat.completions.create({ model: "chat", messages: hi }), { instanceOf: OpenAI.RateLimitError });
  t.regex(error?.headers?.get("retry-after") ?? "", /^[1-9]\d*$/);
});

const BAD_PARAMS: [string, Record<string, unknown>, string][] = [
  ["n = 2", { n: 2 }, "n"],
  ["a negative max_tokens", { max_tokens: -1 }, "max_tokens"],
  ["a zero max_completion_tokens", { max_completion_tokens: 0 }, "max_completion_tokens"],
  ["temperature 3", { temperature: 3 }, "temperature"],
  ["five stop sequences", { stop: ["a", "b", "c", "d", "e"] }, "stop"],
  ["an unknown role", { messages: [{ role: "wizard", content: "Hi" }] }, "messages[0].role"],
  ["a tool message without tool_call_id", { messages: [{ role: "tool", content: "42" }] }, "messages[0].tool_call_id"],
  ["an image URL that is neither https nor data:", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }] }, "messages[0].content[0].image_url.url"],
  ["tool_choice naming no tool", { tool_choice: { type: "function", function: { name: "nope" } } }, "tool_choice.function.name"],
  ["non-JSON tool arguments", { messages: [{ role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }] }] }, "messages[0].tool_calls[0].function.arguments"],
  ["logprobs", { logprobs: true }, "logprobs"],
  ["a json_schema format without a schema", { response_format: { type: "json_schema" } }, "response_format.json_schema"],
];

test("openai-door-bad-parameter-names-its-param", async (t) => {
  const { openai, fake } = await startWithRow(t, openaiRow);
  for (const [what, patch, param] of BAD_PARAMS) {
    const body = { model: "chat", messages: hi, ...patch } as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
    const error = await t.throwsAsync(openai.chat.completions.create(body), { instanceOf: OpenAI.BadRequestError }, what);
    t.is(error?.param, param, what);
  }
  t.is(fake.requests.length, 0, "nothing went upstream");
});

const JSON_SCHEMA = {
  type: "json_schema" as const,
  json_schema: { name: "city", schema: { type: "object", properties: { city: { type: "string" } } }, strict: true },
};

test("openai-door-response-format-reaches-openai-and-gemini-wires", async (t) => {
  const openai = await startWithRow(t, openaiRow);
  openai.fake.enqueue({ kind: "reply", text: '{"city":"Paris"}' });
  await openai.openai.chat.completions.create({ model: "chat", messages: hi, response_format: JSON_SCHEMA });
  t.deepEqual((openai.fake.last().body as { response_format?: unknown }).response_format, JSON_SCHEMA);
  await openai.openai.chat.completions.create({ model: "chat", messages: hi, response_format: { type: "json_object" } });
  t.deepEqual((openai.fake.last().body as { response_format?: unknown }).response_format, { type: "json_object" });

  const gemini = await startWithRow(t, geminiRow);
  await gemini.openai.chat.completions.create({ model: "chat", messages: hi, response_format: JSON_SCHEMA });
  const config = (gemini.fake.last().body as { generationConfig?: Record<string, unknown> }).generationConfig;
  t.is(config?.responseMimeType, "application/json");
  t.deepEqual(config?.responseJsonSchema, JSON_SCHEMA.json_schema.schema);
});

for (const row of [anthropicRow, bedrockRow, sagemakerTgiRow]) {
  test(`openai-door-response-format-refused-by-${row.label ?? row.name}-naming-the-param`, async (t) => {
    const { openai, fake } = await startWithRow(t, row);
    const error = await t.throwsAsync(openai.chat.completions.create({ model: "chat", messages: hi, response_format: { type: "json_object" } }), {
      instanceOf: OpenAI.BadRequestError,
    });
    t.is(error?.param, "response_format");
    t.regex(error?.message ?? "", /no JSON mode/);
    t.is(fake.requests.length, 0);
  });
}

test("openai-door-https-image-for-bedrock-refused-naming-the-field-never-fetched", async (t) => {
  // The URL points at a live server: had the gateway fetched it, the fake would have seen a request.
  const bait = await useFake(t, () => startOpenAIFake());
  const { openai, fake } = await startWithRow(t, bedrockRow);
  const url = `${bait.url}/cat.png`;
  const error = await t.throwsAsync(
    openai.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url } }] }],
    }),
    { instanceOf: OpenAI.BadRequestError },
  );
  t.is(error?.param, "messages[0].content[1].image_url.url");
  t.regex(error?.message ?? "", /not URLs/);
  t.is(fake.requests.length, 0);
  t.is(bait.requests.length, 0);
});

test("openai-door-https-image-passed-as-a-url-to-openai", async (t) => {
  const { openai, fake } = await startWithRow(t, openaiRow);
  await openai.chat.completions.create({
    model: "chat",
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://images.example/cat.png" } }] }],
  });
  const content = (fake.last().body as { messages: { content: unknown }[] }).messages[0]?.content;
  t.deepEqual(content, [{ type: "image_url", image_url: { url: "https://images.example/cat.png" } }]);
});

test("openai-door-body-over-max-message-bytes-is-413", async (t) => {
  const { v1, fake } = await startWithRow(t, openaiRow, { max_message_bytes: 4096 });
  const response = await fetch(`${v1}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x".repeat(10_000) }] }),
  });
  t.is(response.status, 413);
  t.is(((await response.json()) as { error: { code: string } }).error.code, "request_too_large");
  t.is(fake.requests.length, 0);
});

/** POSTs `chunks` with chunked transfer encoding (no content-length), then ends or cuts the body. */
function chunkedPost(url: string, chunks: string[], end: "end" | "cut"): Promise<{ status: number; body: string; connection?: string } | "reset"> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (text: string) => (body += text));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on("error", () => resolve("reset"));
    const last = chunks.length - 1;
    chunks.forEach((chunk, i) => req.write(chunk, () => i === last && end === "cut" && setImmediate(() => req.destroy())));
    if (end === "end") req.end();
  });
}

test("openai-door-streamed-body-over-max-message-bytes-is-413-and-the-connection-closes", async (t) => {
  const { v1, fake } = await startWithRow(t, openaiRow, { max_message_bytes: 4096 });
  const text = JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x".repeat(10_000) }] });
  const answer = await chunkedPost(`${v1}/chat/completions`, [text.slice(0, 3000), text.slice(3000, 6000), text.slice(6000)], "end");
  if (answer === "reset") return t.fail("the gateway reset the connection instead of answering 413");
  t.is(answer.status, 413);
  t.is((JSON.parse(answer.body) as { error: { code: string } }).error.code, "request_too_large");
  t.is(answer.connection, "close");
  t.is(fake.requests.length, 0);
});

test("openai-door-body-cut-mid-way-reaches-no-upstream-and-the-gateway-keeps-serving", async (t) => {
  const { v1, fake, openai } = await startWithRow(t, openaiRow);
  const cut = await chunkedPost(`${v1}/chat/completions`, ['{"model":"chat","messages":[{"role":"us'], "cut");
  t.is(cut, "reset", "nobody is left to answer");
  t.is(fake.requests.length, 0);
  const reply = await openai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "still there?" }] });
  t.is(typeof reply.choices[0]?.message.content, "string");
});

test("openai-door-malformed-bodies-paths-and-methods", async (t) => {
  const { v1 } = await startWithRow(t, openaiRow);
  const post = (path: string, body: string, type = "application/json") => fetch(`${v1}${path}`, { method: "POST", headers: { "content-type": type }, body });
  const cases: [Promise<Response>, number, string | null][] = [
    [post("/chat/completions", "{not json"), 400, "invalid_json"],
    [post("/chat/completions", "[1,2]"), 400, null],
    [post("/chat/completions", "{}", "text/plain"), 415, "unsupported_media_type"],
    [post("/embeddings", JSON.stringify({ model: "embed", input: [[1, 2, 3]] })), 400, null],
    [post("/completions", "{}"), 404, "unknown_url"],
    [fetch(`${v1}/chat/completions`), 405, "method_not_allowed"],
  ];
  for (const [pending, status, code] of cases) {
    const response = await pending;
    t.is(response.status, status);
    const body = (await response.json()) as { error: { code: string | null; message: string } };
    t.is(body.error.code, code);
    t.true(body.error.message.length > 0);
  }
});

test("openai-door-served-on-web-listen-too", async (t) => {
  const { gateway } = await startWithRow(t, openaiRow, { web_listen: "127.0.0.1:0" });
  const web = new OpenAI({ apiKey: "sk-unused", baseURL: `http://${gateway.webAddress}/v1`, maxRetries: 0 });
  const answer = await web.chat.completions.create({ model: "chat", messages: hi });
  t.is(answer.choices[0]?.message.content, "echo: Hi");
  const models = [];
  for await (const model of web.models.list()) models.push(model.id);
  t.deepEqual(models.sort(), ["chat", "embed"]);
});

test("openai-door-stream-broken-after-output-ends-with-an-error-event", async (t) => {
  const { openai, fake } = await startWithRow(t, openaiRow);
  fake.enqueue({ kind: "cut" });
  const stream = await openai.chat.completions.create({ model: "chat", stream: true, messages: hi });
  const seen: string[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
  }, { instanceOf: OpenAI.APIError });
  t.true(seen.join("").length > 0, "the output before the cut reached the caller");
  t.regex(error?.message ?? "", /stream|closed|cut|ended/i);
});

test("openai-door-error-before-the-first-chunk-is-an-http-status", async (t) => {
  const { openai, fake } = await startWithRow(t, openaiRow);
  fake.enqueue({ kind: "error", error: "overloaded" });
  const error = await t.throwsAsync(openai.chat.completions.create({ model: "chat", stream: true, messages: hi }), { instanceOf: OpenAI.InternalServerError });
  t.is(error?.status, 503);
});
