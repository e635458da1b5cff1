// OTLP export batches: 2,048 spans per export by default, from a queue of 8,192 (the SDK's 512 and
// 2,048 drop spans after half a second of a slow collector at 2,000 calls/s), and the standard
// OTEL_BSP_* variables still rule.
import test from "ava";
import { createTracing } from "../../server/telemetry/tracing.js";
import { setEnvForTest } from "../helpers/env.js";
import { startOtlpCollector } from "../helpers/otlp-collector.js";

async function exportSpans(t: Parameters<typeof startOtlpCollector>[0], count: number) {
  const collector = await startOtlpCollector(t);
  const tracing = createTracing({ exporter: "otlp", protocol: "http/json", endpoint: collector.endpoint }, "test")!;
  // Ended in one turn of the event loop: no export can finish meanwhile, as with a collector slower than the calls.
  for (let i = 0; i < count; i++) tracing.tracer.startSpan(`span ${i}`).end();
  await tracing.shutdown(); // exports what is buffered, then stops
  // Batches flushed together at shutdown may arrive in either order.
  return collector.exports.map((e) => e.spans.length).sort((a, b) => b - a);
}

// Serial: the other test sets a process-wide environment variable.
test.serial("span-export-batches-hold-2048-spans: 1,500 spans leave in one export, not in 512-span pieces", async (t) => {
  t.deepEqual(await exportSpans(t, 1500), [1500]);
  t.deepEqual(await exportSpans(t, 2500), [2048, 452]);
});

test.serial("slow-collector-loses-no-spans-that-fit-the-queue: 6,000 spans ended while one export is out all arrive", async (t) => {
  const sizes = await exportSpans(t, 6000);
  // The SDK's queue of 2,048 would have dropped 3,440 of them (512 in the export, 2,048 queued).
  t.is(sizes.reduce((sum, n) => sum + n, 0), 6000);
});

test.serial("span-export-batches-follow-otel-bsp-max-export-batch-size", async (t) => {
  setEnvForTest(t, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100");
  const sizes = await exportSpans(t, 350);
  t.deepEqual(sizes, [100, 100, 100, 50]);
});
