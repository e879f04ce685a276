// The Redis store's Lua scripts and the pack format they read (one script call per chunk of up to 256 tiles or
// events; the chunk is packed by the client into one argument: a command per tile made ioredis, not Redis, the
// bottleneck — 46k vs 120k tiles/s).
//
// Pack entry (both scripts):
//   u32 BE n, b64 entity key (n bytes) | u8 n, DAY (decimal) | u8 n, score (decimal) | u32 BE n, member (n bytes)
// and, for tiles only:
//   | u8 n, partition (decimal) | u8 n, epoch (decimal; n = 0: not fenced)
//
// Scripts name their keys themselves (from the key head and the pack) and declare only the chunk's first key, for
// Redis Cluster's routing check. On a cluster that works because the client sends a chunk only to the master that
// serves the slots of all its entries, and because scripts without a `#!lua` line may touch keys of several slots
// of their own node (Redis 7 "compatibility mode"; Redis 6 has no such check). With `check` = '1' (cluster) a
// script first reads one key of every entity it will write, so that a slot that moved away fails the whole call
// before it wrote anything, instead of half-way.

// Reads one entry's common part and returns where the next field starts.
const UNPACK_LUA = `
local byte, sub = string.byte, string.sub
local function u32 (pack, pos)
  local b1, b2, b3, b4 = byte(pack, pos, pos + 3)
  return ((b1 * 256 + b2) * 256 + b3) * 256 + b4
end
local function short (pack, pos)
  local n = byte(pack, pos)
  return sub(pack, pos + 1, pos + n), pos + 1 + n
end
local function unpack_entry (pack, pos)
  local n = u32(pack, pos)
  local key = sub(pack, pos + 4, pos + 3 + n)
  pos = pos + 4 + n
  local day, score
  day, pos = short(pack, pos)
  score, pos = short(pack, pos)
  n = u32(pack, pos)
  return key, day, score, sub(pack, pos + 4, pos + 3 + n), pos + 4 + n
end
local function ttl_of (ttl, key)
  if ttl == '0' then redis.call('PERSIST', key) else redis.call('EXPIRE', key, ttl) end
end
`

// ARGV: ttl, key head `P{DATASET:`, `:TILESIZE`, `@SCOPE` (fence field suffix; '' when the call is unfenced),
// check ('1' = read every entity once first), packed tiles.
// Per tile:
//   fenced (epoch given): the entity's fence hash `…:fence` holds, per `PARTITION@SCOPE`, the highest epoch that
//     wrote it. A higher one than the tile's → the tile is refused (stale) and its partition reported; otherwise
//     the field is raised to the tile's epoch (once per entity and call) and the tile written.
//   upsert: n = ZREMRANGEBYSCORE bucket s s; fresh = n == 0 (a new tile) or not EXISTS bucket (a rewrite that emptied
//     a one-tile bucket, which Redis then deleted, TTL and all); ZADD bucket s member; if fresh: ZADD index DAY DAY
//     and (re)set the TTL of bucket, index and fence.
// Returns { tiles written, tiles refused, refused partitions… }.
export const UPSERT_LUA = UNPACK_LUA + `
local ttl, head, size, scope, check, pack = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local last = #pack
if check == '1' then
  local pos, seen = 1, {}
  while pos <= last do
    local key, day, score, member
    key, day, score, member, pos = unpack_entry(pack, pos)
    local _
    _, pos = short(pack, pos)
    _, pos = short(pack, pos)
    if not seen[key] then seen[key] = true; redis.call('EXISTS', head .. key .. '}:days' .. size) end
  end
end
local pos, written, refused = 1, 0, 0
local verdicts, stale, out = {}, {}, {}
while pos <= last do
  local key, day, score, member, partition, epoch
  key, day, score, member, pos = unpack_entry(pack, pos)
  partition, pos = short(pack, pos)
  epoch, pos = short(pack, pos)
  local tag = head .. key .. '}:'
  local ok = true
  if epoch ~= '' then
    local field = partition .. scope
    local v = tag .. field
    ok = verdicts[v]
    if ok == nil then
      local fence = tag .. 'fence'
      local current = redis.call('HGET', fence, field)
      ok = not current or tonumber(current) <= tonumber(epoch)
      if ok and current ~= epoch then
        redis.call('HSET', fence, field, epoch)
        ttl_of(ttl, fence)
      end
      verdicts[v] = ok
    end
  end
  if ok then
    local bucket = tag .. day .. size
    local fresh = redis.call('ZREMRANGEBYSCORE', bucket, score, score) == 0 or redis.call('EXISTS', bucket) == 0
    redis.call('ZADD', bucket, score, member)
    if fresh then
      local index = tag .. 'days' .. size
      redis.call('ZADD', index, day, day)
      ttl_of(ttl, bucket)
      ttl_of(ttl, index)
      if epoch ~= '' then ttl_of(ttl, tag .. 'fence') end
    end
    written = written + 1
  else
    refused = refused + 1
    if not stale[partition] then stale[partition] = true; out[#out + 1] = partition end
  end
end
local reply = { written, refused }
for i = 1, #out do reply[#reply + 1] = out[i] end
return reply
`

