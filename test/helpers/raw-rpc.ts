// Hand-built requests for inputs no well-behaved client sends: malformed frames, bad headers.
// Each helper reports what came back on the wire (or that the stream was reset), never throws.
import http from "node:http";
import http2 from "node:http2";

export type RawGrpcAnswer = {
  httpStatus?: number;
  /** grpc-status from trailers, or from the headers of a trailers-only answer. */
  grpcStatus?: number;
  grpcMessage: string;
  /** Response headers and trailers together. */
  headers: http2.IncomingHttpHeaders;
  /** Set when the stream or session died instead of answering. */
  failure?: string;
};

/** A gRPC length-prefixed message frame. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export function rawGrpc(
  baseUrl: string,
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<RawGrpcAnswer> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl);
    const answer: RawGrpcAnswer = { grpcMessage: "", headers: {} };
    const timer = setTimeout(() => finish("no answer within 15 s"), 15_000);
    const finish = (failure?: string) => {
      clearTimeout(timer);
      if (failure !== undefined && answer.grpcStatus === undefined) answer.failure = failure;
      session.destroy();
      resolve(answer);
    };
    session.on("error", (error) => finish(`session error: ${error.message}`));
    const read = (h: http2.IncomingHttpHeaders) => {
      const status = h["grpc-status"];
      if (status !== undefined) answer.grpcStatus = Number(status);
      const message = h["grpc-message"];
      if (typeof message === "string") answer.grpcMessage = decodeURIComponent(message);
      // The status is the end of the answer, even if the server never read the whole request.
      if (status !== undefined) setImmediate(() => finish());
    };
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    stream.on("response", (h) => {
      answer.httpStatus = Number(h[":status"]);
      answer.headers = h;
      read(h);
    });
    stream.on("trailers", (h) => {
      answer.headers = { ...answer.headers, ...h };
      read(h);
    });
    stream.on("data", () => undefined);
    stream.on("error", (error) => finish(`stream error: ${error.message}`));
    stream.on("close", () => finish(stream.rstCode !== 0 && stream.rstCode !== undefined ? `reset ${stream.rstCode}` : undefined));
    stream.end(body);
  });
}

export type RawHttpAnswer = { status: number; headers: http.IncomingHttpHeaders; body: Buffer } | { failure: string };

/** One HTTP/1.1 POST, as curl or a browser sends a Connect or gRPC-Web call. */
export function rawHttp1(baseUrl: string, path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<RawHttpAnswer> {
  return new Promise((resolve) => {
    const url = new URL(path, baseUrl);
    const request = http.request(url, { method: "POST", headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", (error) => resolve({ failure: error.message }));
    });
    request.on("error", (error) => resolve({ failure: error.message }));
    request.end(body);
  });
}

/** The Connect error code of a unary error body, or of a streaming answer's end-stream frame. */
export function connectErrorCode(body: Buffer, streaming: boolean): string | undefined {
  let json = body;
  if (streaming) {
    // Envelopes: flags(1) length(4) data; the end-stream one has flag 0x02.
    let at = 0;
    json = Buffer.alloc(0);
    while (at + 5 <= body.length) {
      const length = body.readUInt32BE(at + 1);
      if (body[at] & 0x02) json = body.subarray(at + 5, at + 5 + length);
      at += 5 + length;
    }
  }
  try {
    const parsed = JSON.parse(json.toString("utf8")) as { code?: string; error?: { code?: string } };
    return streaming ? parsed.error?.code : parsed.code;
  } catch {
    return undefined;
  }
}

/** grpc-status of a gRPC-Web answer: from its headers (trailers-only) or its trailer frame (flag 0x80). */
export function grpcWebStatus(answer: { headers: http.IncomingHttpHeaders; body: Buffer }): number | undefined {
  if (answer.headers["grpc-status"] !== undefined) return Number(answer.headers["grpc-status"]);
  let at = 0;
  while (at + 5 <= answer.body.length) {
    const length = answer.body.readUInt32BE(at + 1);
    if (answer.body[at] & 0x80) {
      const match = /grpc-status:\s*(\d+)/i.exec(answer.body.subarray(at + 5, at + 5 + length).toString("utf8"));
      if (match) return Number(match[1]);
    }
    at += 5 + length;
  }
  return undefined;
}
