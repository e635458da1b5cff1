// A unary upstream answer read whole through undici's dispatch(): the status, the raw header list
// and the body's chunks. undici's request() builds a body stream, a parsed header object and a
// consume promise for every call, which a body that is read whole and parsed once never needs.
import type { Dispatcher } from "undici";
import type { UpstreamSignal } from "../core/cancel.js";

export type WholeResponse = {
  statusCode: number;
  /** The first value of a header, by lower-case name. */
  header(name: string): string | undefined;
  /** The body as UTF-8 text ("" when `bodyError` cut it). */
  text(): string;
  /** Set when the connection failed after the status and headers came: the body is incomplete. */
  bodyError?: Error;
};

class Answer implements WholeResponse {
  bodyError?: Error;

  constructor(
    readonly statusCode: number,
    private readonly rawHeaders: Buffer[],
    private readonly chunks: Buffer[],
  ) {}

  header(name: string): string | undefined {
    const raw = this.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i]!.toString("latin1").toLowerCase() === name) return raw[i + 1]!.toString("latin1");
    }
    return undefined;
  }

  text(): string {
    if (this.bodyError) return "";
    return this.chunks.length === 1 ? this.chunks[0]!.toString("utf8") : Buffer.concat(this.chunks).toString("utf8");
  }
}

/**
 * undici's handler interface as its request() uses it: onConnect hands over the abort, the signal
 * is followed until the answer is complete, an error before the headers rejects, one after them
 * resolves with `bodyError` (the status still tells what happened).
 */
export class WholeResponseHandler implements Dispatcher.DispatchHandler {
  private abortRequest?: (error: Error) => void;
  private answer?: Answer;
  private readonly chunks: Buffer[] = [];
  private readonly onAbort: () => void;

  constructor(
    private readonly resolve: (response: WholeResponse) => void,
    private readonly reject: (error: unknown) => void,
    private readonly signal: UpstreamSignal | undefined,
  ) {
    this.onAbort = this.abort.bind(this);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort;
    if (this.signal?.aborted) this.abort();
    else this.signal?.addEventListener("abort", this.onAbort);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.answer = new Answer(statusCode, rawHeaders, this.chunks);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
    if (this.answer) this.resolve(this.answer);
    else this.reject(new Error("the upstream answer ended without a status"));
  }

  onError(error: Error): void {
    this.signal?.removeEventListener("abort", this.onAbort);
    if (this.answer === undefined) {
      this.reject(error);
      return;
    }
    this.answer.bodyError = error;
    this.resolve(this.answer);
  }

  /** Ends the request with the signal's reason, as undici's request() does. */
  private abort(): void {
    this.abortRequest?.((this.signal?.reason ?? new DOMException("This operation was aborted", "AbortError")) as Error);
  }
}
