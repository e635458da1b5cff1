// Reading a JSON request body within max_message_bytes: a declared or streamed length over the
// limit is a 413 as soon as it is known (the rest is not buffered), anything but JSON a 415 or 400.
import type { IncomingMessage } from "node:http";
import { plainError, type HttpError } from "./errors.js";

export type BodyResult = { ok: true; value: unknown } | { ok: false; error: HttpError };

function tooLarge(limit: number): BodyResult {
  const error = plainError(413, "invalid_request_error", `the request body is larger than the gateway's limit of ${limit} bytes`, "request_too_large");
  // The rest of the body is neither read nor buffered: the connection ends after the answer
  // (a declared length over the limit is refused before any of it is read).
  error.headers.connection = "close";
  return { ok: false, error };
}

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type)) {
    return { ok: false, error: plainError(415, "invalid_request_error", 'the request body must be JSON ("content-type: application/json")', "unsupported_media_type") };
  }
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") {
    return { ok: false, error: plainError(415, "invalid_request_error", `content-encoding ${JSON.stringify(encoding).slice(0, 40)} is not supported`, "unsupported_media_type") };
  }
  if (Number(req.headers["content-length"] ?? 0) > limit) return tooLarge(limit);
  const body = await readBody(req, limit);
  if (!Buffer.isBuffer(body)) return body;
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch {
    return { ok: false, error: plainError(400, "invalid_request_error", "the request body is not valid JSON", "invalid_json") };
  }
}

/**
 * The body's bytes, on plain stream events: `for await` over the request builds an async iterator
 * with its own end-of-stream listeners for every call, several µs the door need not pay.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        req.pause();
        resolve(tooLarge(limit));
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    // The caller went away mid-body: nobody is left to answer, and it is not the gateway's fault.
    req.on("error", () => resolve(endedEarly()));
    req.on("close", () => {
      if (!req.complete) resolve(endedEarly());
    });
  });
}

function endedEarly(): BodyResult {
  return { ok: false, error: plainError(400, "invalid_request_error", "the request body ended early", "incomplete_body") };
}
