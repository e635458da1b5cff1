// The ledger on the request path, over real sockets into a real SQLite file: exactly one row per
// call however it ends, committed before the caller sees the end of its call, and one audit record
// in the same commit.
import { createHash } from "node:crypto";
import test, { type ExecutionContext } from "ava";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CompleteRequestSchema, InferenceService } from "../gen/switchboard/v1/inference_pb.js";
import { userText } from "../clients/inference-client.js";
import type { PolicyStep } from "../server/policy/chain.js";
import { ledgerRows, waitForLedgerRows } from "./helpers/ledger.js";
import { grpcFrame, rawGrpc } from "./helpers/raw-rpc.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

async function setup(t: ExecutionContext, policy: PolicyStep[] = []) {
  const fake = await useFake(t, () => startOpenAIFake());
  const gw = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-ledger-000000" }), { policy });
  return { fake, ...gw, store: gw.gateway.store };
}

const rows = ledgerRows;
const waitForRows = waitForLedgerRows;

test("ledger-row-for-a-success: committed before the response, with the response's cost and the x-request-id header", async (t) => {
  const { fake, client, store } = await setup(t);
  fake.enqueue({ kind: "reply", text: "Hello", usage: { input: 1000, output: 500, cached: 200 }, model: "gpt-4o-mini-2024-07-18" });
  let requestId: string | null | undefined;
  const res = await client.complete({ model: "chat", messages: [userText("Hi")], metadata: { feature: "search" } }, { onHeader: (h) => (requestId = h.get("x-request-id")) });
  // Read at once, no waiting: the row was committed before the response left the gateway.
  const [row, ...more] = await rows(store);
  t.is(more.length, 0);
  t.truthy(requestId);
  t.is(row.requestId, requestId ?? "");
  t.is(row.status, "OK");
  t.is(row.protocol, "grpc");
  t.is(row.method, "complete");
  t.is(row.alias, "chat");
  t.is(row.provider, "upstream");
  t.is(row.model, "gpt-4o-mini");
  t.is(row.modelVersion, "gpt-4o-mini-2024-07-18");
  t.is(row.costNanoUsd, res.usage?.costNanoUsd ?? -1n);
  t.deepEqual(row.usage, { uncachedInput: 800, cacheRead: 200, cacheWrite: 0, output: 500, reasoning: 0 });
  t.false(row.estimated);
  t.is(row.attempts.length, 1);
  t.is(row.attempts[0].outcome, "OK");
  t.deepEqual(row.metadata, { feature: "search" });
  t.is(row.keyName, "", "no caller is known until auth establishes one");
  t.true(row.latencyMs >= 0);
  t.is(row.ttftMs, undefined);
});

test("ledger-request-ids-are-time-ordered: UUIDv7, later calls sort after earlier ones, so the unique index is appended to", async (t) => {
  const { fake, client, store } = await setup(t);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    fake.enqueue({ kind: "reply", text: `answer ${i}`, usage: { input: 10, output: 2 } });
    await client.complete({ model: "chat", messages: [userText(`call ${i}`)] }, { onHeader: (h) => ids.push(h.get("x-request-id") ?? "") });
  }
  t.is(ids.length, 3);
  for (const id of ids) t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.deepEqual([...ids].sort(), ids, "each id sorts after the one before");
  const stored = (await rows(store)).map((row) => row.requestId).sort();
  t.deepEqual(stored, ids);
});

test("ledger-row-for-a-stream: committed before the done chunk, with time to first token", async (t) => {
  const { fake, client, store } = await setup(t);
  fake.enqueue({ kind: "reply", chunks: ["a", "b", "c"], usage: { input: 10, output: 3 } });
  for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Hi")] })) {
    if (chunk.event.case !== "done") continue;
    const found = await rows(store);
    t.is(found.length, 1, "the row is there when the done chunk arrives");
    t.is(found[0].status, "OK");
    t.is(found[0].method, "stream_complete");
    t.is(found[0].costNanoUsd, chunk.event.value.usage?.costNanoUsd ?? -1n);
    t.true(found[0].ttftMs !== undefined && found[0].ttftMs <= found[0].latencyMs);
  }
});

