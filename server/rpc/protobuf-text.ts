// protobuf-es encodes every string field with TextEncoder.encode, which on Node 20 costs 0.7–1.2 µs
// for a short string (a call into C++ and a fresh ArrayBuffer each time) against ~0.1 µs for a JS
// loop over an ASCII string; a CompleteResponse has about ten strings, a stream one per chunk
// (`npm run bench:builtins`). This installs, once per process, an encoder that
// gives the same bytes: ASCII by hand, anything else through Buffer (which, like TextEncoder,
// writes U+FFFD for a lone surrogate). Decoding stays protobuf-es's own (TextDecoder is fast).
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** Longer strings go straight to Buffer, whose C++ copy then beats the loop. */
const ASCII_LOOP_MAX = 64;

// Buffer.from(string) allocates from Node's pool, an ArrayBuffer, never a SharedArrayBuffer.
const viaBuffer = (text: string) => Buffer.from(text, "utf8") as Uint8Array<ArrayBuffer>;

export function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  const length = text.length;
  if (length > ASCII_LOOP_MAX) return viaBuffer(text);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return viaBuffer(text);
    bytes[i] = code;
  }
  return bytes;
}

const platform = getTextEncoding();
if (platform.encodeUtf8 !== encodeUtf8) {
  configureTextEncoding({ encodeUtf8, decodeUtf8: platform.decodeUtf8, checkUtf8: platform.checkUtf8 });
}
