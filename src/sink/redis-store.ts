// The Redis tile store: tiles in a real Redis server (standalone; the layout is Redis Cluster-ready), so several
// tilekiln processes and JVM fetchers can share one KV. Client: ioredis 5, one connection.
//
// Physical layout. P = `<prefix>:` (default prefix `chronon`, Zipline's; `?prefix=` makes P empty), D = 86 400 000,
// DAY(t) = t − (t rem D) with Java's truncating remainder (Zipline computes `ts - ts % 1.day.toMillis`), b64 =
// standard Base64 with padding (java.util.Base64) of the Avro entity key bytes:
//
//   P{DATASET:b64}:DAY:TILESIZE     sorted set, one per (key, day, tile size) — Zipline's tiled key
//       score  = tile start (ms; exact, |t| < 2^53)
//       member = tile start as 8-byte big-endian signed integer ‖ the Avro tile record
//   P{DATASET:b64}:days:TILESIZE    sorted set, ours: the index of the DAYs above that exist (score = member = DAY,
//                                   member as a decimal string); lets a read with no lower bound find every bucket
//   P{CHRONON_METADATA:b64(name)}   string: write time as 8-byte big-endian ms ‖ UTF-8 value — Zipline's batch-table
//                                   value format, under Chronon's metadata dataset
//
// Untiled events (`run --untiled`: one entry per evaluated row, appended):
//
//   P{DATASET:b64}:DAY              sorted set, one per (key, day of the event time) — Zipline's key for a time series
//                                   without tiles (its buildRedisKey with a day)
//       score  = event time (ms; exact, |t| < 2^53)
//       member = 16-byte row identity (codec/event-key.ts: partition, position, row index) ‖ the Avro
//                `{cleanName}_INPUT_COLS` record
//   P{DATASET:b64}:days             sorted set, ours: the index of the DAYs above that exist, as for tiles
//
// DATASET is the streaming dataset (`…_STREAMING`): entries() takes a `:DAY` key for events only there, since
// Zipline writes that key shape for its other time series (tile summaries) and never for a streaming dataset.
//
// The identity in the member is what makes an append idempotent: the script first looks at the members with the
// event's score (a key's events in one millisecond: few) and leaves an identical one alone, or replaces one with the
// same identity and other value bytes — one member per (event time, identity), as the embedded store has one entry
// per key. It also orders one score's members (ZRANGEBYSCORE returns equal scores by member bytes), so a read
// returns events by (event time, identity) — the embedded store's order. Zipline's members
// are 8-byte timestamp ‖ value and it keeps one value per timestamp (ZREMRANGEBYSCORE first): last write wins, so
// two events of one key in the same millisecond would be one. TTL: an append that adds events to a bucket
// (re)sets the TTL of that bucket and of its index, once per bucket and script call; a replay that adds nothing
// leaves them.
//
// TTL (`?ttl=`, default 5 days, Zipline's DataTTLSeconds; `ttl=0` = none, PERSIST) is set on a bucket, and on its
// key's index, whenever a tile is added to the bucket — not on every rewrite of a tile, as Zipline does. So a
// bucket lives TTL past its newest tile's creation, and the index (touched by every bucket's new tiles) never
// expires before a bucket it lists. Rewrites of an existing tile, most of the writes of a streaming job, cost three
// commands instead of five (the third, EXISTS, notices a rewrite that emptied a one-tile bucket: Redis deletes an
// empty sorted set, TTL and all, so that case is treated as a new tile). Metadata gets no TTL: the engine writes it
// once at start and every fetch needs it.
//
// Where a JVM Zipline fetcher reads the same thing: tile buckets, member and score encodings, key names and hash
// tags are Zipline's. Where we differ: (1) Zipline buckets a tile by the PutRequest's tsMillis (the latest event in
// the tile); we only have the tile start. The two give the same DAY whenever the tile size divides a day — every
// Chronon resolution (5 min, 1 h, 1 d) does — and the tile is after 1970. (2) The `days` index is ours; Zipline
// enumerates days between a request's bounds, as our bounded reads do, and never needs it. (3) TTL counts from a
// tile's creation, not its last rewrite (above). (4) Metadata values are tilekiln's serving info (JSON), not
// Zipline's, and carry no TTL (Zipline's SETEX gives them 5 days).
//
// Upserts: a Lua script (EVALSHA; a script runs atomically) per chunk of up to 256 tiles, the chunk packed by the
// client into one argument (a command per tile made ioredis, not Redis, the bottleneck: 46k vs 120k tiles/s).
// Per tile the script runs
//   n = ZREMRANGEBYSCORE bucket s s; fresh = n == 0 (a new tile) or not EXISTS bucket; ZADD bucket s member;
//   if fresh: ZADD index DAY DAY and EXPIRE (or PERSIST) bucket and index.
// Zipline issues ZREMRANGEBYSCORE and ZADD as two commands, between which a reader sees the tile missing (and two
// racing writers can leave two members at one score). Inside a script no other client runs, so any read sees each
// tile exactly once: its old version or its new one — never both, never neither. A chunk blocks other clients for
// its run time (≈1 ms for 256 tiles here), which bounds what a write burst adds to a concurrent read's latency.
// The script names its keys itself, which standalone Redis allows; on Redis Cluster chunks would have to be
// grouped by hash slot with the keys declared (a tile's bucket and index share a hash tag, so per-tile atomicity
// carries over). A read spanning several buckets is several commands, so it is not a snapshot: it may see one
// tile's new version and another's old one (each tile whole, none twice) — as any multi-row read of Chronon's KV
// stores, and harmless because each tile is a self-contained partial aggregate.
//
// Ordering (the KvWriter's contract: requests are applied in the order they were issued). All commands go down one
// TCP connection, written synchronously inside the call that issues them (one pipeline per writeTiles), and Redis
// executes one connection's commands in arrival order. So a request the writer timed out but that is still in
// flight is applied before its retry, which is issued later on the same connection. What would break that is the
// client replaying commands on its own, so ioredis runs with: no offline queue (a command issued while
// disconnected fails at once; the writer backs off and retries), no automatic resend of unanswered commands after a
// reconnect, and maxRetriesPerRequest 0 (every unanswered command is failed as soon as the connection drops, so the
// writer re-issues it, in order, after everything before it). The connection itself reconnects forever.
// Residual risk: if the client dropped a connection while Redis was alive and still draining that connection's
// input, its tail could interleave with the first commands of the new connection; ioredis only drops a connection
// on a socket error or close, when that input is gone too.
//
// Durability: a write is acknowledged once Redis has applied it in memory. Whether it survives a Redis restart is
// the server's persistence setting (appendonly + appendfsync), which is the operator's; `?wait=N` makes flushed()
// issue WAIT N and fail unless N replicas acknowledged every write so far.

