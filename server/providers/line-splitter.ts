// Bytes in, complete text lines out. Streams that arrive as opaque byte parts (SageMaker's
// PayloadPart events) cut lines — and UTF-8 characters — anywhere; this puts the lines back
// together. Splitting on the byte 0x0A is UTF-8 safe: that byte never occurs inside a multi-byte
// character, so every complete line is a complete UTF-8 sequence and decodes on its own.

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private pending: Uint8Array[] = [];
  private readonly decoder = new TextDecoder("utf-8");

  /** Adds bytes; returns the lines they complete, without their `\n` or `\r\n`. */
  push(bytes: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = bytes.indexOf(LF); newline !== -1; newline = bytes.indexOf(LF, start)) {
      this.pending.push(bytes.subarray(start, newline));
      lines.push(this.takeLine());
      start = newline + 1;
    }
    // Copied (not Buffer#slice, which is a view): the caller may reuse its buffer after push() returns.
    if (start < bytes.length) this.pending.push(new Uint8Array(bytes.subarray(start)));
    return lines;
  }

  /** The last line when the stream ended without a final newline (nothing when it did). */
  flush(): string[] {
    if (this.pending.length === 0) return [];
    return [this.takeLine()];
  }

  private takeLine(): string {
    const parts = this.pending;
    this.pending = [];
    let line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return this.decoder.decode(line);
  }
}
