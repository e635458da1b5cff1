// The conformance scenarios: the same calls through the gateway's public gRPC API for every
// adapter, each upstream behaviour programmed in the fakes' neutral vocabulary.
import type { ExecutionContext } from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { FinishReason, Role, type CompleteChunk, type Usage } from "../../gen/switchboard/v1/inference_pb.js";
import { type InferenceClient, parts, systemText, userText } from "../../clients/inference-client.js";
import type { FakeUpstream } from "../fakes/server.js";
import type { AdapterRow, ScenarioName } from "./adapter-row.js";

export type ScenarioContext = { t: ExecutionContext; row: AdapterRow; fake: FakeUpstream; client: InferenceClient };
export type Scenario = (ctx: ScenarioContext) => Promise<void>;
/** The call a scenario makes, for rows that list it as unsupported: it answers a finish reason or throws. */
export type Probe = (ctx: ScenarioContext) => Promise<FinishReason>;

const WEATHER_TOOL = {
  name: "get_weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

async function collect(client: InferenceClient, request: Parameters<InferenceClient["streamComplete"]>[0], options = {}) {
  const chunks: CompleteChunk[] = [];
  for await (const chunk of client.streamComplete(request, options)) chunks.push(chunk);
  return chunks;
}

/** The stream's final Done; the check fails when it is missing or not last. */
function finalDone(t: ExecutionContext, chunks: CompleteChunk[]) {
  const last = chunks.at(-1)?.event;
  t.is(last?.case, "done", "the stream ends with a Done");
  return last?.case === "done" ? last.value : undefined;
}

function textOf(chunks: CompleteChunk[]): string {
  return chunks.map((c) => (c.event.case === "textDelta" ? c.event.value.text : "")).join("");
}

function checkUsage(ctx: ScenarioContext, usage: Usage | undefined, input: number, output: number) {
  const { t, row } = ctx;
  if (row.estimatesUsage) {
    t.true(usage?.estimated, "usage is marked estimated");
    t.true((usage?.inputTokens ?? 0n) > 0n && (usage?.outputTokens ?? 0n) > 0n, "estimated counts are positive");
  } else {
    t.false(usage?.estimated);
    t.is(usage?.inputTokens, BigInt(input));
    t.is(usage?.outputTokens, BigInt(output));
  }
}

export async function expectCode(ctx: ScenarioContext, code: Code, call: () => Promise<unknown>): Promise<ConnectError> {
  const error = ConnectError.from(await ctx.t.throwsAsync(call));
  ctx.t.is(Code[error.code], Code[code], error.message);
  return error;
}

const ask = (text: string) => ({ model: "chat", messages: [userText(text)] });

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  async "plain text"(ctx) {
    const { t, fake, client, row } = ctx;
    fake.enqueue({ kind: "reply", text: "Hello from the fake.", usage: { input: 11, output: 5 } });
    const res = await client.complete(ask("Hi"));
    t.is(res.message?.content[0]?.part.value, "Hello from the fake.");
    t.is(res.finishReason, FinishReason.STOP);
    checkUsage(ctx, res.usage, 11, 5);
    t.is(res.route?.providerType, row.name);
    t.is(res.route?.targetModel, row.model);
    t.true(row.inspect(fake.last()).authenticated);
  },

  async "multi-turn with system prompt"({ t, fake, client, row }) {
    const res = await client.complete({
      model: "chat",
      messages: [
        systemText("You are terse."),
        userText("My name is Ada."),
        { role: Role.ASSISTANT, content: [parts.text("Hello Ada.")] },
        userText("What is my name?"),
      ],
    });
    t.is(res.message?.content[0]?.part.value, "echo: What is my name?");
    const sent = row.inspect(fake.last());
    t.is(sent.system, "You are terse.");
    t.is(sent.turns, 3);
    t.false(sent.stream);
  },

  async streaming(ctx) {
    const { t, fake, client, row } = ctx;
    fake.enqueue({ kind: "reply", chunks: ["Once ", "upon ", "a time"], usage: { input: 9, output: 4 } });
    const chunks = await collect(client, ask("Tell a story"));
    const deltas = chunks.filter((c) => c.event.case === "textDelta");
    t.true(deltas.length >= 2, `several text chunks (got ${deltas.length})`);
    t.is(textOf(chunks), "Once upon a time");
    const done = finalDone(t, chunks);
    t.is(chunks.filter((c) => c.event.case === "done").length, 1);
    t.is(done?.finishReason, FinishReason.STOP);
    checkUsage(ctx, done?.usage, 9, 4);
    t.is(done?.route?.providerType, row.name);
    t.true(row.inspect(fake.last()).stream);
  },

  async "max tokens"({ t, fake, client, row }) {
    fake.enqueue({ kind: "reply", text: "Trunc", finish: "length" });
    const res = await client.complete({ ...ask("Write an essay"), generation: { maxOutputTokens: 5 } });
    t.is(res.finishReason, FinishReason.LENGTH);
    t.is(row.inspect(fake.last()).maxTokens, 5);
  },

  async "stop sequence"({ t, fake, client, row }) {
    fake.enqueue({ kind: "reply", text: "1, 2, 3", finish: "stop" });
    const res = await client.complete({ ...ask("Count"), generation: { stopSequences: ["4"] } });
    t.is(res.finishReason, FinishReason.STOP);
    t.deepEqual(row.inspect(fake.last()).stopSequences, ["4"]);
  },

  async "tool call round trip"({ t, fake, client, row }) {
    fake.enqueue({ kind: "reply", toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Paris" } }] });
    const first = await client.complete({ ...ask("Weather in Paris?"), tools: [WEATHER_TOOL] });
    t.is(first.finishReason, FinishReason.TOOL_CALLS);
    t.deepEqual(row.inspect(fake.last()).toolNames, ["get_weather"]);
    const call = first.message?.content.find((p) => p.part.case === "toolCall")?.part;
    if (call?.case !== "toolCall") return t.fail("no tool call in the answer");
    t.is(call.value.name, "get_weather");
    t.deepEqual(JSON.parse(call.value.argumentsJson), { city: "Paris" });
    t.truthy(call.value.id);

    fake.enqueue({ kind: "reply", text: "Sunny, 21 °C." });
    const second = await client.complete({
      model: "chat",
      tools: [WEATHER_TOOL],
      messages: [
        userText("Weather in Paris?"),
        { role: Role.ASSISTANT, content: [{ part: call }] },
        { role: Role.TOOL, content: [{ part: { case: "toolResult", value: { toolCallId: call.value.id, content: '{"sky":"sunny","c":21}' } } }] },
      ],
    });
    t.is(second.message?.content[0]?.part.value, "Sunny, 21 °C.");
    t.deepEqual(row.inspect(fake.last()).toolResults, ['{"sky":"sunny","c":21}']);
  },

  async "streaming tool-call deltas"({ t, fake, client }) {
    fake.enqueue({ kind: "reply", toolCalls: [{ id: "call_s1", name: "get_weather", arguments: { city: "Oslo", days: 3 } }] });
    const chunks = await collect(client, { ...ask("Weather in Oslo?"), tools: [WEATHER_TOOL] });
    const deltas = chunks.flatMap((c) => (c.event.case === "toolCallDelta" ? [c.event.value] : []));
    t.true(deltas.length >= 1);
    t.is(deltas[0].name, "get_weather");
    t.truthy(deltas[0].id);
    t.deepEqual(JSON.parse(deltas.map((d) => d.argumentsDelta).join("")), { city: "Oslo", days: 3 });
    t.is(finalDone(t, chunks)?.finishReason, FinishReason.TOOL_CALLS);
  },

  async "image input"({ t, fake, client, row }) {
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    await client.complete({
      model: "chat",
      messages: [
        {
          role: Role.USER,
          content: [
            parts.text("Describe this."),
            parts.imageBytes("image/png", png),
          ],
        },
      ],
    });
    t.is(row.inspect(fake.last()).images, 1);
  },

  async "rate limited"(ctx) {
    ctx.fake.enqueue({ kind: "error", error: "rate_limited", retryAfterSeconds: 3 });
    const error = await expectCode(ctx, Code.ResourceExhausted, () => ctx.client.complete(ask("Hi")));
    const retry = error.findDetails(RetryInfoSchema)[0];
    if (ctx.row.reportsRetryDelay) ctx.t.is(retry?.retryDelay?.seconds, 3n);
    else ctx.t.is(retry?.retryDelay, undefined);
  },

  async "quota exhausted"(ctx) {
    ctx.fake.enqueue({ kind: "error", error: "quota" });
    await expectCode(ctx, Code.ResourceExhausted, () => ctx.client.complete(ask("Hi")));
  },

  async overloaded(ctx) {
    ctx.fake.enqueue({ kind: "error", error: "overloaded" });
    await expectCode(ctx, Code.Unavailable, () => ctx.client.complete(ask("Hi")));
  },

  async "server error"(ctx) {
    ctx.fake.enqueue({ kind: "error", error: "server_error" });
    await expectCode(ctx, Code.Unavailable, () => ctx.client.complete(ask("Hi")));
  },

  async "context too long"(ctx) {
    ctx.fake.enqueue({ kind: "error", error: "context_length" });
    await expectCode(ctx, Code.InvalidArgument, () => ctx.client.complete(ask("Hi")));
  },

  async "bad credentials"(ctx) {
    ctx.fake.enqueue({ kind: "error", error: "auth" });
    const error = await expectCode(ctx, Code.Internal, () => ctx.client.complete(ask("Hi")));
    ctx.t.regex(error.rawMessage, /provider "upstream"/);
    ctx.t.notRegex(error.rawMessage, /sk-|AKIA|AIza|secret/i);
  },

  async "content filter"({ t, fake, client }) {
    fake.enqueue({ kind: "reply", text: "", finish: "content_filter" });
    const res = await client.complete(ask("Something unsafe"));
    t.is(res.finishReason, FinishReason.CONTENT_FILTER);
  },

  async "malformed upstream body"(ctx) {
    ctx.fake.enqueue({ kind: "malformed" });
    await expectCode(ctx, Code.Unavailable, () => ctx.client.complete(ask("Hi")));
  },

  async "upstream closes mid-stream"(ctx) {
    ctx.fake.enqueue({ kind: "cut" });
    const seen: CompleteChunk[] = [];
    await expectCode(ctx, Code.Unavailable, async () => {
      for await (const chunk of ctx.client.streamComplete(ask("Hi"))) seen.push(chunk);
    });
    // The fake sent text before cutting, so that output is accounted for in a Done before the status.
    ctx.t.true(seen.some((c) => c.event.case === "textDelta"), "the partial text reached the caller");
    const done = finalDone(ctx.t, seen);
    ctx.t.is(done?.finishReason, FinishReason.ERROR);
    ctx.t.true(done?.usage?.estimated);
  },

  // Routing bounds a stream by aborting the attempt's signal (deadline, cancel, the provider's
  // timeout_ms): every adapter must then drop the upstream request while it is reading the body.
  async "stalled stream aborted"(ctx) {
    ctx.fake.enqueue({ kind: "stall" });
    const seen: string[] = [];
    await expectCode(ctx, Code.DeadlineExceeded, async () => {
      for await (const chunk of ctx.client.streamComplete(ask("Hi"), { timeoutMs: 1500 })) seen.push(chunk.event.case ?? "");
    });
    ctx.t.true(seen.includes("textDelta"), "the text before the stall reached the caller");
    await ctx.fake.settled(1000);
    ctx.t.true(ctx.fake.last().aborted, "the upstream stream was closed at the deadline");
  },

  async "connection refused"(ctx) {
    const { port } = ctx.fake;
    await ctx.fake.close();
    const expected = new RegExp(`connection refused: 127\\.0\\.0\\.1:${port}$`);
    const unary = await expectCode(ctx, Code.Unavailable, () => ctx.client.complete(ask("Hi")));
    ctx.t.regex(unary.rawMessage, expected);
    const streamed = await expectCode(ctx, Code.Unavailable, () => collect(ctx.client, ask("Hi")));
    ctx.t.regex(streamed.rawMessage, expected);
  },

  async "deadline exceeded"(ctx) {
    ctx.fake.enqueue({ kind: "hang" });
    const started = Date.now();
    await expectCode(ctx, Code.DeadlineExceeded, () => ctx.client.complete(ask("Hi"), { timeoutMs: 1000 }));
    const took = Date.now() - started;
    ctx.t.true(took >= 990 && took < 2500, `the call ends at its deadline (took ${took} ms)`);
    await ctx.fake.settled();
    ctx.t.true(ctx.fake.last().aborted, "the upstream request was aborted");
  },

  async "client cancel"(ctx) {
    ctx.fake.enqueue({ kind: "reply", chunks: ["first ", "second ", "third"], chunkDelayMs: 400 });
    const controller = new AbortController();
    await expectCode(ctx, Code.Canceled, async () => {
      for await (const chunk of ctx.client.streamComplete(ask("Hi"), { signal: controller.signal })) {
        if (chunk.event.case === "textDelta") controller.abort();
      }
    });
    await ctx.fake.settled();
    ctx.t.true(ctx.fake.last().aborted, "the upstream stream was aborted");
  },

  async embeddings({ t, fake, client, row }) {
    const res = await client.embed({ model: "embed", inputs: ["alpha", "beta gamma"] });
    t.is(res.embeddings.length, 2);
    t.true(res.embeddings.every((e) => e.values.length > 0));
    t.true((res.usage?.inputTokens ?? 0n) > 0n);
    t.is(res.route?.targetModel, row.embeddingModel);
    t.true(row.inspect(fake.last()).authenticated);
  },
};

async function streamedFinish(client: InferenceClient, request: Parameters<InferenceClient["streamComplete"]>[0]): Promise<FinishReason> {
  const last = (await collect(client, request)).at(-1)?.event;
  if (last?.case !== "done") throw new Error("the stream ended without a Done");
  return last.value.finishReason;
}

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

/** The main call of each scenario a row may list as unsupported (register.ts runs it against the documented outcome). */
export const PROBES: Partial<Record<ScenarioName, Probe>> = {
  async "tool call round trip"({ client }) {
    return (await client.complete({ ...ask("Weather in Paris?"), tools: [WEATHER_TOOL] })).finishReason;
  },
  async "streaming tool-call deltas"({ client }) {
    return streamedFinish(client, { ...ask("Weather in Oslo?"), tools: [WEATHER_TOOL] });
  },
  async "image input"({ client }) {
    const message = { role: Role.USER, content: [parts.text("Describe this."), parts.imageBytes("image/png", PNG)] };
    return (await client.complete({ model: "chat", messages: [message] })).finishReason;
  },
  async "content filter"({ fake, client }) {
    fake.enqueue({ kind: "reply", text: "", finish: "content_filter" });
    return (await client.complete(ask("Something unsafe"))).finishReason;
  },
  async embeddings({ client }) {
    await client.embed({ model: "embed", inputs: ["alpha"] });
    return FinishReason.UNSPECIFIED;
  },
};
