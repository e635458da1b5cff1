// The neutral vocabulary every provider fake understands. A test says *what* the upstream does
// ("answer with a tool call", "429 with retry-after 2", "hang"); each fake renders it in its own
// provider's real wire protocol. This is what lets one conformance table drive every adapter.

export type FakeFinish = "stop" | "length" | "tool_calls" | "content_filter";
export type FakeToolCall = {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /** Opaque state a provider attaches to a call (Gemini's thoughtSignature), where it has one. */
  signature?: string;
  /** Arguments sent verbatim instead of `arguments` as JSON, on wires that carry a string (OpenAI). */
  rawArguments?: string;
};
/**
 * Usage in the neutral convention; each fake renders it in its provider's: `input` is the whole
 * prompt (cache reads `cached` and writes `cacheWrite` included), `output` every output token
 * (`reasoning` included). A provider that does not report a bucket leaves it out of its wire body.
 */
export type FakeUsage = { input: number; output: number; cached?: number; cacheWrite?: number; reasoning?: number };

export type FakeErrorKind =
  | "rate_limited" // 429 with retry-after
  | "quota" // 429 that must not be retried (insufficient quota / spend limit)
  | "overloaded" // 529 / 503 overloaded / ModelNotReady
  | "server_error" // 500
  | "context_length" // 400 prompt too long
  | "bad_request" // 400 other
  | "auth" // 401
  | "content_filter"; // the provider's refusal, as an error where it has one

export type FakeReply =
  | {
      kind: "reply";
      /** The whole text; streamed in `chunks` when given, else split into three pieces. */
      text?: string;
      chunks?: string[];
      toolCalls?: FakeToolCall[];
      finish?: FakeFinish;
      usage?: FakeUsage;
      /** The model version the fake reports. */
      model?: string;
      /** Wait before the response headers. */
      delayMs?: number;
      /** Wait between stream chunks. */
      chunkDelayMs?: number;
      /** Streams: after this many text chunks, send nothing more until the client goes away. */
      stallAfterChunks?: number;
    }
  | { kind: "error"; error: FakeErrorKind; retryAfterSeconds?: number; message?: string }
  /** Never answer; the request ends only when the client goes away. */
  | { kind: "hang" }
  /** 200 with a body that is not valid for the protocol. */
  | { kind: "malformed" }
  /** Streams: send part of the answer, then drop the connection. Unary: drop it at once. */
  | { kind: "cut" }
  /** Streams: send part of the answer, then go silent with the connection open. Unary: never answer. */
  | { kind: "stall" }
  /** Streams: send part of the answer, then the provider's in-band error event. */
  | { kind: "stream_error"; error: FakeErrorKind };

export type Reply = Extract<FakeReply, { kind: "reply" }>;

export function textChunks(reply: Reply): string[] {
  if (reply.chunks) return reply.chunks;
  const text = reply.text ?? "";
  if (text.length < 3) return text === "" ? [] : [text];
  const third = Math.ceil(text.length / 3);
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)];
}

export function replyText(reply: Reply): string {
  return reply.chunks ? reply.chunks.join("") : (reply.text ?? "");
}

export function finishOf(reply: Reply): FakeFinish {
  return reply.finish ?? (reply.toolCalls?.length ? "tool_calls" : "stop");
}

export function usageOf(reply: Reply): FakeUsage {
  return reply.usage ?? { input: 12, output: Math.max(1, Math.ceil(replyText(reply).length / 4)) };
}

/** The reply a fake gives when nothing was queued: an echo of the last user text. */
export function echoReply(lastUserText: string): Reply {
  return { kind: "reply", text: `echo: ${lastUserText}` };
}

/** A deterministic PRNG (mulberry32) for "fail X % of calls" programs that replay identically. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Programs for FakeUpstream.setProgram: per-request fault injection. */
export const programs = {
  /** The first `n` requests get `failure`, later ones the default reply. */
  failTimes(n: number, failure: FakeReply) {
    let left = n;
    return () => (left-- > 0 ? failure : undefined);
  },
  /** Each request gets `failure` with probability `rate`, decided by a seeded PRNG (replayable). */
  failRate(rate: number, seed: number, failure: FakeReply) {
    const random = seededRandom(seed);
    return () => (random() < rate ? failure : undefined);
  },
  /** Every request gets the same reply. */
  always(reply: FakeReply) {
    return () => reply;
  },
};
