// Limits on caller input echoed back in errors. A status message travels in an HTTP/2 header
// (grpc-message): an unbounded one (a 100 KB model name) makes the peer reset the stream, and the
// caller gets no status at all.

/** The longest caller value quoted inside an error message. */
export const MAX_QUOTED_CHARS = 200;
/** The longest status message the gateway sends. */
export const MAX_MESSAGE_CHARS = 1024;
/** The most field violations one INVALID_ARGUMENT lists. */
export const MAX_VIOLATIONS = 20;

export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A caller value quoted in an error message, truncated when long. */
export function quoted(value: string): string {
  return `"${bounded(value, MAX_QUOTED_CHARS)}"`;
}
