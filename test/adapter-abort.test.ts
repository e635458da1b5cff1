// The adapters' half of timeout_ms (routing enforces it by aborting the attempt's signal): every
// adapter exposes the provider's timeout_ms, never applies it itself (no SDK timeout, idle timeout
// or time-to-headers from it), and ends its upstream request as soon as the signal fires — while
// waiting for the answer and while reading a stream's body. Run against every conformance row,
// one test at a time: a concurrent test's synchronous SDK start-up would stall this event loop.
import test, { type ExecutionContext } from "ava";
import { providerSchema } from "../server/config/schema.js";
import type { CompletionRequest, StreamEvent } from "../server/core/types.js";
import type { ProviderAdapter } from "../server/providers/provider.js";
import { createProvider } from "../server/providers/registry.js";
import { createTransport } from "../server/providers/transport.js";
import type { AdapterRow } from "./conformance/adapter-row.js";
import { ROWS } from "./conformance/rows/index.js";
import type { FakeUpstream } from "./fakes/server.js";
import { useFake } from "./helpers/fakes.js";

const HI: CompletionRequest = {
  alias: "chat",
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  generation: { stopSequences: [] },
  tools: [],
  metadata: {},
};

// 1 ms: an adapter that applied timeout_ms itself would fail long before the fake sees the request.
const TIMEOUT_MS = 1;
// How long a call must stay pending to show that no timer of the adapter's own ends it. Waiting
// longer only makes the check stricter, so a slow machine cannot make it fail spuriously.
const QUIET_MS = 150;

async function adapterFor(t: ExecutionContext, row: AdapterRow): Promise<{ fake: FakeUpstream; adapter: ProviderAdapter }> {
  const fake = await useFake(t, () => row.startFake());
  const transport = createTransport();
  const config = providerSchema.parse({ ...row.providerConfig(fake), timeout_ms: TIMEOUT_MS });
  const adapter = createProvider("upstream", config, { transport });
  t.teardown(async () => {
    await adapter.close();
    await transport.close();
  });
  return { fake, adapter };
}

/** Resolves once `condition` holds (polled), or fails the wait after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function track<T>(promise: Promise<T>) {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

// "At once", with room for a busy machine; SDK defaults would keep the request open for minutes.
const CLOSED_WITHIN_MS = 1000;

const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));

for (const row of ROWS) {
  const label = row.label ?? row.name;

  test.serial(`${label}: timeout_ms is exposed, not applied; an aborted signal ends a pending request at once`, async (t) => {
    const { fake, adapter } = await adapterFor(t, row);
    t.is(adapter.timeoutMs, TIMEOUT_MS);
    fake.enqueue({ kind: "hang" });
    const controller = new AbortController();
    const call = adapter.complete(HI, { model: row.model }, controller.signal);
    const state = track(call);
    await until(() => fake.requests.length === 1 || state.settled, "the request to reach the fake");
    await quiet();
    t.false(state.settled, "nothing but the signal ends the call");
    const reason = new Error("the attempt's time is up");
    controller.abort(reason);
    t.is(await t.throwsAsync(call), reason, "the signal's reason is what the call throws");
    await fake.settled(CLOSED_WITHIN_MS);
    t.true(fake.last().aborted, "the fake saw the request closed");
  });

  test.serial(`${label}: an aborted signal ends a stream that stalls mid-body at once`, async (t) => {
    const { fake, adapter } = await adapterFor(t, row);
    fake.enqueue({ kind: "stall" });
    const controller = new AbortController();
    const events = adapter.stream(HI, { model: row.model }, controller.signal)[Symbol.asyncIterator]();
    let first: IteratorResult<StreamEvent>;
    do first = await events.next();
    while (!first.done && first.value.type !== "text");
    t.is(first.done ? undefined : first.value.type, "text", "the text before the stall arrived");
    const next = events.next();
    const state = track(next);
    await quiet();
    t.false(state.settled, "no idle timeout of the adapter's own ends the stream");
    const reason = new Error("the attempt's time is up");
    controller.abort(reason);
    t.is(await t.throwsAsync(next), reason);
    await fake.settled(CLOSED_WITHIN_MS);
    t.true(fake.last().aborted, "the fake saw the stream closed");
  });
}
