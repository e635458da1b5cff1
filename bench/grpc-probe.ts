// A small gRPC client over raw node:http2 (no client library cost in the measurement): it checks the
// grpc-status h2load cannot see, and times streams (time to first token, total) where h2load sees
// only whole responses. The direct counterpart calls the fake over node:http with keep-alive.
import http from "node:http";
import http2 from "node:http2";
import { performance } from "node:perf_hooks";

export type GrpcResult = {
  httpStatus: number;
  grpcStatus: number;
  grpcMessage: string;
  messages: Uint8Array[];
  /** performance.now() at the request, at the first message, at the end of the call. */
  startedAt: number;
  firstMessageAt: number;
  endedAt: number;
};

/** One gRPC call on an open HTTP/2 session; `onMessage` sees each message as it arrives. */
export function grpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  frame: Uint8Array,
  onMessage?: (message: Uint8Array, result: GrpcResult) => void,
  headers: Record<string, string> = {},
): Promise<GrpcResult> {
  const result: GrpcResult = {
    httpStatus: 0,
    grpcStatus: -1,
    grpcMessage: "",
    messages: [],
    startedAt: performance.now(),
    firstMessageAt: Number.NaN,
    endedAt: Number.NaN,
  };
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let pending: Buffer = Buffer.alloc(0);
    const status = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) result.grpcStatus = Number(h["grpc-status"]);
      if (typeof h["grpc-message"] === "string") result.grpcMessage = decodeURIComponent(h["grpc-message"]);
    };
    stream.on("response", (h) => {
      result.httpStatus = Number(h[":status"]);
      status(h);
    });
    stream.on("trailers", status);
    stream.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const message = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        if (result.messages.length === 0) result.firstMessageAt = performance.now();
        result.messages.push(message);
        onMessage?.(message, result);
      }
    });
    stream.on("end", () => {
      result.endedAt = performance.now();
      resolve(result);
    });
    stream.on("error", reject);
    stream.end(frame);
  });
}

export function openSession(baseUrl: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

export type SampleCheck = { calls: number; ok: number; problems: string[] };

/**
 * Makes `calls` gRPC calls (16 at a time) and counts those with grpc-status 0 whose response passes
 * `valid`. A run is trusted only when every sampled call is OK.
 */
export async function checkGrpcSample(
  baseUrl: string,
  path: string,
  frame: Uint8Array,
  calls: number,
  valid: (messages: Uint8Array[]) => string | undefined,
  headers: Record<string, string> = {},
): Promise<SampleCheck> {
  const session = await openSession(baseUrl);
  const check: SampleCheck = { calls, ok: 0, problems: [] };
  try {
    for (let done = 0; done < calls; ) {
      const batch = Math.min(16, calls - done);
      const results = await Promise.all(Array.from({ length: batch }, () => grpcCall(session, path, frame, undefined, headers)));
      for (const r of results) {
        const problem =
          r.grpcStatus !== 0 ? `grpc-status ${r.grpcStatus} (HTTP ${r.httpStatus}) ${r.grpcMessage}` : valid(r.messages);
        if (problem === undefined) check.ok++;
        else if (check.problems.length < 5) check.problems.push(problem);
      }
      done += batch;
    }
  } finally {
    session.close();
  }
  return check;
}

export type StreamTiming = { ttftMs: number; totalMs: number };

/** One streamed completion through the gateway: time to the first text delta and to the end. */
export async function gatewayStream(
  session: http2.ClientHttp2Session,
  path: string,
  frame: Uint8Array,
  isText: (message: Uint8Array) => boolean,
  isDone: (message: Uint8Array) => boolean,
): Promise<StreamTiming> {
  let firstText = Number.NaN;
  let sawDone = false;
  const r = await grpcCall(session, path, frame, (message) => {
    if (Number.isNaN(firstText) && isText(message)) firstText = performance.now();
    if (isDone(message)) sawDone = true;
  });
  if (r.grpcStatus !== 0 || !sawDone || Number.isNaN(firstText)) {
    throw new Error(`stream through the gateway failed: grpc-status ${r.grpcStatus} ${r.grpcMessage}, done=${sawDone}`);
  }
  return { ttftMs: firstText - r.startedAt, totalMs: r.endedAt - r.startedAt };
}

const directAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** The same streamed completion straight from the fake: time to the first content token and to [DONE]. */
export function directStream(fakePort: number, body: string): Promise<StreamTiming> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: fakePort, path: "/v1/chat/completions", method: "POST", agent: directAgent, headers: { "content-type": "application/json" } },
      (res) => {
        let firstText = Number.NaN;
        let tail = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (Number.isNaN(firstText) && chunk.includes('"content":"tok')) firstText = performance.now();
          tail = (tail + chunk).slice(-64);
        });
        res.on("end", () => {
          if (res.statusCode !== 200 || !tail.includes("[DONE]")) reject(new Error(`direct stream failed: HTTP ${res.statusCode}`));
          else resolve({ ttftMs: firstText - started, totalMs: performance.now() - started });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export function closeDirectAgent(): void {
  directAgent.destroy();
}
