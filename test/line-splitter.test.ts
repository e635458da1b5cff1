// LineSplitter: bytes cut anywhere (mid-line, mid-UTF-8 character, between \r and \n) come back
// as the same lines as the whole input.
import test from "ava";
import { LineSplitter } from "../server/providers/line-splitter.js";

const SAMPLE = 'data: {"text":"héllo wörld"}\r\n\r\ndata: {"text":"😀 ✓ 日本"}\n\ndata: [DONE]\n';
const EXPECTED = ['data: {"text":"héllo wörld"}', "", 'data: {"text":"😀 ✓ 日本"}', "", "data: [DONE]"];

function run(pieces: Uint8Array[]): string[] {
  const splitter = new LineSplitter();
  const lines = pieces.flatMap((p) => splitter.push(p));
  return [...lines, ...splitter.flush()];
}

const bytes = new Uint8Array(Buffer.from(SAMPLE, "utf8"));

test("the whole input in one piece", (t) => {
  t.deepEqual(run([bytes]), EXPECTED);
});

test("split in two at every byte offset", (t) => {
  for (let cut = 0; cut <= bytes.length; cut++) {
    t.deepEqual(run([bytes.subarray(0, cut), bytes.subarray(cut)]), EXPECTED, `cut at ${cut}`);
  }
});

test("split in three at every pair of offsets", (t) => {
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      const pieces = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
      if (JSON.stringify(run(pieces)) !== JSON.stringify(EXPECTED)) return t.fail(`cuts at ${a}, ${b}`);
    }
  }
  t.pass();
});

test("one byte at a time", (t) => {
  t.deepEqual(run([...bytes].map((b) => Uint8Array.of(b))), EXPECTED);
});

test("a last line without a newline comes out on flush, and nothing is left after a newline", (t) => {
  const splitter = new LineSplitter();
  t.deepEqual(splitter.push(Buffer.from("a\nb")), ["a"]);
  t.deepEqual(splitter.flush(), ["b"]);
  t.deepEqual(splitter.flush(), []);
  t.deepEqual(splitter.push(Buffer.from("c\n")), ["c"]);
  t.deepEqual(splitter.flush(), []);
});

test("the caller may reuse its buffer after push", (t) => {
  const splitter = new LineSplitter();
  const buffer = Buffer.from("abc");
  splitter.push(buffer);
  buffer.fill(0x7a);
  t.deepEqual(splitter.push(Buffer.from("d\n")), ["abcd"]);
});
