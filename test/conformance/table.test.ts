// The conformance table has a row for every provider type the gateway can build.
import test from "ava";
import { availableProviderTypes } from "../../server/providers/registry.js";
import { ROWS } from "./rows/index.js";

test("every provider type has a conformance row", (t) => {
  const covered = new Set(ROWS.map((row) => row.name));
  t.deepEqual(availableProviderTypes().filter((type) => !covered.has(type)), []);
  t.is(availableProviderTypes().length, 6);
});
