// The OpenAI-compatible HTTP/1.1 door: /v1/chat/completions, /v1/embeddings and /v1/models, served
// by the same calls.ts as gRPC, Connect and gRPC-Web (the same policy chain, router, ledger and
// audit hash). This file only turns HTTP requests into InboundCalls and contract requests, and the
// results back into OpenAI JSON, SSE and HTTP statuses.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { Cancel } from "../core/cancel.js";
import type { InboundCall, Method } from "../policy/chain.js";
import type { InferenceCalls } from "../rpc/calls.js";
import { toConnectError } from "../rpc/errors.js";
import { readJsonBody } from "./body.js";
import { chatRequestFromOpenAI, type ChatRequest } from "./chat-request.js";
import { chatCompletionToOpenAI } from "./chat-response.js";
import { ChunkTranslator } from "./chat-stream.js";
import { embeddingsRequestFromOpenAI, embeddingsToOpenAI } from "./embeddings.js";
import { badRequest, httpErrorFrom, plainError, type HttpError } from "./errors.js";
import { SseWriter } from "./sse.js";

export type OpenAIDoorOptions = {
  calls: InferenceCalls;
  /** max_message_bytes: the largest request body. */
  maxBodyBytes: number;
  logError(error: unknown): void;
};

export type OpenAIDoor = (req: IncomingMessage, res: ServerResponse) => void;

/** A call's InboundCall and the response headers the policy chain set on it (x-request-id). */
type HttpCall = { call: InboundCall; headers: Record<string, string> };

function httpCall(req: IncomingMessage, res: ServerResponse, method: Method): HttpCall {
  const cancel = new Cancel();
  // The caller closed the connection before the answer was complete: abort the upstream at once.
  res.once("close", () => {
    if (!res.writableFinished) cancel.abort(new ConnectError("the caller closed the connection", Code.Canceled));
  });
  const headers: Record<string, string> = {};
  return {
    headers,
    call: {
      protocol: "openai",
      method,
      header(name) {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      cancel,
      setResponseHeader(name, value) {
        headers[name] = value;
      },
    },
  };
}

function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

function sendError(res: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, { ...headers, ...error.headers }, error.body);
}

/** The gateway's own time: the whole call less the upstream attempts' time (whole ms each). */
function overheadMs(startedAt: number, attemptMs: number[]): string {
  const total = performance.now() - startedAt;
  const upstream = attemptMs.reduce((sum, ms) => sum + ms, 0);
  return Math.max(0, total - upstream).toFixed(3);
}

/**
 * The completion's id: the gateway's request id, unique per call (clients such as LangGraph key
 * messages by it) and the ledger row's key. Providers' own ids are not unique across providers.
 */
function completionId(headers: Record<string, string>): string {
  return `chatcmpl-${headers["x-request-id"] ?? randomUUID()}`;
}

/** A path segment with %-escapes decoded; one that does not decode stays as sent (and is unknown). */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Whether `method` is the one `path` takes; otherwise the 405 is sent. */
function allows(res: ServerResponse, method: string, path: string, allowed: string): boolean {
  if (method === allowed) return true;
  res.setHeader("allow", allowed);
  sendError(res, plainError(405, "invalid_request_error", `${method} is not allowed on ${path.slice(0, 100)}; use ${allowed}`, "method_not_allowed"));
  return false;
}

