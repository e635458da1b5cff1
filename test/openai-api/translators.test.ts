// The OpenAI translators on their own, table-driven: request bodies → the contract's messages (and
// the violations they name), contract answers and chunks → OpenAI JSON, error statuses → HTTP.
import test from "ava";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  CompleteChunkSchema,
  CompleteResponseSchema,
  EmbedResponseSchema,
  FinishReason,
  ResponseFormat_Type,
  Role,
  ToolChoice_Mode,
  type CompleteRequest,
} from "../../gen/switchboard/v1/inference_pb.js";
import { UpstreamError } from "../../server/core/errors.js";
import { chatRequestFromOpenAI } from "../../server/openai/chat-request.js";
import { chatCompletionToOpenAI, type OpenAIFinishReason } from "../../server/openai/chat-response.js";
import { ChunkTranslator } from "../../server/openai/chat-stream.js";
import { embeddingsRequestFromOpenAI, embeddingsToOpenAI } from "../../server/openai/embeddings.js";
import { httpErrorFrom, openAIParam } from "../../server/openai/errors.js";
import { completionRequestFromProto } from "../../server/rpc/convert-request.js";
import { invalidArgument, toConnectError } from "../../server/rpc/errors.js";

function translated(body: Record<string, unknown>): CompleteRequest {
  const { value, problems } = chatRequestFromOpenAI({ model: "chat", ...body });
  if (!value) throw new Error(`refused: ${JSON.stringify(problems)}`);
  // Whatever the OpenAI translator builds must also pass the contract's own validation.
  const checked = completionRequestFromProto(value.request);
  if (checked.problems.length > 0) throw new Error(`the contract refuses it: ${JSON.stringify(checked.problems)}`);
  return value.request;
}

const PNG = Buffer.from("89504e470d0a1a0a", "hex");

const REQUESTS: [string, Record<string, unknown>, (t: import("ava").ExecutionContext, r: CompleteRequest) => void][] = [
  ["a string content is one text part", { messages: [{ role: "user", content: "Hi" }] }, (t, r) => {
    t.is(r.messages[0]?.role, Role.USER);
    t.deepEqual(r.messages[0]?.content.map((p) => p.part), [{ case: "text", value: "Hi" }]);
  }],
  ["system and developer are both system", { messages: [{ role: "developer", content: "A" }, { role: "system", content: [{ type: "text", text: "B" }] }, { role: "user", content: "C" }] }, (t, r) => {
    t.deepEqual(r.messages.map((m) => m.role), [Role.SYSTEM, Role.SYSTEM, Role.USER]);
  }],
  ["a data: image becomes bytes with its MIME type", { messages: [{ role: "user", content: [{ type: "text", text: "What?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${PNG.toString("base64")}` } }] }] }, (t, r) => {
    const image = r.messages[0]?.content[1]?.part;
    if (image?.case !== "image") return t.fail("no image");
    t.is(image.value.mimeType, "image/png");
    t.is(image.value.source.case, "data");
    t.deepEqual(Buffer.from(image.value.source.value ?? ""), PNG);
  }],
  ["an https image stays a URL", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x.example/a.jpg", detail: "low" } }] }] }, (t, r) => {
    const image = r.messages[0]?.content[0]?.part;
    t.deepEqual(image?.case === "image" ? image.value.source : undefined, { case: "url", value: "https://x.example/a.jpg" });
  }],
  ["assistant tool calls and the tool's answer", {
    messages: [
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: '{"city":"Oslo"}' } }] },
      { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "cold" }] },
    ],
  }, (t, r) => {
    t.deepEqual(r.messages[1]?.content.map((p) => p.part.case), ["toolCall"]);
    const call = r.messages[1]?.content[0]?.part;
    t.like(call?.case === "toolCall" ? call.value : {}, { id: "c1", name: "w", argumentsJson: '{"city":"Oslo"}' });
    t.is(r.messages[2]?.role, Role.TOOL);
    const result = r.messages[2]?.content[0]?.part;
    t.like(result?.case === "toolResult" ? result.value : {}, { toolCallId: "c1", content: "cold" });
  }],
  ["tools and a named tool_choice", {
    messages: [{ role: "user", content: "Hi" }],
    tools: [{ type: "function", function: { name: "w", description: "weather", parameters: { type: "object", properties: {} } } }],
    tool_choice: { type: "function", function: { name: "w" } },
  }, (t, r) => {
    t.like(r.tools[0], { name: "w", description: "weather" });
    t.deepEqual(r.tools[0]?.parameters, { type: "object", properties: {} });
    t.like(r.toolChoice, { mode: ToolChoice_Mode.TOOL, toolName: "w" });
  }],
  ["generation parameters; max_completion_tokens wins over max_tokens", {
    messages: [{ role: "user", content: "Hi" }], max_tokens: 10, max_completion_tokens: 20, temperature: 0.25, top_p: 0.5, stop: "X", seed: 7,
  }, (t, r) => {
    t.like(r.generation, { maxOutputTokens: 20, temperature: 0.25, topP: 0.5, stopSequences: ["X"], seed: 7n });
  }],
  ["response_format json_schema", {
    messages: [{ role: "user", content: "Hi" }],
    response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } },
  }, (t, r) => {
    t.like(r.generation?.responseFormat, { type: ResponseFormat_Type.JSON_SCHEMA, name: "out", strict: true });
    t.deepEqual(r.generation?.responseFormat?.jsonSchema, { type: "object" });
  }],
  ["no generation parameters leave GenerationConfig unset (the audit hash matches gRPC's)", { messages: [{ role: "user", content: "Hi" }], response_format: { type: "text" } }, (t, r) => {
    t.is(r.generation, undefined);
  }],
];

