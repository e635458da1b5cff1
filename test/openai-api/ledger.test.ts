// The OpenAI door writes the same ledger rows and audit records as gRPC: the same call made both
// ways gives the same row but for the protocol, the same cost and the same request hash; a stream
// the caller abandons aborts the upstream at once and is recorded CANCELLED with what it produced.
import { createHash } from "node:crypto";
import test from "ava";
import { create, toBinary } from "@bufbuild/protobuf";
import { CompleteRequestSchema, Role } from "../../gen/switchboard/v1/inference_pb.js";
import type { LedgerRow } from "../../server/store/store.js";
import { ledgerRows, waitForLedgerRows } from "../helpers/ledger.js";
import { openaiRow } from "../conformance/rows/openai.js";
import { startWithRow } from "./setup.js";

const rows = ledgerRows;
const waitForRows = waitForLedgerRows;

/** What must match between the two doors: everything but the call's identity, timing and protocol. */
function comparable(row: LedgerRow) {
  const { time: _t, requestId: _r, protocol: _p, latencyMs: _l, ttftMs: _f, traceId: _tr, attempts, ...rest } = row;
  return { ...rest, attempts: attempts.map(({ durationMs: _d, ...a }) => a) };
}

test("same-call-over-openai-and-grpc-gives-the-same-ledger-row-cost-and-audit-hash", async (t) => {
  const { openai, client, fake, gateway } = await startWithRow(t, openaiRow);
  const usage = { input: 1000, output: 500, cached: 200 };
  fake.enqueue({ kind: "reply", text: "Hello", usage }, { kind: "reply", text: "Hello", usage });
  const grpc = await client.complete({
    model: "chat",
    messages: [
      { role: Role.SYSTEM, content: [{ part: { case: "text", value: "Be brief." } }] },
      { role: Role.USER, content: [{ part: { case: "text", value: "Same request" } }] },
    ],
    generation: { maxOutputTokens: 64, temperature: 0.5, stopSequences: ["END"] },
    metadata: { feature: "parity" },
  });
  const { data, response } = await openai.chat.completions
    .create({
      model: "chat",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Same request" },
      ],
      max_tokens: 64,
      temperature: 0.5,
      stop: "END",
      metadata: { feature: "parity" },
    })
    .withResponse();
  t.is(data.choices[0]?.message.content, "Hello");

  const [viaGrpc, viaOpenAI, ...more] = await rows(gateway.store);
  t.is(more.length, 0);
  t.is(viaGrpc?.protocol, "grpc");
  t.is(viaOpenAI?.protocol, "openai");
  t.is(viaOpenAI?.requestId, response.headers.get("x-request-id") ?? "");
  t.deepEqual(comparable(viaOpenAI!), comparable(viaGrpc!));
  t.true((viaOpenAI?.costNanoUsd ?? 0n) > 0n);
  t.is(viaOpenAI?.costNanoUsd, grpc.usage?.costNanoUsd ?? -1n);
  t.is(response.headers.get("x-switchboard-cost-nano-usd"), String(grpc.usage?.costNanoUsd));

  const audit = [];
  for await (const record of gateway.store.exportAudit()) audit.push(record);
  const calls = audit.filter((r) => r.kind === "call");
  t.is(calls.length, 2);
  const expected = createHash("sha256")
    .update(
      toBinary(
        CompleteRequestSchema,
        create(CompleteRequestSchema, {
          model: "chat",
          messages: [
            { role: Role.SYSTEM, content: [{ part: { case: "text", value: "Be brief." } }] },
            { role: Role.USER, content: [{ part: { case: "text", value: "Same request" } }] },
          ],
          generation: { maxOutputTokens: 64, temperature: 0.5, stopSequences: ["END"] },
          metadata: { feature: "parity" },
        }),
      ),
    )
    .digest("hex");
  t.deepEqual(
    calls.map((r) => r.requestHash),
    [expected, expected],
  );
  const fields = ({ seq: _s, time: _t, requestId: _r, traceId: _tr, ...rest }: (typeof calls)[number]) => rest;
  const { prevHash: _a, hash: _b, ...grpcRecord } = fields(calls[0]!) as Record<string, unknown>;
  const { prevHash: _c, hash: _d, ...openaiRecord } = fields(calls[1]!) as Record<string, unknown>;
  t.deepEqual(openaiRecord, grpcRecord);
  t.true((await gateway.store.verifyAudit()).ok);
});

test("openai-stream-cancel-aborts-the-upstream-and-is-recorded-cancelled-with-what-it-produced", async (t) => {
  const { openai, fake, gateway } = await startWithRow(t, openaiRow);
  fake.enqueue({ kind: "reply", chunks: ["one ", "two ", "three"], stallAfterChunks: 1 });
  const controller = new AbortController();
  const stream = await openai.chat.completions.create(
    { model: "chat", stream: true, messages: [{ role: "user", content: "Count" }] },
    { signal: controller.signal },
  );
  const seen: string[] = [];
  // On abort the SDK ends the iteration (it closes the connection); it does not throw.
  for await (const chunk of stream) {
    seen.push(chunk.choices[0]?.delta.content ?? "");
    if (seen.join("") !== "") controller.abort();
  }
  t.is(seen.join(""), "one ");
  // The upstream stalled after its first chunk: only the caller's close can have ended it.
  await fake.settled(3000);
  t.true(fake.last().aborted, "the upstream request was aborted when the caller went away");
  const [row, ...more] = await waitForRows(gateway.store, 1);
  t.is(more.length, 0);
  t.is(row?.status, "CANCELLED");
  t.is(row?.protocol, "openai");
  t.is(row?.method, "stream_complete");
  t.is(row?.provider, "upstream");
  t.true((row?.usage.output ?? 0) > 0, "the text that reached the caller is billed");
});
