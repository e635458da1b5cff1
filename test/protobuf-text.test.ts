// The string encoder the gateway installs in protobuf-es (server/rpc/protobuf-text.ts) writes the
// bytes TextEncoder writes, for every kind of string, and is the one protobuf-es uses once the
// gateway module is loaded.
import test from "ava";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { RouteSchema } from "../gen/switchboard/v1/inference_pb.js";

// In this order: the encoder protobuf-es holds once the gateway module is loaded, and only then the
// encoder module itself (were the gateway not to import it, importing it here would install it late).
await import("../server/gateway.js");
const installedByTheGateway = getTextEncoding().encodeUtf8;
const { encodeUtf8 } = await import("../server/rpc/protobuf-text.js");

const textEncoder = new TextEncoder();
const strings: Record<string, string> = {
  empty: "",
  ascii: "gpt-4o-mini-2024-07-18",
  "64 ascii (the loop's longest)": "a".repeat(64),
  "65 ascii (Buffer's shortest)": "b".repeat(65),
  "DEL and NUL": "\u007f\u0000x",
  "latin-1": "café naïve",
  "non-ASCII after 63 ASCII": `${"c".repeat(63)}é`,
  cjk: "模型别名",
  "emoji (a surrogate pair)": "ok 👍",
  "lone high surrogate": "a\ud800b",
  "lone low surrogate": "a\udc00b",
  "lone surrogate at the end": "abc\ud83d",
  "long non-ASCII": "ü".repeat(5000),
};

for (const [name, text] of Object.entries(strings)) {
  test(`protobuf-string-bytes-match-text-encoder: ${name}`, (t) => {
    t.deepEqual(Buffer.from(encodeUtf8(text)), Buffer.from(textEncoder.encode(text)));
  });
}

test("protobuf-string-encoder-is-installed-by-the-gateway", (t) => {
  t.is(installedByTheGateway, encodeUtf8);
});

test("protobuf-strings-round-trip-through-the-installed-encoder", (t) => {
  const valid = Object.entries(strings).filter(([name]) => !name.startsWith("lone"));
  for (const [name, text] of valid) {
    const route = create(RouteSchema, { provider: text, targetModel: `${text}/model`, alias: "chat" });
    const decoded = fromBinary(RouteSchema, toBinary(RouteSchema, route));
    t.is(decoded.provider, text, name);
    t.is(decoded.targetModel, `${text}/model`, name);
  }
});