for (const [name, body, check] of REQUESTS) test(`openai-request-translator: ${name}`, (t) => check(t, translated(body)));

const REFUSED: [string, unknown, string][] = [
  ["a body that is not an object", [1], "body"],
  ["no messages", { model: "chat", messages: [] }, "messages"],
  ["no model", { messages: [{ role: "user", content: "x" }] }, "model"],
  ["an image in a system message", { model: "chat", messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://a/b.png" } }] }] }, "messages[0].content[0].type"],
  ["an empty data: image", { model: "chat", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64," } }] }] }, "messages[0].content[0].image_url.url"],
  ["a duplicate tool name", { model: "chat", messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "a" } }, { type: "function", function: { name: "a" } }] }, "tools[1].function.name"],
  ["metadata that is not strings", { model: "chat", messages: [{ role: "user", content: "x" }], metadata: { n: 1 } }, "metadata.n"],
  ["stream that is not a boolean", { model: "chat", messages: [{ role: "user", content: "x" }], stream: "yes" }, "stream"],
];

for (const [name, body, field] of REFUSED) {
  test(`openai-request-translator refuses ${name}, naming ${field}`, (t) => {
    const { value, problems } = chatRequestFromOpenAI(body);
    t.is(value, undefined);
    t.is(problems[0]?.field, field);
  });
}

test("openai-request-translator: stream and include_usage", (t) => {
  const { value } = chatRequestFromOpenAI({ model: "m", messages: [{ role: "user", content: "x" }], stream: true, stream_options: { include_usage: true } });
  t.like(value, { stream: true, includeUsage: true });
});

test("openai-embeddings-translator: request, float and base64 answers", (t) => {
  const { value } = embeddingsRequestFromOpenAI({ model: "embed", input: "one", dimensions: 3, encoding_format: "base64" });
  t.deepEqual(value?.request.inputs, ["one"]);
  t.is(value?.request.dimensions, 3);
  const response = create(EmbedResponseSchema, { embeddings: [{ values: [0.5, -1, 2] }], usage: { inputTokens: 4n } });
  t.deepEqual(embeddingsToOpenAI(response, "embed", "float"), {
    object: "list",
    data: [{ object: "embedding", index: 0, embedding: [0.5, -1, 2] }],
    model: "embed",
    usage: { prompt_tokens: 4, total_tokens: 4 },
  });
  const encoded = embeddingsToOpenAI(response, "embed", "base64").data[0]?.embedding as string;
  const bytes = Buffer.from(encoded, "base64");
  t.deepEqual(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)), [0.5, -1, 2]);
});

const FINISHES: [FinishReason, OpenAIFinishReason][] = [
  [FinishReason.STOP, "stop"],
  [FinishReason.LENGTH, "length"],
  [FinishReason.TOOL_CALLS, "tool_calls"],
  [FinishReason.CONTENT_FILTER, "content_filter"],
  [FinishReason.UNSPECIFIED, "stop"],
];

for (const [finish, expected] of FINISHES) {
  test(`openai-response-translator maps ${FinishReason[finish]} to ${expected}`, (t) => {
    const response = create(CompleteResponseSchema, {
      message: { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "Hi" } }] },
      finishReason: finish,
      usage: { inputTokens: 10n, outputTokens: 4n, cachedInputTokens: 6n, reasoningTokens: 1n },
    });
    const body = chatCompletionToOpenAI(response, "chat", "chatcmpl-1", 1);
    t.is(body.choices[0]?.finish_reason, expected);
    t.deepEqual(body.usage, { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, prompt_tokens_details: { cached_tokens: 6 }, completion_tokens_details: { reasoning_tokens: 1 } });
  });
}

test("openai-response-translator: tool calls, content null when there is no text", (t) => {
  const response = create(CompleteResponseSchema, {
    message: { role: Role.ASSISTANT, content: [{ part: { case: "toolCall", value: { id: "c", name: "w", argumentsJson: "{}" } } }] },
    finishReason: FinishReason.TOOL_CALLS,
  });
  t.deepEqual(chatCompletionToOpenAI(response, "chat", "id", 1).choices[0]?.message, {
    role: "assistant",
    content: null,
    refusal: null,
    tool_calls: [{ id: "c", type: "function", function: { name: "w", arguments: "{}" } }],
  });
});