import { createHash } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { encodeEventKey, IDENTITY_BYTES } from '../codec/event-key.ts'
import { encodeTileKey } from '../codec/tile-key.ts'
import { TilekilnError } from '../errors.ts'
import type { EventPuts } from './event-puts.ts'
import { METADATA_PREFIX, type StoredEvent, type StoredTile, type TileStore } from './store.ts'
import type { TilePuts } from './tile-puts.ts'

export const DAY_MILLIS = 86_400_000
/** Zipline's RedisKVStoreConstants.DefaultKeyPrefix. */
export const DEFAULT_REDIS_PREFIX = 'chronon'
/** Zipline's RedisKVStoreConstants.DataTTLSeconds (5 days). */
export const DEFAULT_REDIS_TTL_SECONDS = 5 * 24 * 3600
/** Chronon's Constants.MetadataDataset. */
export const METADATA_DATASET = 'CHRONON_METADATA'

// Both scripts read the same pack format; this reads one entry and returns where the next one starts.
const UNPACK_LUA = `
local byte, sub = string.byte, string.sub
local function unpack_entry (pack, pos)
  local b1, b2, b3, b4 = byte(pack, pos, pos + 3)
  local n = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  local key = sub(pack, pos + 4, pos + 3 + n)
  pos = pos + 4 + n
  n = byte(pack, pos)
  local day = sub(pack, pos + 1, pos + n)
  pos = pos + 1 + n
  n = byte(pack, pos)
  local score = sub(pack, pos + 1, pos + n)
  pos = pos + 1 + n
  b1, b2, b3, b4 = byte(pack, pos, pos + 3)
  n = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  return key, day, score, sub(pack, pos + 4, pos + 3 + n), pos + 4 + n
end
`

// ARGV: ttl, key head `P{DATASET:`, `:TILESIZE`, packed tiles. Each tile in the pack:
//   u32 BE n, b64 key (n bytes) | u8 n, DAY (decimal) | u8 n, tile start (decimal) | u32 BE n, member (n bytes)
// Returns the number of tiles applied, which the client checks.
const UPSERT_LUA = UNPACK_LUA + `
local ttl, head, size, pack = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local pos, last, count = 1, #pack, 0
while pos <= last do
  local key, day, score, member
  key, day, score, member, pos = unpack_entry(pack, pos)
  local tag = head .. key .. '}:'
  local bucket = tag .. day .. size
  -- A new tile; or a rewrite that emptied a one-tile bucket, which Redis then deleted, TTL and all.
  local fresh = redis.call('ZREMRANGEBYSCORE', bucket, score, score) == 0 or redis.call('EXISTS', bucket) == 0
  redis.call('ZADD', bucket, score, member)
  if fresh then
    local index = tag .. 'days' .. size
    redis.call('ZADD', index, day, day)
    if ttl == '0' then
      redis.call('PERSIST', bucket)
      redis.call('PERSIST', index)
    else
      redis.call('EXPIRE', bucket, ttl)
      redis.call('EXPIRE', index, ttl)
    end
  end
  count = count + 1
end
return count
`