test("ledger-row-for-an-upstream-failure: status, attempts and the error after the row", async (t) => {
  const { fake, client, store } = await setup(t);
  fake.enqueue({ kind: "error", error: "server_error" });
  const error = await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }));
  t.is(ConnectError.from(error).code, Code.Unavailable);
  const [row, ...more] = await rows(store);
  t.is(more.length, 0);
  t.is(row.status, "UNAVAILABLE");
  t.is(row.provider, "upstream");
  t.is(row.attempts.length, 1);
  t.is(row.costNanoUsd, 0n);
});

test("ledger-row-for-a-client-cancel: a stream the caller abandons gets one CANCELLED row with what it consumed", async (t) => {
  const { fake, client, store } = await setup(t);
  fake.enqueue({ kind: "reply", chunks: ["one ", "two ", "three"], stallAfterChunks: 1 });
  const controller = new AbortController();
  await t.throwsAsync(async () => {
    for await (const chunk of client.streamComplete({ model: "chat", messages: [userText("Hi")] }, { signal: controller.signal })) {
      if (chunk.event.case === "textDelta") controller.abort();
    }
  });
  const found = await waitForRows(store, 1);
  t.is(found.length, 1);
  t.is(found[0].status, "CANCELLED");
  t.is(found[0].provider, "upstream");
  t.true(found[0].usage.output > 0, "the text that reached the caller is billed");
  t.true(found[0].estimated);
  t.truthy(found[0].ttftMs !== undefined);
});

test("ledger-row-for-a-deadline: DEADLINE_EXCEEDED is recorded", async (t) => {
  // The gateway's own deadline (the alias's timeout_ms, for a caller that sends none): a caller's
  // deadline reaches the gateway as the caller's cancel, its client's timer running ahead of ours.
  const fake = await useFake(t, () => startOpenAIFake());
  const config = singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-ledger-000000" });
  const { gateway, baseUrl } = await startTestGateway(t, { ...config, models: { chat: { ...config.models.chat, timeout_ms: 300 } } });
  const client = createClient(InferenceService, createGrpcTransport({ baseUrl }));
  fake.enqueue({ kind: "hang" });
  const error = await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }));
  t.is(ConnectError.from(error).code, Code.DeadlineExceeded);
  const [row, ...more] = await rows(gateway.store);
  t.is(more.length, 0);
  t.is(row.status, "DEADLINE_EXCEEDED");
});

test("ledger-row-for-a-limit-hit: a call a later step refuses gets its row; an unauthenticated one gets none", async (t) => {
  const refuse: PolicyStep = (call) => {
    if (call.header("x-test-refuse") === "auth") throw new ConnectError("no key", Code.Unauthenticated);
    if (call.header("x-test-refuse") === "limit") throw new ConnectError("rpm limit", Code.ResourceExhausted);
    return { caller: { name: "search-api", team: "search", keyId: "key_1" } };
  };
  const { client, store } = await setup(t, [refuse]);
  const limited = await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }, { headers: { "x-test-refuse": "limit" } }));
  t.is(ConnectError.from(limited).code, Code.ResourceExhausted);
  const unauthenticated = await t.throwsAsync(client.complete({ model: "chat", messages: [userText("Hi")] }, { headers: { "x-test-refuse": "auth" } }));
  t.is(ConnectError.from(unauthenticated).code, Code.Unauthenticated);
  await client.complete({ model: "chat", messages: [userText("Hi")] });
  const found = await rows(store);
  t.deepEqual(found.map((r) => r.status), ["RESOURCE_EXHAUSTED", "OK"]);
  t.is(found[0].costNanoUsd, 0n);
  t.is(found[0].provider, "");
  t.is(found[1].keyId, "key_1");
  t.is(found[1].keyName, "search-api");
  t.is(found[1].team, "search");
});

