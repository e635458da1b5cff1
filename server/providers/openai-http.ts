// A lean client for the OpenAI-compatible HTTP wire (Chat Completions, Embeddings): undici through
// the shared transport, one JSON.stringify out; a unary answer read whole and parsed once, a
// stream's SSE read line by line from the plain Node body stream. It replaces the `openai` SDK,
// which cost 3.8× the CPU per unary call and 4.3× per stream (bench/RESULTS.md, "The upstream
// hop"), and keeps what the adapter relied on from it: the SDK's URL joining, headers, error shapes
// and SSE semantics, no retries.
// Failures the upstream tells of come out as UpstreamError; network failures and unparseable
// JSON are thrown as they are, for the runner's classifier.
import type { UpstreamSignal } from "../core/cancel.js";
import type { Readable } from "node:stream";
import { UpstreamError, retryAfterFromHeaders, upstreamErrorFromHttp } from "../core/errors.js";
import { redact } from "../core/redact.js";
import { LineSplitter } from "./line-splitter.js";
import type { HttpRequest, HttpResponse, WholeRequest } from "./transport.js";

export type JsonObject = Record<string, unknown>;

export type OpenAIHttpOptions = {
  /** The provider's configured name, for error messages. */
  provider: string;
  baseUrl: string;
  apiKey?: string;
  organization?: string;
  /** Extra headers from the provider's config; they override the defaults, as the SDK's did. */
  headers?: Record<string, string>;
  request: HttpRequest;
  /** The same, read whole: what unary calls use. */
  requestWhole: WholeRequest;
};

export interface OpenAIHttpClient {
  /** POSTs `body` as JSON to `path` under the base URL; the JSON object answered. */
  post(path: string, body: object, signal?: UpstreamSignal, extraHeaders?: Readonly<Record<string, string>>): Promise<JsonObject>;
  /** POSTs a streaming request; the JSON object of every SSE event up to `[DONE]`. */
  stream(path: string, body: object, signal?: UpstreamSignal, extraHeaders?: Readonly<Record<string, string>>): Promise<AsyncIterable<JsonObject>>;
}

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** `${baseUrl}${path}`, one slash between them, the way the SDK joins them. */
export function joinUrl(baseUrl: string, path: string): string {
  return new URL(baseUrl.endsWith("/") && path.startsWith("/") ? baseUrl + path.slice(1) : baseUrl + path).href;
}

function defaultHeaders(options: OpenAIHttpOptions): Record<string, string> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  if (options.organization) headers["openai-organization"] = options.organization;
  // Lower-cased so that a configured "Authorization" replaces ours instead of being sent twice.
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  headers["content-type"] = "application/json";
  return headers;
}

function streamHeader(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * What a non-2xx answer means. The upstream's message comes from OpenAI's `{"error": {...}}` body,
 * or vLLM's top-level `{"message", "type", "code"}`, or the raw text of a body that is not JSON.
 */
function statusError(provider: string, statusCode: number, header: (name: string) => string | undefined, text: string): UpstreamError {
  const parsed = parseJson(text);
  const error = isObject(parsed) ? parsed.error : undefined;
  const detail = isObject(error) ? error : isObject(parsed) && error === undefined ? parsed : undefined;
  const message =
    typeof detail?.message === "string" ? detail.message : typeof error === "string" ? error : error !== undefined ? JSON.stringify(error) : text;
  return upstreamErrorFromHttp(provider, statusCode, message || "no body", {
    code: [detail?.code, detail?.type].filter(Boolean).join(" "),
    retryAfterMs: retryAfterFromHeaders(header),
  });
}

const isSuccess = (statusCode: number) => statusCode >= 200 && statusCode <= 299;

/** An in-band `{"error": …}` event: no HTTP status, only the upstream's error code or type. */
function streamError(provider: string, error: unknown): UpstreamError {
  const detail = isObject(error) ? error : {};
  const kind = /rate_limit/i.test(String(detail.code ?? detail.type)) ? "rate_limited" : "unavailable";
  const type = typeof detail.type === "string" ? redact(detail.type).slice(0, 100) : "error";
  return new UpstreamError(kind, provider, `provider "${provider}" failed mid-stream: ${type}`);
}

function notAnObject(provider: string, what: string): UpstreamError {
  return new UpstreamError("malformed", provider, `provider "${provider}" answered ${what} that is not a JSON object`);
}

/**
 * The JSON objects of an SSE body. An event is its `data:` lines joined by "\n", dispatched at the
 * blank line that ends it (an unterminated last event is dropped, as the SDK did); comments and
 * events without data (keep-alives) are skipped. After `[DONE]` the rest of the body is still read
 * to its end, so the connection goes back to the pool instead of being torn down.
 */
export async function* sseObjects(provider: string, body: Readable): AsyncGenerator<JsonObject> {
  const lines = new LineSplitter();
  let data: string[] = [];
  let done = false;
  try {
    for await (const bytes of body as AsyncIterable<Buffer>) {
      if (done) continue;
      for (const line of lines.push(bytes)) {
        if (line !== "") {
          if (line.startsWith("data:")) data.push(line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5));
          continue;
        }
        if (data.length === 0) continue;
        const text = data.length === 1 ? data[0]! : data.join("\n");
        data = [];
        if (text.startsWith("[DONE]")) {
          done = true;
          break;
        }
        const event = JSON.parse(text) as unknown;
        if (isObject(event) && event.error) throw streamError(provider, event.error);
        if (!isObject(event)) throw notAnObject(provider, "a stream event");
        yield event;
      }
    }
  } finally {
    // An abandoned iteration (the consumer stopped, an error above) frees the socket at once.
    if (!body.readableEnded) body.destroy();
  }
}

export function createOpenAIHttpClient(options: OpenAIHttpOptions): OpenAIHttpClient {
  const { provider, request, requestWhole } = options;
  // Built once: every call sends the same headers object.
  const headers = defaultHeaders(options);
  const urls = new Map<string, string>();
  const urlFor = (path: string) => {
    let url = urls.get(path);
    if (url === undefined) urls.set(path, (url = joinUrl(options.baseUrl, path)));
    return url;
  };
  const requestOptions = (body: object, signal: UpstreamSignal | undefined, extra: Readonly<Record<string, string>> | undefined) => ({
    method: "POST" as const,
    headers: extra ? { ...headers, ...extra } : headers,
    body: JSON.stringify(body),
    signal,
  });

  return {
    async post(path, body, signal, extraHeaders) {
      const response = await requestWhole(urlFor(path), requestOptions(body, signal, extraHeaders));
      // A body cut short still leaves the status to classify by.
      if (!isSuccess(response.statusCode)) throw statusError(provider, response.statusCode, (name) => response.header(name), response.text());
      if (response.bodyError) throw response.bodyError;
      const answer = JSON.parse(response.text()) as unknown;
      if (!isObject(answer)) throw notAnObject(provider, "a body");
      return answer;
    },
    async stream(path, body, signal, extraHeaders) {
      const response = await request(urlFor(path), requestOptions(body, signal, extraHeaders));
      if (!isSuccess(response.statusCode)) {
        const text = await response.body.text().catch(() => "");
        throw statusError(provider, response.statusCode, (name) => streamHeader(response, name), text);
      }
      return sseObjects(provider, response.body);
    },
  };
}
