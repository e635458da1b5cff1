// The Lua scripts behind the Redis stores. Each check-and-reserve is ONE script, so Redis runs it
// atomically: no replica can slip between the check and the write. Scripts are registered with
// ioredis' defineCommand (EVALSHA, falling back to EVAL once after a Redis restart).
//
// Token buckets keep the in-process store's units: token·60,000ths, so a bucket of `per` tokens a
// minute gains exactly `per` units a millisecond. Time is the `now` the gateway passes in (its
// injectable clock), not Redis TIME: tests freeze it, and replicas' clocks are NTP-close; a clock
// behind a bucket's last update refills nothing and never moves the bucket back.
// Levels stay below 2^53 (exact as Lua doubles) up to ~150 billion tokens a minute.
import type { Redis } from "ioredis";

const REFILL = `
local function level(key, per, now)
  local cap = per * 60000
  local state = redis.call('HMGET', key, 'u', 'at')
  if not state[1] then return cap, now end
  local u = tonumber(state[1])
  local at = tonumber(state[2])
  if now > at then
    u = math.min(cap, u + (now - at) * per)
    at = now
  end
  return math.min(cap, u), at
end
local function store(key, per, u, at)
  redis.call('HSET', key, 'u', string.format('%.0f', u), 'at', string.format('%.0f', at))
  -- A bucket is full again, and as good as absent, once it has refilled.
  redis.call('PEXPIRE', key, math.ceil((per * 60000 - u) / per) + 1000)
end
`;

/** KEYS: buckets. ARGV: now, then per bucket its per-minute limit and amount. Returns [] or [index, retryAfterMs, …]. */
const TAKE = `${REFILL}
local now = tonumber(ARGV[1])
local levels, ats, short = {}, {}, {}
for i = 1, #KEYS do
  local per, amount = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  levels[i], ats[i] = level(KEYS[i], per, now)
  local missing = math.min(amount, per) * 60000 - levels[i]
  if missing > 0 then
    short[#short + 1] = i - 1
    short[#short + 1] = math.max(1, math.ceil(missing / per))
  end
end
if #short > 0 then return short end
for i = 1, #KEYS do
  local per, amount = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  store(KEYS[i], per, levels[i] - amount * 60000, ats[i])
end
return {}
`;

/** KEYS: buckets. ARGV: now, then per bucket its per-minute limit and the amount to give back (negative: charge). */
const GIVE = `${REFILL}
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local per, amount = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local u, at = level(KEYS[i], per, now)
  store(KEYS[i], per, math.min(per * 60000, u + amount * 60000), at)
end
return 1
`;

// A budget window is a hash {c: committed, r: reserved} (integers: HINCRBY keeps nano-USD exact in
// 64 bits) and a sorted set of leases "id|amount" scored by expiry. Every script first releases the
// leases that expired — those of calls whose replica died — so a dead replica's reservations free
// themselves. Comparisons are Lua doubles: exact while spend stays under 2^53 nano-USD (~9 million USD).
const PRUNE = `
local function prune(h, z, now)
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #expired == 0 then return end
  for _, member in ipairs(expired) do
    local amount = string.match(member, '|(%d+)$')
    if amount then redis.call('HINCRBY', h, 'r', '-' .. amount) end
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
end
local function spend(h)
  local v = redis.call('HMGET', h, 'c', 'r')
  return v[1] or '0', v[2] or '0'
end
`;

/**
 * KEYS: per budget its window hash and lease set. ARGV: now, amount, lease id, lease expiry, then per
 * budget its limit and the window's expiry (PEXPIREAT, past the window's end).
 * Returns [0] when reserved in every budget, else [index + 1, committed, reserved] of the first that lacks room.
 */
const RESERVE = `${PRUNE}
local now, amount, lease, expiry = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local n = #KEYS / 2
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  prune(h, z, now)
  local c, r = spend(h)
  local limit = tonumber(ARGV[3 + 2 * i])
  -- A budget already spent in full admits nothing, not even a call bounded at 0: a hard stop stops.
  if not (tonumber(c) < limit and tonumber(c) + tonumber(r) + tonumber(amount) <= limit) then return {i, c, r} end
end
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local expireAt = ARGV[4 + 2 * i]
  redis.call('HINCRBY', h, 'r', amount)
  redis.call('ZADD', z, expiry, lease .. '|' .. amount)
  redis.call('PEXPIREAT', h, expireAt)
  redis.call('PEXPIREAT', z, expireAt)
end
return {0}
`;

/**
 * KEYS: per budget the reservation's window hash and lease set, then the current window's. ARGV: now,
 * lease id ('' when admitted without shared state), reserved amount, cost, then per budget 1 when the
 * reservation's window is still current, else 0, and the current window's expiry. Returns per budget
 * its current window's committed and reserved.
 */
const SETTLE = `${PRUNE}
local now, lease, reserved, cost = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local out = {}
for i = 1, #KEYS / 4 do
  local h, z, ch, cz = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
  local current = ARGV[3 + 2 * i] == '1'
  if lease ~= '' and redis.call('ZREM', z, lease .. '|' .. reserved) == 1 then
    redis.call('HINCRBY', h, 'r', '-' .. reserved)
  end
  -- A call is charged to the window it was admitted in; once that window has rolled over its cost
  -- belongs to no current budget.
  if current then
    redis.call('HINCRBY', h, 'c', cost)
    redis.call('PEXPIREAT', h, ARGV[4 + 2 * i])
  end
  prune(ch, cz, now)
  local c, r = spend(ch)
  out[#out + 1] = c
  out[#out + 1] = r
end
return out
`;

/** KEYS: window hashes. ARGV: per window its committed spend and expiry. Seeds only a window not already counted. */
const SEED = `
for i = 1, #KEYS do
  if redis.call('HSETNX', KEYS[i], 'c', ARGV[2 * i - 1]) == 1 then redis.call('PEXPIREAT', KEYS[i], ARGV[2 * i]) end
end
return 1
`;

/** KEYS: a window hash and its lease set. ARGV: now. Returns committed and reserved. */
const SPEND = `${PRUNE}
prune(KEYS[1], KEYS[2], tonumber(ARGV[1]))
local c, r = spend(KEYS[1])
return {c, r}
`;

type Args = (string | number)[];

/** The scripts as commands of a connection; every one takes its keys, then its arguments. */
export interface ScriptCommands {
  sbTake(keyCount: number, ...keysThenArgs: Args): Promise<number[]>;
  sbGive(keyCount: number, ...keysThenArgs: Args): Promise<number>;
  sbReserve(keyCount: number, ...keysThenArgs: Args): Promise<(number | string)[]>;
  sbSettle(keyCount: number, ...keysThenArgs: Args): Promise<string[]>;
  sbSeed(keyCount: number, ...keysThenArgs: Args): Promise<number>;
  sbSpend(keyCount: number, ...keysThenArgs: Args): Promise<string[]>;
}

export type ScriptedRedis = Redis & ScriptCommands;

export function defineScripts(redis: Redis): ScriptedRedis {
  const scripts = { sbTake: TAKE, sbGive: GIVE, sbReserve: RESERVE, sbSettle: SETTLE, sbSeed: SEED, sbSpend: SPEND };
  for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { lua });
  return redis as ScriptedRedis;
}
