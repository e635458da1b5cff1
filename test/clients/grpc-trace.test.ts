// A trace started in a service that uses the grpc-js client reaches the gateway as a W3C
// traceparent with the same trace id, with @opentelemetry/instrumentation-grpc enabled the way a
// service enables it under ESM: clients/otel-register.ts before @grpc/grpc-js is first imported
// (hence the dynamic imports below: a static import would load grpc-js before the hook).
import test from "ava";

await import("../../clients/otel-register.js");
const { context, trace } = await import("@opentelemetry/api");
const { NodeTracerProvider } = await import("@opentelemetry/sdk-trace-node");
const { InMemorySpanExporter, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
const { createGrpcInferenceClient } = await import("../../clients/grpc-client.js");
const { userText } = await import("../../clients/inference-client.js");
const { startOpenAIFake } = await import("../fakes/openai.js");
const { useFake } = await import("../helpers/fakes.js");
const { singleProviderConfig, startTestGateway } = await import("../helpers/gateway.js");

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

test("client-trace-reaches-the-gateway-as-traceparent: same trace id, client span exported", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const traceparents: (string | undefined)[] = [];
  const gw = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-0000000" }), {
    policy: [
      (call) => {
        if (call.method === "complete") traceparents.push(call.header("traceparent"));
        return {};
      },
    ],
  });
  const client = createGrpcInferenceClient({ addresses: [gw.gateway.address], timeoutMs: 10_000 });
  t.teardown(() => client.close());

  const tracer = trace.getTracer("service-under-test");
  const span = tracer.startSpan("handle-user-request");
  await context.with(trace.setSpan(context.active(), span), () => client.complete({ model: "chat", messages: [userText("Hi")] }));
  span.end();

  const traceId = span.spanContext().traceId;
  t.is(traceparents.length, 1);
  t.regex(traceparents[0] ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`), "the gateway received the caller's trace id");
  const clientSpan = exporter.getFinishedSpans().find((s) => s.name === "grpc.switchboard.v1.InferenceService/Complete" && s.kind === 2);
  t.truthy(clientSpan, `a client span for the call; got ${exporter.getFinishedSpans().map((s) => `${s.name}/${s.kind}`).join(", ")}`);
  t.is(clientSpan?.spanContext().traceId, traceId);
  t.is(traceparents[0]?.split("-")[2], clientSpan?.spanContext().spanId, "the traceparent names the client span as parent");
});