// ARGV: ttl, key head `P{DATASET:`, check (as above), packed events (the score is the event time, the member
// identity ‖ value). One member per (score, identity), as the embedded store has one entry per (ts, identity): an
// event already there is left alone; one stored with other value bytes (the GroupBy's selects changed) is
// replaced. TTL: set on a bucket and its index when the call added to the bucket, once per bucket and call.
// Returns { events handled (new or already there) }.
export const APPEND_LUA = UNPACK_LUA + `
local ttl, head, check, pack = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local last = #pack
if check == '1' then
  local pos, seen = 1, {}
  while pos <= last do
    local key, day, score, member
    key, day, score, member, pos = unpack_entry(pack, pos)
    if not seen[key] then seen[key] = true; redis.call('EXISTS', head .. key .. '}:days') end
  end
end
local pos, count = 1, 0
local seen, buckets, indexes = {}, {}, {}
while pos <= last do
  local key, day, score, member
  key, day, score, member, pos = unpack_entry(pack, pos)
  local tag = head .. key .. '}:'
  local bucket = tag .. day
  local id, fresh = sub(member, 1, 16), true
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', bucket, score, score)) do
    if sub(m, 1, 16) == id then
      if m == member then fresh = false else redis.call('ZREM', bucket, m) end
    end
  end
  if fresh and redis.call('ZADD', bucket, score, member) == 1 and not seen[bucket] then
    seen[bucket] = true
    local index = tag .. 'days'
    redis.call('ZADD', index, day, day)
    buckets[#buckets + 1] = bucket
    indexes[#indexes + 1] = index
  end
  count = count + 1
end
for i = 1, #buckets do
  ttl_of(ttl, buckets[i])
  ttl_of(ttl, indexes[i])
end
return { count, 0 }
`

// The read of one entity's ranges (RedisStore.readTileRanges, when they can hold at most SCRIPT_MAX_TILES tiles):
// one call for a whole rolled-up tile cover, where a ZRANGEBYSCORE per day bucket made ioredis, not Redis, the cost
// (a 30-day cover is ~45 buckets: 370 µs of client CPU per read as a pipeline, 110 µs as this script, and its p99
// under load 6–21 ms against 0.4 ms; measured on this machine, 45 buckets of 2 tiles).
// KEYS: per range, in order, its bucket keys `P{DATASET:b64}:DAY<suffix>` (a bounded range: the client lists its
// days), or its day index `…:days<suffix>` (a range without lower bound or a very long one). All of one entity: one
// hash slot, so Redis checks the slot like any command's (MOVED, ASK) before the script runs.
// ARGV: the entity's key base `P{DATASET:b64}:`, then per range: n (its bucket keys in KEYS; −1 = one index key),
// min, max (score bounds), and for an index range also the index's day bounds and the suffix.
// Returns, per range: the count c of what follows, then c elements: member, score, member, score… in ascending
// (day, score, member) order, which is ascending (score, member).
export const RANGES_LUA = `
local base, out, o, k, a = ARGV[1], {}, 0, 1, 2
while a <= #ARGV do
  local n, min, max = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]
  local keys = {}
  if n >= 0 then
    for i = 1, n do keys[i] = KEYS[k + i - 1] end
    k = k + n
    a = a + 3
  else
    -- The index says which buckets exist (its members are the DAYs, as decimal strings). They share the index's
    -- hash tag, so they are in the slot Redis just checked.
    local suffix = ARGV[a + 5]
    for i, day in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], ARGV[a + 3], ARGV[a + 4])) do keys[i] = base .. day .. suffix end
    k = k + 1
    a = a + 6
  end
  o = o + 1
  local count = o
  for i = 1, #keys do
    local r = redis.call('ZRANGEBYSCORE', keys[i], min, max, 'WITHSCORES')
    for j = 1, #r do o = o + 1; out[o] = r[j] end
  end
  out[count] = o - count
end
return out
`

// KEYS: the epoch key and the checkpoint key of one (scope, partition) (one hash tag); ARGV: epoch, value.
// Writes the checkpoint only while the epoch is still the partition's current one. Returns 1 if written, else 0.
export const CHECKPOINT_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return 0
`

/** A string of at most 255 ASCII characters, after its length byte. */
export function writeShort (buf: Buffer, at: number, s: string): number {
  buf[at] = s.length
  return at + 1 + buf.write(s, at + 1, 'latin1')
}

/** An integer (|t| < 2^53) as 8 bytes big-endian two's complement, without a BigInt per tile. */
export function writeI64BE (buf: Buffer, t: number, at: number): void {
  const hi = Math.floor(t / 4294967296)
  buf.writeInt32BE(hi, at)
  buf.writeUInt32BE(t - hi * 4294967296, at + 4)
}
