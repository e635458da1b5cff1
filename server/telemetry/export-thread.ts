// The event loop's side of span export: a SpanProcessor that appends each ended, sampled span to a
// flat array and posts the array to the export thread every SPANS_PER_POST spans (or POST_DELAY_MS
// after the first), where the official batch processor and OTLP exporter take over. The spans'
// OTLP encoding was ~5 % of the event loop under load; crossing flat costs a fraction of it
// (bench/RESULTS.md, "Span export on its own thread, spans crossing flat").
// If the thread dies, what it had not exported is lost (as a crash loses a batch processor's
// queue); from then on, spans not yet posted and all later ones go to `inline`, built then.
import { TraceFlags } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Worker } from "node:worker_threads";
import { startThread, threadEntry } from "../core/thread-script.js";
import type { ExportReply, ExportRequest, ExportThreadData } from "./export-protocol.js";
import { flattenSpan, spansFromFlat, type FlatSpans } from "./span-wire.js";

/** Spans per message: one post per ~60 ms at 4,000 spans/s, each well under a millisecond to clone. */
export const SPANS_PER_POST = 256;
/** The longest a span waits on the event loop before it is posted. */
export const POST_DELAY_MS = 50;

export class ThreadedSpanProcessor implements SpanProcessor {
  private worker: Worker | undefined;
  private fallback: SpanProcessor | undefined;
  private flat: FlatSpans = [];
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (error?: string) => void>();
  private stopping = false;
  /** Of the spans seen, for rebuilding unposted ones when falling back. */
  private origin: { resource: Resource; scope: InstrumentationScope } | undefined;

  constructor(
    data: ExportThreadData,
    private readonly inline: () => SpanProcessor,
    private readonly postDelayMs = POST_DELAY_MS,
  ) {
    const worker = startThread(threadEntry("export-worker", import.meta.url), { workerData: data });
    worker.unref();
    worker.on("message", (reply: ExportReply) => this.answered(reply));
    worker.on("error", () => this.fallBack());
    worker.on("exit", () => this.fallBack());
    this.worker = worker;
  }

  /** The export thread's id, while it runs (tests). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.fallback) return this.fallback.onEnd(span);
    this.origin ??= { resource: span.resource, scope: span.instrumentationScope };
    flattenSpan(span, this.flat);
    if (++this.count >= SPANS_PER_POST) this.post();
    else if (!this.timer) {
      this.timer = setTimeout(this.post, this.postDelayMs);
      this.timer.unref();
    }
  }

  forceFlush(): Promise<void> {
    this.post();
    return this.ask("flush");
  }

  async shutdown(): Promise<void> {
    this.post();
    this.stopping = true;
    await this.ask("shutdown");
    await this.worker?.terminate();
  }

  /** Ends the thread at once, as a crash would (tests). */
  async terminateThread(): Promise<void> {
    await this.worker?.terminate();
  }

  private readonly post = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    const flat = this.flat;
    this.flat = [];
    this.count = 0;
    if (this.worker) this.worker.postMessage({ kind: "spans", flat } satisfies ExportRequest);
    else this.rehome(flat);
  };

  private ask(kind: "flush" | "shutdown"): Promise<void> {
    const worker = this.worker;
    if (!worker) {
      if (!this.fallback) return Promise.resolve(); // shut down already
      return kind === "flush" ? this.fallback.forceFlush() : this.fallback.shutdown();
    }
    const id = this.nextId++;
    worker.ref(); // the process waits for the answer
    worker.postMessage({ kind, id } satisfies ExportRequest);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (error) => (error === undefined ? resolve() : reject(new Error(`span export: ${error}`))));
    });
  }

  private answered(reply: ExportReply): void {
    this.waiting.get(reply.id)?.(reply.error);
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker?.unref();
  }

  private fallBack(): void {
    if (!this.worker) return;
    this.worker = undefined;
    for (const settle of this.waiting.values()) settle(this.stopping ? undefined : "the export thread stopped");
    this.waiting.clear();
    if (this.stopping) return;
    this.fallback = this.inline();
    const flat = this.flat;
    this.flat = [];
    this.count = 0;
    this.rehome(flat);
  }

  /** Spans not posted when the thread died, to the inline processor. */
  private rehome(flat: FlatSpans): void {
    if (flat.length === 0 || !this.origin || !this.fallback) return;
    for (const span of spansFromFlat(flat, this.origin.resource, this.origin.scope)) this.fallback.onEnd(span);
  }
}
