// protobuf-es (2.14 and later) writes strings itself: ASCII by hand up to 32 characters, the rest
// with TextEncoder.encodeInto into its one growing buffer. The gateway used to install its own
// encoder for the older writer; these pin that the library's bytes are TextEncoder's for every kind
// of string the gateway sends (lone surrogates as U+FFFD included), and that they round-trip.
import test from "ava";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RouteSchema } from "../gen/switchboard/v1/inference_pb.js";

const textEncoder = new TextEncoder();
const strings: Record<string, string> = {
  empty: "",
  ascii: "gpt-4o-mini-2024-07-18",
  "32 ascii (the writer's hand-written loop's longest)": "a".repeat(32),
  "33 ascii": "b".repeat(33),
  "DEL and NUL": "\u007f\u0000x",
  "latin-1": "café naïve",
  "non-ASCII after 31 ASCII": `${"c".repeat(31)}é`,
  cjk: "模型别名",
  "emoji (a surrogate pair)": "ok 👍",
  "lone high surrogate": "a\ud800b",
  "lone low surrogate": "a\udc00b",
  "lone surrogate at the end": "abc\ud83d",
  "long non-ASCII": "ü".repeat(5000),
};

/** Field 1 (Route.provider) as it must appear on the wire: tag, varint length, UTF-8 bytes. */
function expectedField(text: string): Buffer {
  const bytes = textEncoder.encode(text);
  const length: number[] = [];
  let n = bytes.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...length]), bytes]);
}

for (const [name, text] of Object.entries(strings)) {
  test(`protobuf-string-bytes-match-text-encoder: ${name}`, (t) => {
    const encoded = Buffer.from(toBinary(RouteSchema, create(RouteSchema, { provider: text })));
    t.deepEqual(encoded, text === "" ? Buffer.alloc(0) : expectedField(text));
  });
}

test("protobuf-strings-round-trip", (t) => {
  const valid = Object.entries(strings).filter(([name]) => !name.startsWith("lone"));
  for (const [name, text] of valid) {
    const route = create(RouteSchema, { provider: text, targetModel: `${text}/model`, alias: "chat" });
    const decoded = fromBinary(RouteSchema, toBinary(RouteSchema, route));
    t.is(decoded.provider, text, name);
    t.is(decoded.targetModel, `${text}/model`, name);
  }
});