// ARGV: ttl, key head `P{DATASET:`, packed events, in the upsert's pack format (the "tile start" is the event
// time, the member identity ‖ value). Returns the number of events handled (new or already there).
const APPEND_LUA = UNPACK_LUA + `
local ttl, head, pack = ARGV[1], ARGV[2], ARGV[3]
local pos, last, count = 1, #pack, 0
local seen, buckets, indexes = {}, {}, {}
while pos <= last do
  local key, day, score, member
  key, day, score, member, pos = unpack_entry(pack, pos)
  local tag = head .. key .. '}:'
  local bucket = tag .. day
  -- One member per (score, identity), as the embedded store has one entry per (ts, identity): an event already
  -- there is left alone; one stored with other value bytes (the GroupBy's selects changed) is replaced.
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
  if ttl == '0' then
    redis.call('PERSIST', buckets[i])
    redis.call('PERSIST', indexes[i])
  else
    redis.call('EXPIRE', buckets[i], ttl)
    redis.call('EXPIRE', indexes[i], ttl)
  end
end
return count
`

const CHUNK_TILES = 256
const CHUNK_BYTES = 256 * 1024

/**
 * Above this many days a bounded read asks the index which buckets exist (one more round trip) rather than asking
 * every day's bucket (a command per day, ≈10 µs of client time each): 32 keeps windows up to a month in one trip.
 */
const MAX_ENUMERATED_DAYS = 32
const SCAN_COUNT = 1000

export interface RedisStoreOptions {
  readonly host: string
  readonly port: number
  readonly db: number
  readonly username?: string
  readonly password?: string
  readonly tls?: boolean
  /** Namespace of every key; '' = none (keys start at the hash tag). Default `chronon`. */
  readonly prefix?: string
  /** TTL of tile buckets and indexes in seconds; 0 = none. Default 5 days. */
  readonly ttlSeconds?: number
  /** flushed() waits for this many replicas to acknowledge every write (Redis WAIT). Default 0. */
  readonly waitReplicas?: number
  /** Refuse writes (fetch, dump). */
  readonly readOnly?: boolean
  /** How long reads wait for a connection before failing (ms). Default 10 s. */
  readonly connectTimeoutMillis?: number
  /** How long flushed() waits for `waitReplicas` (ms). Default 10 s. */
  readonly waitTimeoutMillis?: number
}

/** Java's `t - t % D`: rounds toward zero, so (−D, D) is one bucket, as Zipline computes it. */
export function dayOf (t: number): number {
  return t - (t % DAY_MILLIS) + 0 // + 0 turns −0 into 0
}

const GLOB_SPECIAL = /[*?[\]\\]/g

/**
 * `redis://[USER:PASSWORD@]HOST[:PORT][/DB][?prefix=P&ttl=T&wait=N]` (`rediss://` for TLS). `ttl` is seconds, or
 * a number with a unit s/m/h/d; 0 = no TTL.
 */
