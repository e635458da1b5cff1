// Server-sent events as OpenAI streams them: `data: <json>` events, then `data: [DONE]`. A failure
// after the stream began is an event whose data is `{"error": {...}}` (what the OpenAI SDKs turn into
// an APIError), and no [DONE]. Writes wait for the socket to drain, so a slow reader slows the
// upstream read instead of buffering the answer in memory.
import type { ServerResponse } from "node:http";

export function sseEvent(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = "data: [DONE]\n\n";

export class SseWriter {
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: () => Record<string, string>,
  ) {}

  /** Whether the response headers (status 200) are out; before that an error can still be a JSON answer. */
  get isStarted(): boolean {
    return this.started;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      ...this.headers(),
    });
    // Headers go out with the first event, in one packet.
  }

  private async write(text: string): Promise<void> {
    this.start();
    if (this.res.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  send(data: unknown): Promise<void> {
    return this.write(sseEvent(data));
  }

  /** The last event: [DONE] after an answer, or the error event after a failure. */
  end(error?: unknown): void {
    this.start();
    this.res.end(error === undefined ? SSE_DONE : sseEvent(error));
  }
}
