// Every adapter's upstream request carries the call's trace context — passed with the attempt to
// the adapter's SDK call (a per-request header; a build middleware on AWS commands) — unary,
// streamed and, where the provider has them, embeddings.
import test from "ava";
import { Role } from "../../gen/switchboard/v1/inference_pb.js";
import { ROWS } from "../conformance/rows/index.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import { createGrpcInferenceClient } from "../helpers/grpc-client.js";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const message = { role: Role.USER, content: [{ part: { case: "text" as const, value: "Hi" } }] };

for (const row of ROWS) {
  test(`upstream-gets-traceparent: ${row.label ?? row.name} requests carry the caller's trace context (unary, stream, embeddings)`, async (t) => {
    const fake = await useFake(t, () => row.startFake());
    const { gateway } = await startTestGateway(t, {
      providers: { up: row.providerConfig(fake) },
      models: {
        chat: { retry: { max_attempts: 1 }, targets: [{ provider: "up", model: row.model }] },
        embed: { retry: { max_attempts: 1 }, targets: [{ provider: "up", model: row.embeddingModel ?? row.model }] },
      },
    });
    const client = createGrpcInferenceClient(gateway.address);
    t.teardown(() => client.close());
    await client.complete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT });
    t.is(fake.last().headers.traceparent, TRACEPARENT);
    await client.streamComplete({ model: "chat", messages: [message] }, { traceparent: TRACEPARENT });
    t.is(fake.last().headers.traceparent, TRACEPARENT);
    t.is(fake.requests.length, 2);
    if (row.unsupported.embeddings === undefined) {
      await client.embed({ model: "embed", inputs: ["a", "b"] }, { traceparent: TRACEPARENT });
      t.true(fake.requests.length > 2);
      for (const request of fake.requests.slice(2)) t.is(request.headers.traceparent, TRACEPARENT);
    }
  });
}