test("openai-stream-translator: role first, tool-call fragments by index, finish, then the usage chunk", (t) => {
  const translator = new ChunkTranslator("id", "chat", 5, true);
  const chunk = (event: Parameters<typeof create<typeof CompleteChunkSchema>>[1]) => translator.translate(create(CompleteChunkSchema, event));
  const out = [
    ...chunk({ event: { case: "textDelta", value: { text: "Hm" } } }),
    ...chunk({ event: { case: "toolCallDelta", value: { index: 0, id: "c0", name: "w", argumentsDelta: '{"a":' } } }),
    ...chunk({ event: { case: "toolCallDelta", value: { index: 0, argumentsDelta: "1}" } } }),
    ...chunk({ event: { case: "done", value: { finishReason: FinishReason.TOOL_CALLS, usage: { inputTokens: 3n, outputTokens: 2n } } } }),
  ];
  t.deepEqual(out.map((c) => c.choices[0]?.delta ?? null), [
    { role: "assistant", content: "Hm" },
    { tool_calls: [{ index: 0, id: "c0", type: "function", function: { name: "w", arguments: '{"a":' } }] },
    { tool_calls: [{ index: 0, function: { arguments: "1}" } }] },
    {},
    null,
  ]);
  t.deepEqual(out.map((c) => c.choices[0]?.finish_reason ?? null), [null, null, null, "tool_calls", null]);
  t.like(out.at(-1), { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
  t.true(out.slice(0, -1).every((c) => c.usage === null), "with include_usage every other chunk has usage: null");
});

test("openai-stream-translator: a broken stream's Done yields no finish chunk (the error event follows)", (t) => {
  const translator = new ChunkTranslator("id", "chat", 5, false);
  t.deepEqual(translator.translate(create(CompleteChunkSchema, { event: { case: "done", value: { finishReason: FinishReason.ERROR } } })), []);
});

const STATUSES: [string, ConnectError, number, Record<string, string>, string | null][] = [
  ["unauthenticated", new ConnectError("unknown virtual key", Code.Unauthenticated), 401, {}, "invalid_api_key"],
  ["permission denied", new ConnectError("no", Code.PermissionDenied), 403, {}, null],
  ["unknown alias", new ConnectError("unknown alias", Code.NotFound), 404, {}, "model_not_found"],
  ["unimplemented", new ConnectError("no embeddings", Code.Unimplemented), 501, {}, null],
  ["internal", new ConnectError("internal error in the gateway", Code.Internal), 500, {}, null],
  ["deadline", new ConnectError("deadline", Code.DeadlineExceeded), 504, {}, null],
  ["rate limited with a delay", toConnectError(new UpstreamError("rate_limited", "p", "slow down", { retryAfterMs: 2500 })), 429, { "retry-after": "3", "retry-after-ms": "2500" }, "rate_limit_exceeded"],
  ["quota", toConnectError(new UpstreamError("quota_exhausted", "p", "no credit")), 429, {}, "insufficient_quota"],
  ["overloaded", toConnectError(new UpstreamError("overloaded", "p", "busy")), 503, {}, "overloaded"],
  ["an upstream 5xx", toConnectError(new UpstreamError("unavailable", "p", "down")), 502, {}, "unavailable"],
  ["an upstream timeout", toConnectError(new UpstreamError("timeout", "p", "slow")), 504, {}, "timeout"],
  ["context too long", toConnectError(new UpstreamError("context_length", "p", "too long")), 400, {}, "context_length_exceeded"],
];

for (const [name, error, status, headers, code] of STATUSES) {
  test(`openai-error-mapping: ${name} → ${status}`, (t) => {
    const http = httpErrorFrom(error);
    t.is(http.status, status);
    t.deepEqual(http.headers, headers);
    t.is(http.body.error.code, code);
    t.is(http.body.error.message, error.rawMessage);
  });
}

test("openai-error-mapping: a field violation is the param, under its OpenAI name", (t) => {
  t.is(httpErrorFrom(invalidArgument([{ field: "generation.max_output_tokens", description: "must be positive" }])).body.error.param, "max_tokens");
  const adapter = toConnectError(new UpstreamError("invalid_request", "b", "no URLs", { field: "messages[2].content[1].image.url" }));
  t.like(httpErrorFrom(adapter), { status: 400, body: { error: { param: "messages[2].content[1].image_url.url", type: "invalid_request_error" } } });
  t.is(openAIParam("inputs[3]"), "input[3]");
  t.is(openAIParam("messages[0].content[0].tool_result.tool_call_id"), "messages[0].tool_call_id");
  // Details of other domains do not confuse the reason.
  const foreign = new ConnectError("x", Code.Unavailable, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "OVERLOADED", domain: "switchboard" }) },
    { desc: RetryInfoSchema, value: create(RetryInfoSchema, {}) },
  ]);
  t.is(httpErrorFrom(foreign).status, 503);
});
