// Request ids are UUIDv7: the RFC 9562 layout, unique, and strictly increasing in the order they
// were made, also within one millisecond, past the counter's end and when the clock steps back.
import test from "ava";
import { RequestIds, newRequestId, requestIdTime } from "../server/core/request-id.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("request-id-is-a-uuidv7-carrying-its-millisecond", (t) => {
  const before = Date.now();
  const id = newRequestId();
  const after = Date.now();
  t.regex(id, UUID_V7);
  const time = requestIdTime(id);
  t.true(time !== undefined && time >= before && time <= after + 1, `${time} not within ${before}..${after}`);
  // A timestamp past 2^32 ms (1970 + 49 days) and one near the 48-bit end keep all their bits.
  t.is(requestIdTime(new RequestIds().next(Date.UTC(2500, 0, 1))), Date.UTC(2500, 0, 1));
  t.is(requestIdTime(new RequestIds().next(2 ** 48 - 10)), 2 ** 48 - 10);
  t.is(requestIdTime("0190f3e2-8f4a-4b6e-9c4d-1234567890ab"), undefined, "version 4 is not a request id");
});

test("request-ids-increase-within-a-millisecond-past-the-counter-and-when-the-clock-steps-back", (t) => {
  // One frozen millisecond for 10,000 ids: more than the 12-bit counter holds, so some borrow the next.
  const source = new RequestIds();
  const ids: string[] = [];
  const frozen = Date.UTC(2030, 5, 1);
  for (let i = 0; i < 10_000; i++) ids.push(source.next(frozen));
  // The clock steps back a second: ids still increase.
  for (let i = 0; i < 100; i++) ids.push(source.next(frozen - 1000));
  for (const id of ids) t.regex(id, UUID_V7);
  t.is(new Set(ids).size, ids.length, "all unique");
  for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) t.fail(`id ${i} ${ids[i]} is not after ${ids[i - 1]}`);
  const times = ids.map((id) => requestIdTime(id)!);
  t.is(times[0], frozen);
  // Borrowing takes at most one millisecond per 2,048 ids, so the ids run at most 5 ms ahead.
  t.true(Math.max(...times) - frozen <= 5, `ran ${Math.max(...times) - frozen} ms ahead`);
});

test("request-ids-random-part-varies", (t) => {
  // 62 random bits per id: two equal tails in 20,000 ids has odds far below one in a million.
  const tails = new Set<string>();
  for (let i = 0; i < 20_000; i++) tails.add(newRequestId().slice(19));
  t.is(tails.size, 20_000);
});
