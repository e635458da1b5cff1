// The one HTTP transport every adapter's SDK uses. Per ../shared/reference/performance.md the
// SDKs' default WHATWG fetch is the largest cost of an upstream hop; undici.request is measured
// 2.3–2.9× cheaper, so the SDKs get a fetch-compatible shim over it, and clients without an SDK
// (openai-http.ts) get undici.request itself over the same dispatcher. This is the only module that
// imports undici (importing it changes Node's global fetch dispatcher).
// An egress proxy set in the environment (proxy-env.ts) is honoured by both halves: fetch goes
// through undici's EnvHttpProxyAgent, the AWS clients through an https-proxy-agent (CONNECT tunnel;
// undici's ProxyAgent cannot serve node:https, which the AWS SDK's handler uses).
import type { UpstreamSignal } from "../core/cancel.js";
import { Readable } from "node:stream";
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from "undici";
import { NodeHttp2Handler, NodeHttpHandler, type NodeHttp2HandlerOptions } from "@smithy/node-http-handler";
import { HttpsProxyAgent } from "https-proxy-agent";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { ProxyRoutes, proxySettings } from "./proxy-env.js";
import { WholeResponseHandler, type WholeResponse } from "./whole-response.js";

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export type HttpRequestOptions = {
  method: Dispatcher.HttpMethod;
  /** Lower-case names; sent as given. */
  headers: Record<string, string>;
  body: string | Buffer | null;
  signal?: UpstreamSignal;
};
/** A response whose body is a plain Node stream (async-iterable Buffers, `text()`, `json()`). */
export type HttpResponse = Dispatcher.ResponseData;
export type HttpRequest = (url: string, options: HttpRequestOptions) => Promise<HttpResponse>;
/** A request whose answer is read whole (unary calls): no body stream. */
export type WholeRequest = (url: string, options: HttpRequestOptions) => Promise<WholeResponse>;
export type { WholeResponse };

export type Transport = {
  /** fetch for SDKs that accept one (openai, anthropic, gemini). */
  fetch: FetchLike;
  /** undici.request over the same dispatcher (pool, egress proxy), for clients that need no fetch. */
  request: HttpRequest;
  /** The same request with the answer read whole, for a unary call's body parsed once. */
  requestWhole: WholeRequest;
  /**
   * Request handler for an AWS SDK client calling `endpoint`: shared keep-alive sockets, through
   * the egress proxy when one applies to the endpoint. Owned by the transport: a client must not
   * destroy it.
   */
  awsHttp1Handler(endpoint: string): NodeHttpHandler;
  /** An HTTP/2 request handler for an AWS SDK client (Bedrock without a proxy); the caller owns it. */
  awsHttp2Handler(options: NodeHttp2HandlerOptions): NodeHttp2Handler;
  /** The egress proxy the environment sets for `url` (NO_PROXY applied), if any. */
  proxyFor(url: string): string | undefined;
  close(): Promise<void>;
};

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"]);

type RequestBody = string | Buffer | Uint8Array | Readable | null;

async function bodyOf(body: BodyInit | null | undefined): Promise<RequestBody> {
  if (body === null || body === undefined) return null;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ReadableStream) return Readable.fromWeb(body as import("node:stream/web").ReadableStream);
  // FormData, Blob: let the platform serialise them.
  return Buffer.from(await new Response(body).arrayBuffer());
}

function headersOf(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!init) return out;
  new Headers(init).forEach((value, key) => {
    if (!HOP_BY_HOP.has(key)) out[key] = value;
  });
  return out;
}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.append(key, value);
  }
  return headers;
}

/** A fetch over undici.request: no Request/Headers objects on the way out, a plain stream back. */
export function createUndiciFetch(dispatcher: Dispatcher): FetchLike {
  return async (input, init) => {
    let url: string;
    let method = init?.method ?? "GET";
    let headers = headersOf(init?.headers);
    let body: RequestBody = await bodyOf(init?.body);
    let signal = init?.signal ?? undefined;
    if (typeof input === "string") url = input;
    else if (input instanceof URL) url = input.href;
    else {
      url = input.url;
      method = init?.method ?? input.method;
      headers = { ...headersOf(input.headers), ...headers };
      body ??= input.body ? Readable.fromWeb(input.body as import("node:stream/web").ReadableStream) : null;
      signal ??= input.signal;
    }
    const response = await request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: signal ?? undefined,
      dispatcher,
    });
    const stream = NULL_BODY_STATUS.has(response.statusCode)
      ? null
      : (Readable.toWeb(response.body) as unknown as ReadableStream<Uint8Array>);
    if (stream === null) response.body.resume();
    return new Response(stream, {
      status: response.statusCode,
      headers: responseHeaders(response.headers),
    });
  };
}

