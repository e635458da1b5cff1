// Request ids are UUIDv7 (RFC 9562 §5.7): a 48-bit Unix millisecond timestamp first, then a 12-bit
// counter (§6.2, method 1) and 62 random bits. Ids made close together sort together, so the
// ledger's unique request_id index takes each new id at its right edge: a group commit dirties one
// or two of its pages instead of one random leaf page per row (version 4), which is what the WAL
// write, the commit and the checkpoint pay for (`npm run bench:request-ids`).
import { randomFillSync } from "node:crypto";

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const POOL_SIZE = 16 * 256;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomOffset(): number {
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 8;
  return at;
}

/** A source of UUIDv7 strings, each greater than every one it made before. */
export class RequestIds {
  private lastMs = -1;
  private counter = 0;

  next(now: number = Date.now()): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      // A random start in the lower half leaves at least 2,048 ids for this millisecond.
      this.counter = pool.readUInt16BE(randomOffset()) & 0x7ff;
    } else if (++this.counter > 0xfff) {
      // The counter is spent (or the clock stepped back): borrow the next millisecond (§6.2).
      this.lastMs++;
      this.counter = 0;
    }
    const { lastMs: ms, counter } = this;
    const at = randomOffset();
    const high = Math.floor(ms / 0x1000000); // the top 24 of the 48 timestamp bits
    const low = ms % 0x1000000;
    return (
      HEX[(high >>> 16) & 0xff]! +
      HEX[(high >>> 8) & 0xff]! +
      HEX[high & 0xff]! +
      HEX[(low >>> 16) & 0xff]! +
      "-" +
      HEX[(low >>> 8) & 0xff]! +
      HEX[low & 0xff]! +
      "-" +
      HEX[0x70 | (counter >>> 8)]! +
      HEX[counter & 0xff]! +
      "-" +
      HEX[0x80 | (pool[at]! & 0x3f)]! +
      HEX[pool[at + 1]!]! +
      "-" +
      HEX[pool[at + 2]!]! +
      HEX[pool[at + 3]!]! +
      HEX[pool[at + 4]!]! +
      HEX[pool[at + 5]!]! +
      HEX[pool[at + 6]!]! +
      HEX[pool[at + 7]!]!
    );
  }
}

const processIds = new RequestIds();

/** The gateway's next request id: a UUIDv7 after every one this process made before. */
export function newRequestId(now: number = Date.now()): string {
  return processIds.next(now);
}

/** The millisecond a UUIDv7 was made at, or undefined for anything else. */
export function requestIdTime(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
