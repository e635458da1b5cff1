// Traces the grpc-js client with OpenTelemetry: `node --import @switchboard/client/otel-register app.js`.
// Under ESM, @opentelemetry/instrumentation-grpc patches nothing unless the import-in-the-middle
// hook is registered before @grpc/grpc-js is first imported, which an --import file guarantees.
// The service sets up its own tracer provider (e.g. NodeTracerProvider.register(), which also
// installs the W3C traceparent propagator); the instrumentation finds it through the global API.
import { register } from "node:module";

register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
const { registerInstrumentations } = await import("@opentelemetry/instrumentation");
const { GrpcInstrumentation } = await import("@opentelemetry/instrumentation-grpc");
registerInstrumentations({ instrumentations: [new GrpcInstrumentation()] });