export function createOpenAIDoor(options: OpenAIDoorOptions): OpenAIDoor {
  const { calls, logError } = options;
  const failure = (error: unknown) => httpErrorFrom(toConnectError(error, logError));

  async function unaryChat(res: ServerResponse, { call, headers }: HttpCall, chat: ChatRequest): Promise<void> {
    const startedAt = performance.now();
    const response = await calls.complete(call, chat.request);
    const route = response.route;
    const id = completionId(headers);
    const body = chatCompletionToOpenAI(response, chat.request.model, id, Math.floor(Date.now() / 1000));
    sendJson(
      res,
      200,
      {
        ...headers,
        "x-switchboard-provider": route?.provider ?? "",
        "x-switchboard-model": route?.targetModel ?? "",
        "x-switchboard-cost-nano-usd": String(response.usage?.costNanoUsd ?? 0n),
        "x-switchboard-overhead-ms": overheadMs(startedAt, route?.attemptLog.map((a) => a.durationMs) ?? []),
      },
      body,
    );
  }

  async function streamChat(res: ServerResponse, { call, headers }: HttpCall, chat: ChatRequest): Promise<void> {
    const serving: Record<string, string> = {};
    call.onServing = (provider, model) => {
      serving["x-switchboard-provider"] = provider;
      serving["x-switchboard-model"] = model;
    };
    const writer = new SseWriter(res, () => ({ ...headers, ...serving }));
    let translator: ChunkTranslator | undefined;
    try {
      for await (const chunk of calls.streamComplete(call, chat.request)) {
        if (res.destroyed) break; // ends the generator: the call settles as cancelled
        translator ??= new ChunkTranslator(completionId(headers), chat.request.model, Math.floor(Date.now() / 1000), chat.includeUsage);
        for (const out of translator.translate(chunk)) await writer.send(out);
      }
      if (!res.destroyed) writer.end();
    } catch (error) {
      if (res.destroyed) return;
      const http = failure(error);
      if (writer.isStarted) writer.end(http.body);
      else sendError(res, http, headers);
    }
  }

  async function chatCompletions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, options.maxBodyBytes);
    if (!body.ok) return sendError(res, body.error);
    const { value, problems } = chatRequestFromOpenAI(body.value);
    if (!value) return sendError(res, badRequest(problems));
    const http = httpCall(req, res, value.stream ? "stream_complete" : "complete");
    if (value.stream) return streamChat(res, http, value);
    try {
      await unaryChat(res, http, value);
    } catch (error) {
      sendError(res, failure(error), http.headers);
    }
  }

  async function embeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, options.maxBodyBytes);
    if (!body.ok) return sendError(res, body.error);
    const { value, problems } = embeddingsRequestFromOpenAI(body.value);
    if (!value) return sendError(res, badRequest(problems));
    const { call, headers } = httpCall(req, res, "embed");
    try {
      const response = await calls.embed(call, value.request);
      const route = response.route;
      sendJson(
        res,
        200,
        { ...headers, "x-switchboard-provider": route?.provider ?? "", "x-switchboard-model": route?.targetModel ?? "", "x-switchboard-cost-nano-usd": String(response.usage?.costNanoUsd ?? 0n) },
        embeddingsToOpenAI(response, value.request.model, value.encoding),
      );
    } catch (error) {
      sendError(res, failure(error), headers);
    }
  }

  async function models(req: IncomingMessage, res: ServerResponse, id: string | undefined): Promise<void> {
    const { call, headers } = httpCall(req, res, "list_models");
    try {
      const listed = (await calls.listModels(call)).models.map((m) => ({ id: m.name, object: "model" as const, created: 0, owned_by: "switchboard" }));
      if (id === undefined) return sendJson(res, 200, headers, { object: "list", data: listed });
      const model = listed.find((m) => m.id === id);
      if (model) return sendJson(res, 200, headers, model);
      sendError(res, { ...plainError(404, "not_found_error", `unknown model alias ${JSON.stringify(id.slice(0, 200))}`, "model_not_found"), headers: {} }, headers);
    } catch (error) {
      sendError(res, failure(error), headers);
    }
  }

  function route(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const path = (req.url ?? "").split("?", 1)[0]!;
    const method = req.method ?? "GET";
    if (path === "/v1/chat/completions") return allows(res, method, path, "POST") ? chatCompletions(req, res) : undefined;
    if (path === "/v1/embeddings") return allows(res, method, path, "POST") ? embeddings(req, res) : undefined;
    if (path === "/v1/models") return allows(res, method, path, "GET") ? models(req, res, undefined) : undefined;
    if (path.startsWith("/v1/models/")) return allows(res, method, path, "GET") ? models(req, res, decodedSegment(path.slice("/v1/models/".length))) : undefined;
    sendError(res, plainError(404, "invalid_request_error", `unknown path ${JSON.stringify(path.slice(0, 100))}: the gateway serves /v1/chat/completions, /v1/embeddings and /v1/models`, "unknown_url"));
  }

  return (req, res) => {
    let pending: Promise<void> | void;
    try {
      pending = route(req, res);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending?.catch((error: unknown) => {
      logError(error);
      if (!res.headersSent) sendError(res, plainError(500, "api_error", "internal error in the gateway"));
      else res.destroy();
    });
  };
}
