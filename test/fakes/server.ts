// The part every fake shares: a real HTTP server on 127.0.0.1 (HTTP/1.1, or HTTP/2 for Bedrock),
// a queue of programmed replies, a record of every request (headers, parsed body, whether the
// client went away before the response finished), and a count of requests still open.
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { FakeReply } from "./script.js";

export type FakeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type FakeResponse = http.ServerResponse | http2.Http2ServerResponse;

export type RecordedRequest = {
  method: string;
  /** Path without the query string; the query is in `query`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  /** True when the client closed the request before the fake finished answering. */
  aborted: boolean;
  /** Resolves when the exchange is over, either way. */
  ended: Promise<void>;
};

/** Renders one programmed reply for one request in the provider's wire protocol. */
export type Renderer = (request: RecordedRequest, reply: FakeReply, res: FakeResponse) => Promise<void> | void;

export type FakeOptions = {
  http2?: boolean;
  /** The reply when nothing is queued, from the recorded request. */
  defaultReply: (request: RecordedRequest) => FakeReply;
  render: Renderer;
};

export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private program: ((request: RecordedRequest, index: number) => FakeReply | undefined) | undefined;
  private open = 0;
  private server!: http.Server | http2.Http2Server;
  private readonly sockets = new Set<{ destroy(): void }>();
  url = "";
  port = 0;
  /** TCP connections accepted so far: what keep-alive tests count. */
  connectionsAccepted = 0;

  constructor(private readonly options: FakeOptions) {}

  /** Replies for the next requests, in order; after them the program or the default applies. */
  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** A reply for every request from now on (return undefined for the default). */
  setProgram(program: ((request: RecordedRequest, index: number) => FakeReply | undefined) | undefined): this {
    this.program = program;
    return this;
  }

  /** Requests whose response has not finished yet. */
  openRequests(): number {
    return this.open;
  }

  last(): RecordedRequest {
    const request = this.requests.at(-1);
    if (!request) throw new Error("the fake has received no request");
    return request;
  }

  /** Resolves when no request is open any more (or rejects after timeoutMs). */
  async settled(timeoutMs = 2000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.open > 0) {
      if (Date.now() > until) throw new Error(`${this.open} upstream request(s) still open after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async start(): Promise<this> {
    const handler = (req: FakeRequest, res: FakeResponse) => void this.handle(req, res);
    this.server = this.options.http2 ? http2.createServer(handler) : http.createServer(handler);
    this.server.on("connection", (socket: { destroy(): void; once(e: string, f: () => void): void }) => {
      this.connectionsAccepted++;
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: FakeRequest, res: FakeResponse): Promise<void> {
    this.open++;
    let markEnded!: () => void;
    const url = new URL(req.url ?? "/", "http://fake");
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: { ...req.headers },
      raw: Buffer.alloc(0),
      body: undefined,
      aborted: false,
      ended: new Promise<void>((resolve) => (markEnded = resolve)),
    };
    let closed = false;
    res.once("close", () => {
      if (closed) return;
      closed = true;
      // An HTTP/2 response reports writableFinished even when the client reset the stream.
      const resetByClient = res instanceof http2.Http2ServerResponse && res.stream.aborted;
      recorded.aborted = !res.writableFinished || resetByClient;
      this.open--;
      markEnded();
    });
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      recorded.raw = Buffer.concat(chunks);
      try {
        recorded.body = recorded.raw.length > 0 ? JSON.parse(recorded.raw.toString("utf8")) : undefined;
      } catch {
        recorded.body = undefined;
      }
      const index = this.requests.push(recorded) - 1;
      const reply = this.queue.shift() ?? this.program?.(recorded, index) ?? this.options.defaultReply(recorded);
      if (reply.kind === "hang") return; // the client's abort closes it
      await this.options.render(recorded, reply, res);
    } catch (error) {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`fake failed: ${(error as Error).message}`);
      } else {
        res.destroy();
      }
    }
  }
}

/** Writes and waits until the socket accepted it, so delays between chunks are real on the wire. */
export function write(res: FakeResponse, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    (res as http.ServerResponse).write(data, () => resolve());
  });
}

/** Drops the connection under a response (a provider dying mid-stream). */
export function cutConnection(res: FakeResponse): void {
  const stream = (res as http2.Http2ServerResponse).stream;
  if (stream && typeof stream.close === "function" && "session" in stream) {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  } else {
    (res as http.ServerResponse).socket?.destroy();
  }
}