export function parseRedisSpec (spec: string): RedisStoreOptions {
  let url: URL
  try {
    url = new URL(spec)
  } catch {
    throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': use redis://HOST:PORT[/DB][?prefix=…&ttl=…&wait=…]`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': the scheme must be redis:// or rediss://`)
  const path = url.pathname.replace(/^\/+/, '')
  if (path !== '' && !/^\d+$/.test(path)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': the path must be a database number, got '/${path}'`)
  const known = ['prefix', 'ttl', 'wait']
  for (const k of url.searchParams.keys()) {
    if (!known.includes(k)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': unknown option '${k}' (known: ${known.join(', ')})`)
  }
  const ttlText = url.searchParams.get('ttl')
  let ttlSeconds = DEFAULT_REDIS_TTL_SECONDS
  if (ttlText !== null) {
    const m = /^(\d+)(s|m|h|d)?$/.exec(ttlText.trim())
    if (m === null) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': ttl must be whole seconds or N{s,m,h,d}, got '${ttlText}'`)
    ttlSeconds = Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86_400 }[m[2] ?? 's'] ?? 1)
  }
  const waitText = url.searchParams.get('wait')
  const waitReplicas = waitText === null ? 0 : Number(waitText)
  if (!Number.isInteger(waitReplicas) || waitReplicas < 0) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': wait must be a number of replicas, got '${String(waitText)}'`)
  const prefix = url.searchParams.get('prefix') ?? DEFAULT_REDIS_PREFIX
  if (/[{}]/.test(prefix)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': the prefix must not contain { or } (they delimit the Redis Cluster hash tag)`)
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    db: path === '' ? 0 : Number(path),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === 'rediss:',
    prefix,
    ttlSeconds,
    waitReplicas
  }
}

/** Parsed name of one of our physical keys, or null for a key that is not ours. */
type ParsedKey =
  | { kind: 'tiles', dataset: string, keyBytes: Uint8Array, tileSizeMillis: number }
  | { kind: 'events', dataset: string, keyBytes: Uint8Array }
  | { kind: 'metadata', name: string }
  | { kind: 'index' }

export class RedisStore implements TileStore {
  readonly description: string
  readonly #client: Redis
  readonly #p: string
  readonly #ttl: string
  readonly #waitReplicas: number
  readonly #readOnly: boolean
  readonly #connectTimeout: number
  readonly #waitTimeout: number
  readonly #sha: string
  readonly #appendSha: string
  /** `P{DATASET:` per dataset: the constant head of every key of that dataset. */
  readonly #heads = new Map<string, string>()
  #lastError = ''
  #closed = false
  /** SCRIPT LOAD was sent on the current connection. */
  #scriptSent = false

  constructor (o: RedisStoreOptions) {
    const prefix = o.prefix ?? DEFAULT_REDIS_PREFIX
    if (/[{}]/.test(prefix)) throw new TilekilnError('TK_USAGE', 'the Redis key prefix must not contain { or }')
    this.#p = prefix === '' ? '' : prefix + ':'
    const ttl = o.ttlSeconds ?? DEFAULT_REDIS_TTL_SECONDS
    if (!Number.isInteger(ttl) || ttl < 0) throw new TilekilnError('TK_USAGE', `the Redis TTL must be whole seconds ≥ 0, got ${ttl}`)
    this.#ttl = String(ttl)
    this.#waitReplicas = o.waitReplicas ?? 0
    this.#readOnly = o.readOnly === true
    this.#connectTimeout = o.connectTimeoutMillis ?? 10_000
    this.#waitTimeout = o.waitTimeoutMillis ?? 10_000
    const query = [`prefix=${encodeURIComponent(prefix)}`, ttl !== DEFAULT_REDIS_TTL_SECONDS ? `ttl=${ttl}` : '', this.#waitReplicas > 0 ? `wait=${this.#waitReplicas}` : ''].filter(s => s !== '')
    this.description = `${o.tls === true ? 'rediss' : 'redis'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}/${o.db}?${query.join('&')}`
    const options: RedisOptions = {
      host: o.host,
      port: o.port,
      db: o.db,
      username: o.username,
      password: o.password,
      tls: o.tls === true ? {} : undefined,
      // The ordering contract above: fail fast, never replay.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // Reconnect forever: an outage must slow the engine down, not end it.
      retryStrategy: times => Math.min(50 * times, 1000),
      connectTimeout: this.#connectTimeout,
      lazyConnect: false
    }
    this.#client = new Redis(options)
    this.#client.on('error', (e: Error) => { this.#lastError = e.message })
    // A fresh (or restarted) server has no scripts. ioredis announces 'ready' a tick after it starts accepting
    // commands, so writes wait for our listener: SCRIPT LOAD goes out before any EVALSHA of the connection.
    this.#sha = createHash('sha1').update(UPSERT_LUA).digest('hex')
    this.#appendSha = createHash('sha1').update(APPEND_LUA).digest('hex')
    this.#client.on('ready', () => {
      this.#client.script('LOAD', UPSERT_LUA).catch((e: Error) => { this.#lastError = e.message })
      this.#client.script('LOAD', APPEND_LUA).catch((e: Error) => { this.#lastError = e.message })
      this.#scriptSent = true
    })
    this.#client.on('close', () => { this.#scriptSent = false })
  }

  #head (dataset: string): string {
    let h = this.#heads.get(dataset)
    if (h === undefined) {
      if (/[{}]/.test(dataset)) throw new TilekilnError('TK_STORE', `dataset '${dataset}' cannot be stored in Redis: it contains { or }`, { store: this.description, dataset })
      h = `${this.#p}{${dataset}:`
      this.#heads.set(dataset, h)
    }
    return h
  }

  #error (what: string, dataset: string | undefined, cause?: unknown): TilekilnError {
    let why = cause instanceof Error ? cause.message : `connection ${this.#client.status}`
    // ioredis's words for our fail-fast settings, in the user's terms (the original stays in `cause`).
    if (/Stream isn't writeable|max retries per request|Connection is closed/i.test(why) || cause === undefined) {
      why = `the connection to Redis is down${this.#lastError !== '' ? ` (last error: ${this.#lastError})` : ''}`
    }
    return new TilekilnError('TK_STORE', `${what}: ${why}`, { store: this.description, dataset }, { cause })
  }

  /** Reads wait for the connection (start-up, reconnects) up to the connect timeout; writes never wait. */
  async #ready (what: string, dataset?: string): Promise<void> {
    if (this.#closed) throw new TilekilnError('TK_STORE', `${what}: the store is closed`, { store: this.description, dataset })
    if (this.#client.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.#client.off('ready', onReady); reject(this.#error(`${what}: no connection to Redis within ${this.#connectTimeout} ms`, dataset)) }, this.#connectTimeout)
      const onReady = (): void => { clearTimeout(timer); resolve() }
      this.#client.once('ready', onReady)
    })
  }

  /** Resolves once connected (at most the connect timeout). Writes never wait: they fail while disconnected. */
  async connected (): Promise<void> {
    await this.#ready('Redis connection failed')
  }

  /**
   * One pipeline of EVALSHA calls, one per chunk of tiles, written to the socket before this returns its promise
   * (so calls are applied in call order).
   */
  async writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts): Promise<void> {
    if (this.#readOnly) throw new TilekilnError('TK_STORE', 'the store was opened read-only', { store: this.description, dataset })
    if (this.#client.status !== 'ready' || !this.#scriptSent) throw this.#error(`Redis write of ${puts.count} tile(s) failed`, dataset)
    if (puts.count === 0) return
    const head = this.#head(dataset)
    const size = `:${tileSizeMillis}`
    const bytes = puts.bytes
    const pipeline = this.#client.pipeline()
    const chunks: number[] = []
    let i = 0
    while (i < puts.count) {
      let need = 0
      const first = i
      // Upper bound per tile: 4 + base64 + 2 × (1 + ≤ 21 decimal digits) + 4 + 8 + value.
      for (; i < puts.count && i - first < CHUNK_TILES && (i === first || need < CHUNK_BYTES); i++) {
        need += 4 + Math.ceil(puts.keyLength(i) / 3) * 4 + 2 * 22 + 12 + puts.valueLength(i)
      }
      const pack = Buffer.allocUnsafe(need)
      let at = 0
      for (let j = first; j < i; j++) {
        const tileStart = puts.tileStart(j)
        const b64 = Buffer.from(bytes.buffer, bytes.byteOffset + puts.keyOffset(j), puts.keyLength(j)).toString('base64')
        pack.writeUInt32BE(b64.length, at)
        at += 4 + pack.write(b64, at + 4, 'latin1')
        at = writeShort(pack, at, String(dayOf(tileStart)))
        at = writeShort(pack, at, String(tileStart))
        const valueLength = puts.valueLength(j)
        pack.writeUInt32BE(8 + valueLength, at)
        writeI64BE(pack, tileStart, at + 4)
        pack.set(bytes.subarray(puts.valueOffset(j), puts.valueOffset(j) + valueLength), at + 12)
        at += 12 + valueLength
      }
      pipeline.evalsha(this.#sha, 0, this.#ttl, head, size, pack.subarray(0, at))
      chunks.push(i - first)
    }
    let results: [Error | null, unknown][] | null
    try {
      results = await pipeline.exec()
    } catch (e) {
      throw this.#error(`Redis write of ${puts.count} tile(s) failed`, dataset, e)
    }
    this.#check(results, `Redis write of ${puts.count} tile(s) failed`, dataset)
    for (let c = 0; c < chunks.length; c++) {
      if (results![c]![1] !== chunks[c]) {
        throw new TilekilnError('TK_INTERNAL', `the Redis upsert script applied ${String(results![c]![1])} of ${chunks[c]!} tile(s)`, { store: this.description, dataset })
      }
    }
  }

  #check (results: [Error | null, unknown][] | null, what: string, dataset?: string): void {
    if (results === null) throw this.#error(what, dataset)
    let failed = 0
    let first: Error | null = null
    for (const [e] of results) {
      if (e !== null) { failed++; first ??= e }
    }
    if (first === null) return
    if (first.message.includes('NOSCRIPT')) {
      // Scripts were flushed under us (SCRIPT FLUSH, failover): load them again; the writer's retry will pass.
      this.#client.script('LOAD', UPSERT_LUA).catch(() => {})
      this.#client.script('LOAD', APPEND_LUA).catch(() => {})
    }
    throw this.#error(`${what} (${failed} of ${results.length} command(s))`, dataset, first)
  }

  /**
   * One pipeline of EVALSHA calls of the append script, one per chunk of events, written to the socket before this
   * returns its promise (so calls are applied in call order, as writeTiles).
   */
  async appendEvents (dataset: string, events: EventPuts): Promise<void> {
    if (this.#readOnly) throw new TilekilnError('TK_STORE', 'the store was opened read-only', { store: this.description, dataset })
    if (this.#client.status !== 'ready' || !this.#scriptSent) throw this.#error(`Redis append of ${events.count} event(s) failed`, dataset)
    if (events.count === 0) return
    const head = this.#head(dataset)
    const bytes = events.bytes
    const pipeline = this.#client.pipeline()
    const chunks: number[] = []
    let i = 0
    while (i < events.count) {
      let need = 0
      const first = i
      for (; i < events.count && i - first < CHUNK_TILES && (i === first || need < CHUNK_BYTES); i++) {
        need += 4 + Math.ceil(events.keyLength(i) / 3) * 4 + 2 * 22 + 4 + IDENTITY_BYTES + events.valueLength(i)
      }
      const pack = Buffer.allocUnsafe(need)
      let at = 0
      for (let j = first; j < i; j++) {
        const ts = events.tsMillis(j)
        const b64 = Buffer.from(bytes.buffer, bytes.byteOffset + events.keyOffset(j), events.keyLength(j)).toString('base64')
        pack.writeUInt32BE(b64.length, at)
        at += 4 + pack.write(b64, at + 4, 'latin1')
        at = writeShort(pack, at, String(dayOf(ts)))
        at = writeShort(pack, at, String(ts))
        const valueLength = events.valueLength(j)
        pack.writeUInt32BE(IDENTITY_BYTES + valueLength, at)
        pack.set(events.identity(j), at + 4)
        pack.set(bytes.subarray(events.valueOffset(j), events.valueOffset(j) + valueLength), at + 4 + IDENTITY_BYTES)
        at += 4 + IDENTITY_BYTES + valueLength
      }
      pipeline.evalsha(this.#appendSha, 0, this.#ttl, head, pack.subarray(0, at))
      chunks.push(i - first)
    }
    let results: [Error | null, unknown][] | null
    try {
      results = await pipeline.exec()
    } catch (e) {
      throw this.#error(`Redis append of ${events.count} event(s) failed`, dataset, e)
    }
    this.#check(results, `Redis append of ${events.count} event(s) failed`, dataset)
    for (let c = 0; c < chunks.length; c++) {
      if (results![c]![1] !== chunks[c]) {
        throw new TilekilnError('TK_INTERNAL', `the Redis append script handled ${String(results![c]![1])} of ${chunks[c]!} event(s)`, { store: this.description, dataset })
      }
    }
  }

  async readEvents (dataset: string, keyBytes: Uint8Array, fromMillis: number, toMillis: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = []
    await this.#readRanges(dataset, keyBytes, '', fromMillis, toMillis, (member, score) => {
      out.push({ tsMillis: score, identity: member.subarray(0, IDENTITY_BYTES), value: member.subarray(IDENTITY_BYTES) })
    })
    return out
  }

  /**
   * The members with from ≤ score < to of one key's day buckets (`suffix` = `:TILESIZE` for tiles, '' for events),
   * in ascending (day, score, member) order, which is ascending (score, member): days partition the scores.
   */
  async #readRanges (dataset: string, keyBytes: Uint8Array, suffix: string, fromMillis: number, toMillis: number, each: (member: Uint8Array, score: number) => void): Promise<void> {
    if (!(fromMillis < toMillis)) return
    await this.#ready('Redis read failed', dataset)
    const base = this.#head(dataset) + Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength).toString('base64') + '}:'
    // Scores are whole milliseconds: the first and last possible ones in [from, to).
    const lo = Number.isFinite(fromMillis) ? Math.ceil(fromMillis) : -Infinity
    const hi = Number.isFinite(toMillis) ? Math.ceil(toMillis) - 1 : Infinity
    if (lo > hi) return
    let days: number[]
    try {
      if (Number.isFinite(lo) && Number.isFinite(hi) && (dayOf(hi) - dayOf(lo)) / DAY_MILLIS < MAX_ENUMERATED_DAYS) {
        days = []
        for (let d = dayOf(lo); d <= dayOf(hi); d += DAY_MILLIS) days.push(d)
      } else {
        // Unbounded (or very long): the index says which buckets exist. A bucket created after this read of the
        // index holds only entries written after the read began.
        const listed = await this.#client.zrangebyscore(base + 'days' + suffix, bound(Number.isFinite(lo) ? dayOf(lo) : lo), bound(Number.isFinite(hi) ? dayOf(hi) : hi))
        days = listed.map(Number)
      }
      if (days.length === 0) return
      const pipeline = this.#client.pipeline()
      const min = bound(lo)
      const max = bound(hi)
      for (const d of days) pipeline.zrangebyscoreBuffer(base + String(d) + suffix, min, max, 'WITHSCORES')
      const results = await pipeline.exec()
      this.#check(results, 'Redis read failed', dataset)
      for (const [, reply] of results!) {
        const r = reply as Buffer[]
        for (let i = 0; i < r.length; i += 2) {
          const m = r[i]!
          each(new Uint8Array(m.buffer, m.byteOffset, m.length), Number(r[i + 1]!.toString('latin1')))
        }
      }
    } catch (e) {
      if (e instanceof TilekilnError) throw e
      throw this.#error('Redis read failed', dataset, e)
    }
  }

  async readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]> {
    const out: StoredTile[] = []
    await this.#readRanges(dataset, keyBytes, `:${tileSizeMillis}`, fromMillis, toMillis, (m, tileStartMillis) => {
      const tile = { tileStartMillis, value: m.subarray(8) }
      // Only a foreign, non-atomic writer (Zipline's ZREMRANGEBYSCORE then ZADD) can leave two members at one
      // score; a tile must not count twice, so keep one.
      if (out.length > 0 && out[out.length - 1]!.tileStartMillis === tileStartMillis) out[out.length - 1] = tile
      else out.push(tile)
    })
    return out
  }

  #metadataKey (name: string): string {
    return `${this.#p}{${METADATA_DATASET}:${Buffer.from(name, 'utf8').toString('base64')}}`
  }

  async putMetadata (name: string, value: string): Promise<void> {
    if (this.#readOnly) throw new TilekilnError('TK_STORE', 'the store was opened read-only', { store: this.description, dataset: METADATA_DATASET })
    await this.#ready('Redis metadata write failed', METADATA_DATASET)
    const v = Buffer.from(value, 'utf8')
    const stored = Buffer.allocUnsafe(8 + v.length)
    writeI64BE(stored, Date.now(), 0)
    v.copy(stored, 8)
    try {
      await this.#client.set(this.#metadataKey(name), stored)
    } catch (e) {
      throw this.#error(`Redis metadata write of '${name}' failed`, METADATA_DATASET, e)
    }
  }

  async getMetadata (name: string): Promise<string | undefined> {
    await this.#ready('Redis metadata read failed', METADATA_DATASET)
    let stored: Buffer | null
    try {
      stored = await this.#client.getBuffer(this.#metadataKey(name))
    } catch (e) {
      throw this.#error(`Redis metadata read of '${name}' failed`, METADATA_DATASET, e)
    }
    if (stored === null) return undefined
    if (stored.length < 8) throw new TilekilnError('TK_STORE', `malformed metadata '${name}' in Redis: ${stored.length} bytes, expected ≥ 8`, { store: this.description, dataset: METADATA_DATASET })
    return stored.toString('utf8', 8)
  }

  #parseKey (key: string): ParsedKey | null {
    if (!key.startsWith(this.#p) || key.charCodeAt(this.#p.length) !== 0x7b /* { */) return null
    const close = key.indexOf('}', this.#p.length)
    if (close < 0) return null
    const tag = key.slice(this.#p.length + 1, close)
    const colon = tag.lastIndexOf(':')
    if (colon <= 0) return null
    const dataset = tag.slice(0, colon)
    const keyBytes = new Uint8Array(Buffer.from(tag.slice(colon + 1), 'base64'))
    const rest = key.slice(close + 1)
    if (rest === '') return dataset === METADATA_DATASET ? { kind: 'metadata', name: Buffer.from(keyBytes).toString('utf8') } : null
    // `:DAY:TILESIZE` / `:days:TILESIZE` for tiles, `:DAY` / `:days` for untiled events.
    const m = /^:(-?\d+|days)(?::(\d+))?$/.exec(rest)
    if (m === null) return null
    if (m[1] === 'days') return { kind: 'index' }
    // A series without tile size is ours only in a streaming dataset: Zipline writes such keys for other datasets
    // (tile summaries), and its streaming ones always carry a tile size.
    if (m[2] === undefined) return dataset.endsWith('_STREAMING') ? { kind: 'events', dataset, keyBytes } : null
    return { kind: 'tiles', dataset, keyBytes, tileSizeMillis: Number(m[2]) }
  }

  /** SCAN over our prefix only; keys SCAN returns twice are read once. */
  async * entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    await this.#ready('Redis scan failed')
    const pattern = this.#p.replace(GLOB_SPECIAL, c => '\\' + c) + '\\{*'
    const seen = new Set<string>()
    let cursor = '0'
    do {
      let keys: string[]
      let batch: { key: string, parsed: ParsedKey }[]
      let results: [Error | null, unknown][] | null
      try {
        [cursor, keys] = await this.#client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
        batch = []
        for (const key of keys) {
          if (seen.has(key)) continue
          seen.add(key)
          const parsed = this.#parseKey(key)
          if (parsed !== null && parsed.kind !== 'index') batch.push({ key, parsed })
        }
        if (batch.length === 0) continue
        const pipeline = this.#client.pipeline()
        for (const { key, parsed } of batch) {
          if (parsed.kind === 'metadata') pipeline.getBuffer(key)
          else pipeline.zrangeBuffer(key, 0, -1, 'WITHSCORES')
        }
        results = await pipeline.exec()
        this.#check(results, 'Redis scan failed')
      } catch (e) {
        if (e instanceof TilekilnError) throw e
        throw this.#error('Redis scan failed', undefined, e)
      }
      for (let j = 0; j < batch.length; j++) {
        const { parsed } = batch[j]!
        const reply = results![j]![1]
        if (parsed.kind === 'metadata') {
          const v = reply as Buffer | null
          if (v !== null && v.length >= 8) yield [new TextEncoder().encode(METADATA_PREFIX + parsed.name), new Uint8Array(v.buffer, v.byteOffset + 8, v.length - 8)]
        } else if (parsed.kind === 'tiles') {
          const r = reply as Buffer[]
          for (let i = 0; i < r.length; i += 2) {
            const m = r[i]!
            const tileStartMillis = Number(r[i + 1]!.toString('latin1'))
            yield [
              encodeTileKey({ dataset: parsed.dataset, keyBytes: parsed.keyBytes, tileSizeMillis: parsed.tileSizeMillis, tileStartMillis }),
              new Uint8Array(m.buffer, m.byteOffset + 8, m.length - 8)
            ]
          }
        } else if (parsed.kind === 'events') {
          const r = reply as Buffer[]
          for (let i = 0; i < r.length; i += 2) {
            const m = new Uint8Array(r[i]!.buffer, r[i]!.byteOffset, r[i]!.length)
            const tsMillis = Number(r[i + 1]!.toString('latin1'))
            yield [
              encodeEventKey({ dataset: parsed.dataset, keyBytes: parsed.keyBytes, tsMillis, identity: m.subarray(0, IDENTITY_BYTES) }),
              m.subarray(IDENTITY_BYTES)
            ]
          }
        }
      }
    } while (cursor !== '0')
  }

  /**
   * Every write already resolved once Redis applied it (in memory). Durable storage is Redis's persistence, which
   * the operator configures; with `wait=N`, this also waits until N replicas have every write so far.
   */
  async flushed (): Promise<void> {
    if (this.#waitReplicas === 0) return
    await this.#ready('Redis WAIT failed')
    let acked: number
    try {
      acked = await this.#client.wait(this.#waitReplicas, this.#waitTimeout)
    } catch (e) {
      throw this.#error('Redis WAIT failed', undefined, e)
    }
    if (acked < this.#waitReplicas) {
      throw new TilekilnError('TK_STORE', `only ${acked} of ${this.#waitReplicas} Redis replica(s) acknowledged the writes within ${this.#waitTimeout} ms`, { store: this.description })
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#client.status === 'ready') {
      try {
        await this.#client.quit()
        return
      } catch {}
    }
    this.#client.disconnect()
  }
}

/** A score bound for ZRANGEBYSCORE: a whole number (exact up to 2^53), or ±inf. */
function bound (n: number): string {
  return n === -Infinity ? '-inf' : n === Infinity ? '+inf' : String(n)
}

/** A string of at most 255 ASCII characters, after its length byte. */
function writeShort (buf: Buffer, at: number, s: string): number {
  buf[at] = s.length
  return at + 1 + buf.write(s, at + 1, 'latin1')
}

/** An integer (|t| < 2^53) as 8 bytes big-endian two's complement, without a BigInt per tile. */
function writeI64BE (buf: Buffer, t: number, at: number): void {
  const hi = Math.floor(t / 4294967296)
  buf.writeInt32BE(hi, at)
  buf.writeUInt32BE(t - hi * 4294967296, at + 4)
}