/** Upstream URLs split into a dispatcher's origin and path, once per URL: they come from the config. */
class UrlTargets {
  private readonly byUrl = new Map<string, { origin: string; path: string }>();

  /** The URL's origin and path, or why it cannot be requested. */
  of(url: string): { origin: string; path: string } | TypeError {
    let target = this.byUrl.get(url);
    if (target === undefined) {
      const parsed = URL.canParse(url) ? new URL(url) : undefined;
      if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") return new TypeError(`upstream URL ${parsed ? parsed.protocol + "//" + parsed.host : "(unparseable)"} is not http: or https:`);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      // A bound, not an eviction policy: configs name a handful of URLs.
      if (this.byUrl.size >= 1000) this.byUrl.clear();
      this.byUrl.set(url, target);
    }
    return target;
  }
}

export type TransportOptions = {
  connectionsPerOrigin?: number;
  /** Where the proxy variables are read (default: process.env), once, when the transport is made. */
  env?: Record<string, string | undefined>;
};

export function createTransport(options: TransportOptions = {}): Transport {
  const connections = options.connectionsPerOrigin ?? 256;
  const settings = proxySettings(options.env ?? process.env);
  const routes = settings ? new ProxyRoutes(settings) : undefined;
  const pool = { connections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 };
  // Explicit values ("" for unset), so that undici does not read process.env again on its own.
  const dispatcher: Dispatcher = settings
    ? new EnvHttpProxyAgent({ ...pool, httpProxy: settings.httpProxy ?? "", httpsProxy: settings.httpsProxy ?? "", noProxy: settings.noProxy })
    : new Agent(pool);
  const sockets = { keepAlive: true, maxSockets: connections };
  const httpAgent = new HttpAgent(sockets);
  const httpsAgent = new HttpsAgent(sockets);
  // One tunnelling agent per proxy URL, shared by every AWS client that goes through it.
  const tunnels = new Map<string, HttpsProxyAgent<string>>();
  const tunnelFor = (proxy: string) => {
    let agent = tunnels.get(proxy);
    if (!agent) tunnels.set(proxy, (agent = new HttpsProxyAgent(proxy, sockets)));
    return agent;
  };
  const proxyFor = (url: string) => routes?.proxyFor(url);
  const targets = new UrlTargets();
  return {
    fetch: createUndiciFetch(dispatcher),
    // The dispatcher's own request(): undici.request(url) would parse the URL again on every call.
    // undici takes as signal anything with addEventListener/removeEventListener, aborted and reason
    // (lib/api/abort-signal.js); its types name only AbortSignal and EventEmitter.
    request(url, { method, headers, body, signal }) {
      const target = targets.of(url);
      if (target instanceof Error) return Promise.reject(target);
      return dispatcher.request({ origin: target.origin, path: target.path, method, headers, body, signal: signal as AbortSignal | undefined });
    },
    requestWhole(url, { method, headers, body, signal }) {
      const target = targets.of(url);
      if (target instanceof Error) return Promise.reject(target);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<WholeResponse>((resolve, reject) => {
        dispatcher.dispatch({ origin: target.origin, path: target.path, method, headers, body }, new WholeResponseHandler(resolve, reject, signal));
      });
    },
    proxyFor,
    awsHttp1Handler(endpoint) {
      const proxy = proxyFor(endpoint);
      if (!proxy) return new NodeHttpHandler({ httpAgent, httpsAgent });
      const agent = tunnelFor(proxy);
      return new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent });
    },
    awsHttp2Handler: (options) => new NodeHttp2Handler(options),
    async close() {
      httpAgent.destroy();
      httpsAgent.destroy();
      for (const agent of tunnels.values()) agent.destroy();
      await dispatcher.close();
    },
  };
}