test("audit-record-per-call: the request hash is the same over gRPC and Connect, the prompt is not kept by default", async (t) => {
  const { client, store, baseUrl } = await setup(t);
  const request = { model: "chat", messages: [userText("Same request")] };
  await client.complete(request);
  let connectRequestId: string | null | undefined;
  const connect = createClient(InferenceService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  await connect.complete(request, { onHeader: (h) => (connectRequestId = h.get("x-request-id")) });
  const records = [];
  for await (const record of store.exportAudit()) records.push(record);
  t.is(records.length, 2);
  const expected = createHash("sha256").update(toBinary(CompleteRequestSchema, create(CompleteRequestSchema, request))).digest("hex");
  t.deepEqual(records.map((r) => [r.kind, r.requestHash, r.prompt]), [
    ["call", expected, undefined],
    ["call", expected, undefined],
  ]);
  t.is(records[1].requestId, connectRequestId ?? "");
  const found = await rows(store);
  t.deepEqual(found.map((r) => r.protocol), ["grpc", "connect"]);
  t.true((await store.verifyAudit()).ok);
});

test("audit-hash-of-a-reordered-grpc-request-is-the-canonical-encodings: the bytes as sent are re-encoded before hashing", async (t) => {
  const { store, baseUrl } = await setup(t);
  const messages = [userText("Same request")];
  const canonical = toBinary(CompleteRequestSchema, create(CompleteRequestSchema, { model: "chat", messages }));
  // Field 2 before field 1: valid protobuf that decodes to the same request, but other bytes.
  const reordered = Buffer.concat([toBinary(CompleteRequestSchema, create(CompleteRequestSchema, { messages })), toBinary(CompleteRequestSchema, create(CompleteRequestSchema, { model: "chat" }))]);
  const answer = await rawGrpc(baseUrl, "/switchboard.v1.InferenceService/Complete", grpcFrame(reordered));
  t.is(answer.grpcStatus, 0, answer.failure ?? answer.grpcMessage);
  const records = [];
  for await (const record of store.exportAudit()) records.push(record);
  const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
  t.notDeepEqual(sha256(reordered), sha256(canonical));
  t.deepEqual(records.map((r) => r.requestHash), [sha256(canonical)]);
});

test("ledger-row-for-an-invalid-request: an authenticated caller's invalid call is recorded as INVALID_ARGUMENT; an unauthenticated one is not", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const secret = "sk-sb-ledger-invalid-0000000001";
  const gw = await startTestGateway(t, {
    ...singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-ledger-000000" }),
    teams: { search: { rpm: 1000 } },
    keys: [{ name: "search-api", team: "search", secret }],
  });
  const auth = { headers: { authorization: `Bearer ${secret}` } };
  const noMessages = { model: "chat", messages: [] };
  const unary = ConnectError.from(await t.throwsAsync(gw.client.complete(noMessages, auth)));
  t.is(unary.code, Code.InvalidArgument);
  const streamed = ConnectError.from(
    await t.throwsAsync(async () => {
      for await (const _chunk of gw.client.streamComplete(noMessages, auth));
    }),
  );
  t.is(streamed.code, Code.InvalidArgument);
  t.is(ConnectError.from(await t.throwsAsync(gw.client.complete(noMessages))).code, Code.Unauthenticated, "authentication comes first");
  const recorded = await rows(gw.gateway.store);
  t.deepEqual(
    recorded.map((r) => [r.method, r.status, r.keyName, r.team, r.costNanoUsd, r.attempts.length]),
    [
      ["complete", "INVALID_ARGUMENT", "search-api", "search", 0n, 0],
      ["stream_complete", "INVALID_ARGUMENT", "search-api", "search", 0n, 0],
    ],
  );
  t.is(fake.requests.length, 0);
});

test("audit-prompt-capture-redacts: configured patterns and known secrets never reach the audit log", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const upstreamKey = "sk-test-ledger-capture-0001";
  const gw = await startTestGateway(t, {
    ...singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: upstreamKey }),
    audit: { capture_prompts: true, redact: ["[\\w.+-]+@[\\w-]+\\.[\\w.]+", "\\b\\d{4}(?: ?\\d{4}){3}\\b"] },
  });
  await gw.client.complete({ model: "chat", messages: [userText(`Mail jane.doe@example.com, card 4111 1111 1111 1111, key ${upstreamKey}, about the order`)] });
  const records = [];
  for await (const record of gw.gateway.store.exportAudit()) records.push(record);
  t.is(records.length, 1);
  t.is(records[0]!.prompt, "user: Mail [REDACTED], card [REDACTED], key [REDACTED], about the order");
});
