// connect-node (2.1–2.3) answers a binary request body that fails to decode with INTERNAL
// ("parse binary: …"), before any interceptor or implementation runs, and offers no hook to change
// that. The caller caused it, so it must be INVALID_ARGUMENT. This corrects the answer connect-node
// already built, in each protocol's own place for a status, and leaves every other answer as it is.
// It also bounds a gRPC status message connect-node built from caller input (a header it echoes).
import { Code } from "@connectrpc/connect";
import type { UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { MAX_MESSAGE_CHARS, bounded } from "./bounds.js";

const PARSE_FAILURE = "parse binary: ";
const PARSE_FAILURE_ENCODED = encodeURIComponent(PARSE_FAILURE);
const INTERNAL = String(Code.Internal);
const INVALID = String(Code.InvalidArgument);
const END_STREAM_FLAG = 0x02; // Connect streaming
const TRAILER_FLAG = 0x80; // gRPC-Web

type Body = AsyncIterable<Uint8Array>;

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

/** Rewrites the one frame that carries the status; other frames pass untouched. */
async function* mapStatusFrame(body: Body, flag: number, fix: (text: string) => string | undefined): Body {
  for await (const chunk of body) {
    if (chunk.length >= 5 && (chunk[0] & flag) === flag) {
      const fixed = fix(new TextDecoder().decode(chunk.subarray(5)));
      if (fixed !== undefined) {
        yield envelope(chunk[0], new TextEncoder().encode(fixed));
        continue;
      }
    }
    yield chunk;
  }
}

function fixGrpcWebTrailer(text: string): string | undefined {
  if (!text.includes(`grpc-message: ${PARSE_FAILURE_ENCODED}`)) return undefined;
  return text.replace(/grpc-status: 13\b/, `grpc-status: ${INVALID}`);
}

function fixConnectEndStream(text: string): string | undefined {
  if (!text.includes(PARSE_FAILURE)) return undefined;
  const end = JSON.parse(text) as { error?: { code?: string; message?: string } };
  if (end.error?.code !== "internal" || !end.error.message?.startsWith(PARSE_FAILURE)) return undefined;
  end.error.code = "invalid_argument";
  return JSON.stringify(end);
}

async function* fixGrpcTrailer(body: Body, trailer: Headers): Body {
  yield* body;
  const message = trailer.get("grpc-message");
  if (message === null) return;
  if (trailer.get("grpc-status") === INTERNAL && message.startsWith(PARSE_FAILURE_ENCODED)) trailer.set("grpc-status", INVALID);
  if (message.length > MAX_MESSAGE_CHARS * 3) {
    trailer.set("grpc-message", encodeURIComponent(bounded(decodeURIComponent(message), MAX_MESSAGE_CHARS)));
  }
}

async function fixConnectUnary(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body ?? []) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let error: { code?: string; message?: string } | undefined;
  try {
    error = JSON.parse(bytes.toString("utf8")) as typeof error;
  } catch {
    error = undefined;
  }
  if (error?.code !== "internal" || !error.message?.startsWith(PARSE_FAILURE)) {
    return { ...response, body: (async function* () { yield bytes; })() };
  }
  const fixed = new TextEncoder().encode(JSON.stringify({ ...error, code: "invalid_argument" }));
  response.header?.set("content-length", String(fixed.length));
  return { ...response, status: 400, body: (async function* () { yield fixed; })() };
}

/** The answer with a decode failure reported as INVALID_ARGUMENT, whichever protocol carried it. */
export function correctDecodeFailure(request: UniversalServerRequest, response: UniversalServerResponse): UniversalServerResponse | Promise<UniversalServerResponse> {
  const type = request.header.get("content-type") ?? "";
  const body = response.body;
  if (body === undefined) return response;
  if (type.startsWith("application/grpc-web")) return { ...response, body: mapStatusFrame(body, TRAILER_FLAG, fixGrpcWebTrailer) };
  if (type.startsWith("application/grpc")) {
    return response.trailer ? { ...response, body: fixGrpcTrailer(body, response.trailer) } : response;
  }
  if (type.startsWith("application/connect+")) return { ...response, body: mapStatusFrame(body, END_STREAM_FLAG, fixConnectEndStream) };
  // Connect unary: only an INTERNAL answer (HTTP 500) can be a decode failure.
  return response.status === 500 ? fixConnectUnary(response) : response;
}
