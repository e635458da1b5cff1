// A bench-only prototype of a lean client for the OpenAI-compatible Chat Completions wire:
// undici.request, JSON.stringify of the body, JSON.parse of the answer, SSE parsed line by line.
// It keeps what the gateway needs from the SDK (an error carrying the status and Retry-After, abort
// by signal, a dispatcher that can be a ProxyAgent) and nothing else. Not used by the server.
import { request, type Dispatcher } from "undici";

export type ChatBody = Record<string, unknown> & { model: string; messages: unknown[] };

export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | undefined,
    readonly body: string,
  ) {
    super(`upstream answered HTTP ${status}`);
  }
}

export type LeanClient = {
  complete(body: ChatBody, signal?: AbortSignal): Promise<unknown>;
  stream(body: ChatBody, signal?: AbortSignal): AsyncGenerator<unknown>;
};

export function createLeanClient(options: { baseUrl: string; apiKey?: string; dispatcher: Dispatcher; headers?: Record<string, string> }): LeanClient {
  const url = `${options.baseUrl.replace(/\/$/, "")}/chat/completions`;
  // Built once: the same headers object for every call.
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", ...options.headers };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const streamHeaders = { ...headers, accept: "text/event-stream" };

  async function send(body: ChatBody, signal: AbortSignal | undefined, h: Record<string, string>): Promise<Dispatcher.ResponseData> {
    const response = await request(url, { method: "POST", headers: h, body: JSON.stringify(body), signal, dispatcher: options.dispatcher });
    if (response.statusCode >= 400) {
      const text = await response.body.text();
      const retryAfter = response.headers["retry-after"];
      throw new UpstreamHttpError(response.statusCode, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, text);
    }
    return response;
  }

  return {
    async complete(body, signal) {
      const response = await send(body, signal, headers);
      return JSON.parse(await response.body.text()) as unknown;
    },
    async *stream(body, signal) {
      const response = await send(body, signal, streamHeaders);
      let buffered = "";
      response.body.setEncoding("utf8");
      try {
        for await (const part of response.body as AsyncIterable<string>) {
          buffered += part;
          let newline: number;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline).trimEnd();
            buffered = buffered.slice(newline + 1);
            if (!line.startsWith("data:")) continue; // blank separators, comments, event: lines
            const data = line.slice(5).trimStart();
            if (data === "[DONE]") return;
            yield JSON.parse(data) as unknown;
          }
        }
      } finally {
        // An abandoned iteration (caller cancelled) must free the socket at once.
        if (!response.body.readableEnded) response.body.destroy();
      }
    },
  };
}
