// The Redis tile store: tiles in a real Redis server or Redis Cluster, so several tilekiln processes and JVM
// fetchers can share one KV. Client: ioredis 5 — one connection to a server, or ioredis's `Cluster` for topology,
// reads and scans plus one connection per master that we write through ourselves.
//
// Layout (key names: redis-layout.ts; scripts and their pack format: redis-scripts.ts):
//
//   P{DATASET:b64}:DAY:TILESIZE     sorted set, one per (key, day, tile size) — Zipline's tiled key
//       score  = tile start (ms; exact, |t| < 2^53)
//       member = the tile's latest event time (the last event folded in: Chronon's latestTsMillis, the put's
//                timestamp in Chronon's PutRequest) as 8-byte big-endian signed integer ‖ the Avro tile record
//                (tilekiln before the head-tile rule wrote the tile start there; such tiles read as latest = start)
//   P{DATASET:b64}:days:TILESIZE    sorted set, ours: the index of the DAYs above that exist (score = member = DAY,
//                                   member as a decimal string); lets a read with no lower bound find every bucket
//   P{DATASET:b64}:fence            hash, ours: per `PARTITION@SCOPE` the highest epoch that wrote this entity
//   P{CHRONON_METADATA:b64(name)}   string: write time as 8-byte big-endian ms ‖ UTF-8 value — Zipline's batch-table
//                                   value format, under Chronon's metadata dataset
//   P{TILEKILN_PARTITION:b64(scope):PARTITION}:epoch       string: the current epoch (INCR)
//   P{TILEKILN_PARTITION:b64(scope):PARTITION}:checkpoint  string: 8-byte big-endian epoch ‖ checkpoint bytes
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
// entries() reports tiles, events and metadata only: day indexes, fences, epochs and checkpoints are bookkeeping.
//
// The identity in an event's member is what makes an append idempotent: the script first looks at the members with
// the event's score (a key's events in one millisecond: few) and leaves an identical one alone, or replaces one with
// the same identity and other value bytes — one member per (event time, identity), as the embedded store has one
// entry per key. It also orders one score's members (ZRANGEBYSCORE returns equal scores by member bytes), so a read
// returns events by (event time, identity) — the embedded store's order. Zipline's members are 8-byte timestamp ‖
// value and it keeps one value per timestamp (ZREMRANGEBYSCORE first): last write wins, so two events of one key in
// the same millisecond would be one.
//
// TTL (`?ttl=`, default 5 days, Zipline's DataTTLSeconds; `ttl=0` = none, PERSIST) is set on a bucket, on its key's
// index and fence, whenever a tile is added to the bucket — not on every rewrite of a tile, as Zipline does. So a
// bucket lives TTL past its newest tile's creation, and the index (touched by every bucket's new tiles) never
// expires before a bucket it lists. Rewrites of an existing tile, most of the writes of a streaming job, cost three
// commands instead of five (the third, EXISTS, notices a rewrite that emptied a one-tile bucket: Redis deletes an
// empty sorted set, TTL and all, so that case is treated as a new tile). Metadata, epochs and checkpoints get no
// TTL: the engine writes metadata once at start and every fetch needs it; epochs must outlive every daemon.
//
// Where a JVM Zipline fetcher reads the same thing: tile buckets, member and score encodings, key names and hash
// tags are Zipline's. Where we differ: (1) Zipline buckets a tile by the PutRequest's tsMillis (the latest event in
// the tile); we only have the tile start. The two give the same DAY whenever the tile size divides a day — every
// Chronon resolution (5 min, 1 h, 1 d) does — and the tile is after 1970. (2) The `days` index and the fence are
// ours; Zipline enumerates days between a request's bounds, as our bounded reads do, and never needs the index.
// (3) TTL counts from a tile's creation, not its last rewrite (above). (4) Metadata values are tilekiln's serving
// info (JSON), not Zipline's, and carry no TTL (Zipline's SETEX gives them 5 days).
//
// Upserts: a Lua script per chunk of up to 256 tiles (redis-scripts.ts): a tile's old version is replaced
// atomically — Zipline issues ZREMRANGEBYSCORE and ZADD as two commands, between which a reader sees the tile missing
// (and two racing writers can leave two members at one score). Inside a script no other client runs, so any read
// sees each tile exactly once: its old version or its new one — never both, never neither. A chunk blocks other
// clients for its run time (≈1 ms for 256 tiles here), which bounds what a write burst adds to a concurrent read's
// latency. A tile cover is read in rounds (fetch/tile-cover.ts), each one request per entity: a call of the read
// script (RANGES_LUA: every range and bucket of the round) when its ranges can hold at most SCRIPT_MAX_TILES tiles —
// a round then sees one moment of the entity — else a pipeline of ZRANGEBYSCOREs, one per bucket. A read of several
// rounds or commands is not a snapshot: it may see one tile's new version and another's old one (each tile whole,
// none twice) — as any multi-row read of Chronon's KV stores, and harmless because each tile is a self-contained
// partial aggregate. A reader without the permission to run scripts (EVALSHA, EVAL) reads with pipelines instead.
//
// Fencing (store.ts): a fenced write carries (partition, epoch) with each tile, and the script compares it with the
// entity's fence hash, in the same atomic call that writes the tile: a tile whose entity was written under a newer
// epoch of its partition is refused, whole; otherwise the field is raised to the tile's epoch. The field is per
// partition, so one entity written from two partitions (a topic not keyed by the entity) is not taken for stale. A
// fence per entity (not per partition) is what a Redis Cluster script can check atomically: the entity's keys
// share one hash slot, the partition's epoch key does not.
//
// Ordering (the KvWriter's contract: requests are applied in the order they were issued). Every write of an entity
// goes down one TCP connection (the server's, or the connection to the master serving the entity's slot), written
// synchronously inside the call that issues it (one pipeline per connection per writeTiles), and Redis executes one
// connection's commands in arrival order. So a request the writer still waits for is applied before any later one.
// What would break that is the client replaying commands on its own, so ioredis runs with: no offline queue (a
// command issued while disconnected fails at once; the writer backs off and retries), no automatic resend of
// unanswered commands after a reconnect, maxRetriesPerRequest 0 (every unanswered command is failed as soon as the
// connection drops, so the writer re-issues it, in order, after everything before it), and no cluster redirection
// of writes (a MOVED reply fails the write; the slot table is refreshed and the writer retries). The connection
// itself reconnects forever. One gap remains: when a connection drops while Redis is alive (a network error, or
// resetConnection() on a slow request), Redis may still hold unread commands of the old connection and run them
// after the first commands of the new one. So each new connection first sends `CLIENT KILL ID <old id> ADDR <old
// address>` (learnt with CLIENT INFO when the old one was set up): Redis frees the old client and drops its unread
// input before it reads anything else from the new connection. (Redis < 6.2 has no CLIENT INFO; an ACL without
// CLIENT KILL refuses it: then that gap stays.) ioredis bounds only the TCP connect of a reconnect, not its ready
// check: a connection opened and never answered would wait for ever, so a write that finds one open but not set up
// past the connect timeout drops it (#nudge).
//
// Redis Cluster: a write batch is split by the master serving each entity's slot (ioredis's slot table), each
// master's share packed into chunks that only hold its own keys, and sent down our connection to that master. A
// script touches keys of several slots of its own node (allowed for scripts without a `#!lua` line); it first reads
// one key of every entity it will write, so that a slot migrated away fails the call before it wrote anything.
// Reads go through ioredis's Cluster: a read script call declares keys of one entity only (one slot), so the Cluster
// routes it and follows MOVED and ASK; read pipelines are one per group of slots with the same nodes;
// entries() and checkpointPartitions() scan every master.
//
// Durability: a write is acknowledged once Redis has applied it in memory. Whether it survives a Redis restart is
// the server's persistence setting (appendonly + appendfsync), which is the operator's — and fencing relies on the
// epochs surviving too; `?wait=N` makes flushed() issue WAIT N (on every master) and fail unless N replicas
// acknowledged every write so far.

import { createHash } from 'node:crypto'
import { type ChainableCommander, Cluster, Redis, type RedisOptions } from 'ioredis'
import { encodeEventKey, IDENTITY_BYTES } from '../codec/event-key.ts'
import { encodeTileKey } from '../codec/tile-key.ts'
import { TilekilnError } from '../errors.ts'
import type { EventPuts } from './event-puts.ts'
import type { PutBatch } from './put-batch.ts'
import {
  datasetHead, dayOf, DAY_MILLIS, DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TTL_SECONDS, fenceField, globLiteral, hashSlot,
  keyPrefix, METADATA_DATASET, metadataKey, parseKey, PARTITION_TAG, partitionTag
} from './redis-layout.ts'
import { APPEND_LUA, CHECKPOINT_LUA, RANGES_LUA, UPSERT_LUA, writeI64BE, writeShort } from './redis-scripts.ts'
import type { RedisStoreOptions } from './redis-spec.ts'
import { checkEpoch, checkPartition, MAX_KEY_BYTES, METADATA_PREFIX, type Fence, type KeyRanges, type StoredCheckpoint, type StoredEvent, type StoredTile, type TileStore, type WriteOutcome } from './store.ts'
import type { TilePuts } from './tile-puts.ts'

export { DAY_MILLIS, dayOf, DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TTL_SECONDS, METADATA_DATASET } from './redis-layout.ts'
export { parseRedisClusterSpec, parseRedisSpec, type RedisStoreOptions } from './redis-spec.ts'

const CHUNK_ENTRIES = 256
const CHUNK_BYTES = 256 * 1024

/**
 * Above this many days a bounded read asks the index which buckets exist (one more round trip) rather than asking
 * every day's bucket (a command per day, ≈10 µs of client time each): 32 keeps windows up to a month in one trip.
 */
const MAX_ENUMERATED_DAYS = 32
/**
 * Above this many possible tiles (what an entity's bounded ranges of one read can hold) its ranges are read as a
 * pipeline of ZRANGEBYSCOREs, below as one RANGES_LUA call. The script costs ioredis half the CPU (one reply, not
 * one per bucket), but Redis copies every member into Lua and back: measured on this machine (2 cores, shared with
 * Redis and loaded), 45 buckets of 2 tiles read in 0.37 ms p50 either way (client CPU 130–170 against 460–500 µs,
 * p99 0.8–7 ms against 17–21 ms); 240 tiles 0.5 against 0.36 ms p50; 1,370 tiles 2.2 against 1.2–1.5 ms; 6,200 tiles
 * 10–27 against 6–8 ms. So the script up to 256, where its median is at most ~0.15 ms behind and its p99 and client
 * CPU ahead: a rolled-up read of one window holds up to ~100 (a 30-day window: 30 day tiles, ≤ 46 hour and ≤ 22
 * five-minute tiles at the edges of its span), a day of five-minute tiles 288 (a pipeline).
 */
const SCRIPT_MAX_TILES = 256
const SCAN_COUNT = 1000
/** How long close() waits for QUIT before it drops the connection (a frozen server never answers). */
const QUIT_MILLIS = 1000
/** How long a read, a checkpoint, an epoch or a metadata request waits for Redis's answer (`?timeout=`). */
export const DEFAULT_REQUEST_TIMEOUT_MILLIS = 10_000

const UPSERT_SHA = createHash('sha1').update(UPSERT_LUA).digest('hex')
const APPEND_SHA = createHash('sha1').update(APPEND_LUA).digest('hex')

/** Errors meaning "this node no longer serves that slot": refresh the slot table, the writer's retry will pass. */
/**
 * The read script as an ioredis command (defineCommand): EVALSHA, and EVAL when Redis answers NOSCRIPT (a restarted
 * or flushed server), so reads need no script loading of their own; the `Buffer` form returns members as bytes.
 */
const READ_RANGES = 'tilekilnReadRanges'
interface ReadRangesCommand { tilekilnReadRangesBuffer: (numKeys: number, ...keysThenArgs: string[]) => Promise<(number | Buffer)[]> }

const TOPOLOGY_ERROR = /MOVED|ASK|CLUSTERDOWN|TRYAGAIN|non local key|not served/i

/** ioredis's connection statuses, as an error message says them. */
const STATUS_WORDS: Record<string, string> = {
  wait: 'not opened yet',
  connecting: 'connecting',
  connect: 'open, waiting for Redis to answer',
  ready: 'open, being set up',
  reconnecting: 'reconnecting',
  close: 'closed',
  end: 'closed for good'
}

/** One connection we write through (the server's, or one master's), and whether it is set up for writes. */
class Link {
  readonly name: string
  readonly client: Redis
  /** Scripts loaded and the previous connection killed on the current connection; its identity is known. */
  setUp = false
  generation = 0

  constructor (name: string, client: Redis) {
    this.name = name
    this.client = client
  }

  /** Since when the link has not been writable (null while it is): for the state an error reports. */
  downSince: number | null = Date.now()
  /** When the current connection was opened (ioredis 'connect'): one open but not set up long after is stuck. */
  openedAt = 0
  detach: () => void = () => {}

  get writable (): boolean { return this.setUp && this.client.status === 'ready' }

  /** The connection's state in a user's words: `reconnecting (attempt 40), not writable for 12.3 s`. */
  state (): string {
    // ioredis counts reconnection attempts in a field its types keep private.
    const tries = (this.client as unknown as { retryAttempts?: number }).retryAttempts ?? 0
    const what = STATUS_WORDS[this.client.status] ?? this.client.status
    const attempts = tries > 0 && this.client.status !== 'ready' ? ` (attempt ${tries})` : ''
    const since = this.downSince === null ? '' : `, not writable for ${((Date.now() - this.downSince) / 1000).toFixed(1)} s`
    return `${what}${attempts}${since}`
  }
}

/** One range of a bucket read: a key's members with fromMillis ≤ score < toMillis in its buckets `…:DAY<suffix>`. */
interface BucketQuery {
  readonly keyBytes: Uint8Array
  /** `:TILESIZE` for tiles, '' for untiled events. */
  readonly suffix: string
  /** The tiles' size; null for events (any number per millisecond). */
  readonly tileSizeMillis: number | null
  readonly fromMillis: number
  readonly toMillis: number
}

/** One entity's share of a bucket read. */
interface EntityRead {
  /** `P{DATASET:b64(key)}:` */
  readonly base: string
  /** Its ranges: the query, score bounds (whole ms), and the days of its buckets (null: the day index says). */
  readonly ranges: { readonly q: number, readonly suffix: string, readonly lo: number, readonly hi: number, days: number[] | null }[]
  /** How many tiles its bounded ranges can hold at most (Infinity for events). */
  tiles: number
}

interface Routed {
  readonly link: Link
  readonly puts: number[]
}

export class RedisStore implements TileStore {
  readonly description: string
  readonly maxKeyBytes = MAX_KEY_BYTES
  /** The client for reads and single-key commands: the server's connection, or the Cluster. */
  readonly #client: Redis | Cluster
  readonly #cluster: Cluster | null
  /** Redis refused the read script (NOPERM): reads go as pipelines of ZRANGEBYSCOREs. */
  #noReadScript = false
  readonly #links = new Map<string, Link>()
  /** The last connection identity (CLIENT INFO id, addr) per node, for the next connection's CLIENT KILL. */
  readonly #identities = new Map<string, { id: string, addr: string }>()
  readonly #p: string
  readonly #ttl: string
  readonly #waitReplicas: number
  readonly #readOnly: boolean
  readonly #connectTimeout: number
  readonly #requestTimeout: number
  readonly #waitTimeout: number
  /** `P{DATASET:` per dataset: the constant head of every key of that dataset. */
  readonly #heads = new Map<string, string>()
  #lastError = ''
  #closed = false
  /** When resetConnection() last destroyed the connections (0: never); a Cluster's reads wait for its masters after it. */
  #resetAt = 0

  constructor (o: RedisStoreOptions) {
    const prefix = o.prefix ?? DEFAULT_REDIS_PREFIX
    this.#p = keyPrefix(prefix)
    const ttl = o.ttlSeconds ?? DEFAULT_REDIS_TTL_SECONDS
    if (!Number.isInteger(ttl) || ttl < 0) throw new TilekilnError('TK_USAGE', `the Redis TTL must be whole seconds ≥ 0, got ${ttl}`)
    this.#ttl = String(ttl)
    this.#waitReplicas = o.waitReplicas ?? 0
    this.#readOnly = o.readOnly === true
    this.#connectTimeout = o.connectTimeoutMillis ?? 10_000
    this.#requestTimeout = o.requestTimeoutMillis ?? DEFAULT_REQUEST_TIMEOUT_MILLIS
    this.#waitTimeout = o.waitTimeoutMillis ?? 10_000
    const query = [`prefix=${encodeURIComponent(prefix)}`, ttl !== DEFAULT_REDIS_TTL_SECONDS ? `ttl=${ttl}` : '', this.#waitReplicas > 0 ? `wait=${this.#waitReplicas}` : '',
      this.#requestTimeout !== DEFAULT_REQUEST_TIMEOUT_MILLIS ? `timeout=${this.#requestTimeout}ms` : ''].filter(s => s !== '')
    const hostPort = (h: string, p: number): string => `${h.includes(':') ? `[${h}]` : h}:${p}`
    const scheme = o.tls === true ? 'rediss' : 'redis'
    const common: RedisOptions = {
      username: o.username,
      password: o.password,
      tls: o.tls === true ? {} : undefined,
      // The ordering contract above: fail fast, never replay.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#connectTimeout
    }
    // Reconnect forever: an outage must slow the engine down, not end it.
    const retry = (times: number): number => Math.min(50 * times, 1000)
    if (o.cluster === undefined) {
      this.description = `${scheme}://${hostPort(o.host, o.port)}/${o.db}?${query.join('&')}`
      const client = new Redis({ ...common, host: o.host, port: o.port, db: o.db, enableOfflineQueue: false, retryStrategy: retry, lazyConnect: false })
      this.#client = client
      this.#cluster = null
      client.defineCommand(READ_RANGES, { lua: RANGES_LUA })
      this.#addLink(hostPort(o.host, o.port), client)
    } else {
      this.description = `${scheme}+cluster://${o.cluster.map(n => hostPort(n.host, n.port)).join(',')}?${query.join('&')}`
      const cluster = new Cluster(o.cluster.map(n => ({ host: n.host, port: n.port })), {
        redisOptions: common,
        enableOfflineQueue: false,
        clusterRetryStrategy: times => Math.min(100 * times, 2000),
        // Node connections reconnect in place (the default drops them and waits for a MOVED).
        clusterNodeRetryStrategy: retry,
        slotsRefreshTimeout: this.#connectTimeout,
        retryDelayOnClusterDown: 100,
        retryDelayOnFailover: 100,
        scaleReads: 'master',
        lazyConnect: false
      })
      this.#client = cluster
      this.#cluster = cluster
      cluster.defineCommand(READ_RANGES, { lua: RANGES_LUA })
      cluster.on('+node', (node: Redis) => { this.#masterAdded(node) })
      // Only the link of that very client: a node dropped and added again under the same name has a new link by now.
      cluster.on('-node', (node: Redis, key: string) => { if (this.#links.get(key)?.client === node) this.#retire(key) })
      cluster.on('ready', () => { this.#adoptMasters() })
      cluster.on('error', (e: Error) => { this.#lastError = e.message })
    }
  }

  #masterAdded (node: Redis): void {
    if (node.options.readOnly === true) return
    const name = `${node.options.host!}:${node.options.port!}`
    if (this.#links.get(name)?.client === node) return
    this.#retire(name)
    this.#addLink(name, node)
    // Cluster node connections are lazy: connect now, so the first write finds them ready.
    if (node.status === 'wait') node.connect().catch(() => {})
  }

  /** A link for every master the Cluster holds now (one it already has is kept). */
  #adoptMasters (): void {
    for (const n of this.#cluster?.nodes('master') ?? []) this.#masterAdded(n)
  }

  #addLink (name: string, client: Redis): void {
    const link = new Link(name, client)
    this.#links.set(name, link)
    // On a cluster, which master it was; ioredis's own messages name the address only for connection refusals.
    const onError = (e: Error): void => { this.#lastError = this.#cluster === null ? e.message : `${name}: ${e.message}` }
    const onClose = (): void => { link.setUp = false; link.generation++; link.downSince ??= Date.now() }
    const onReady = (): void => { this.#setUp(link).catch(() => {}) }
    const onConnect = (): void => { link.openedAt = Date.now() }
    client.on('error', onError)
    client.on('close', onClose)
    client.on('connect', onConnect)
    // ioredis announces 'ready' a tick after it starts accepting commands, so writes wait for this listener.
    client.on('ready', onReady)
    link.detach = () => { client.off('error', onError); client.off('close', onClose); client.off('ready', onReady); client.off('connect', onConnect) }
    if (client.status === 'connect' || client.status === 'ready') link.openedAt = Date.now()
    if (client.status === 'ready') this.#setUp(link).catch(() => {})
  }

  /**
   * Forgets the link to a node whose client the Cluster replaced or dropped. Its listeners go (a retired client's
   * reconnect must not run #setUp, whose CLIENT KILL would then kill the live link's connection), and so does its
   * connection: a client the Cluster no longer holds is closed by nobody else, and would keep the process alive.
   */
  #retire (name: string): void {
    const old = this.#links.get(name)
    if (old === undefined) return
    this.#links.delete(name)
    old.detach()
    if (old.client.status !== 'end') old.client.disconnect()
  }

  /**
   * First commands of a new connection, ahead of any write on it: load the scripts (a fresh or restarted server has
   * none), kill our previous connection to this node (the ordering gap above), and learn this one's identity.
   */
  async #setUp (link: Link): Promise<void> {
    const generation = ++link.generation
    link.setUp = false
    const c = link.client
    c.script('LOAD', UPSERT_LUA).catch((e: Error) => { this.#lastError = e.message })
    c.script('LOAD', APPEND_LUA).catch((e: Error) => { this.#lastError = e.message })
    const previous = this.#identities.get(link.name)
    if (previous !== undefined) c.call('CLIENT', 'KILL', 'ID', previous.id, 'ADDR', previous.addr).catch(() => {})
    try {
      const info = String(await c.call('CLIENT', 'INFO'))
      const id = /(?:^|\s)id=(\d+)/.exec(info)?.[1]
      const addr = /(?:^|\s)addr=(\S+)/.exec(info)?.[1]
      if (id !== undefined && addr !== undefined) this.#identities.set(link.name, { id, addr })
    } catch {
      this.#identities.delete(link.name)
    }
    if (generation === link.generation && c.status === 'ready') {
      link.setUp = true
      link.downSince = null
    }
  }

  #head (dataset: string): string {
    let h = this.#heads.get(dataset)
    if (h === undefined) {
      h = datasetHead(this.#p, dataset)
      this.#heads.set(dataset, h)
    }
    return h
  }

  #error (what: string, dataset: string | undefined, cause?: unknown, state?: string): TilekilnError {
    let why = cause instanceof Error ? cause.message : `connection ${this.#client.status}`
    // ioredis's words for our fail-fast settings, in the user's terms (the original stays in `cause`).
    if (/Stream isn't writeable|max retries per request|Connection is closed/i.test(why) || cause === undefined) {
      why = `the connection to Redis is down${this.#lastError !== '' ? ` (last error: ${this.#lastError})` : ''}${state !== undefined ? `; it is ${state}` : ''}`
    }
    return new TilekilnError('TK_STORE', `${what}: ${why}`, { store: this.description, dataset }, { cause })
  }

  #readOnlyError (what: string, dataset?: string): TilekilnError {
    return new TilekilnError('TK_STORE', `cannot ${what}: the store was opened read-only`, { store: this.description, dataset, fatal: true })
  }

  /** Reads wait for the connection (start-up, reconnects) up to the connect timeout; writes never wait. */
  async #ready (what: string, dataset?: string): Promise<void> {
    if (this.#closed) throw new TilekilnError('TK_STORE', `${what}: the store is closed`, { store: this.description, dataset })
    // A connection just reset (resetConnection) still says 'ready' until its close event: wait for the new one.
    if (this.#client.status === 'ready' && (this.#cluster !== null || (this.#client as Redis).stream?.destroyed !== true)) {
      if (this.#cluster !== null) await this.#mastersBack()
      return
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.#client.off('ready', onReady); reject(this.#error(`${what}: no connection to Redis within ${this.#connectTimeout} ms`, dataset)) }, this.#connectTimeout)
      const onReady = (): void => { clearTimeout(timer); resolve() }
      this.#client.once('ready', onReady)
    })
  }

  /**
   * After resetConnection() a Cluster still says 'ready' while the masters' connections it destroyed reconnect, and
   * a command sent to one of them fails at once ("the connection to Redis is down"). Waits until every master is
   * ready again, for at most the connect timeout from the reset; then goes on either way: a master that stays down
   * fails the commands sent to it, not those of the others. Costs nothing when no reset is recent.
   */
  async #mastersBack (): Promise<void> {
    await pollUntil(() => this.#closed || this.#cluster!.nodes('master').every(n => n.status === 'ready' && n.stream?.destroyed !== true), this.#resetAt + this.#connectTimeout, 10)
  }

  /** Resolves once connected, on a cluster to every master (at most the connect timeout). Writes never wait. */
  async connected (): Promise<void> {
    await this.#ready('Redis connection failed')
    const everyMaster = (): boolean => {
      const masters = this.#cluster === null ? [...this.#links.values()] : this.#cluster.nodes('master').map(n => { this.#masterAdded(n); return this.#links.get(`${n.options.host!}:${n.options.port!}`)! })
      return masters.length > 0 && masters.every(l => l.writable)
    }
    if (!await pollUntil(everyMaster, Date.now() + this.#connectTimeout, 20)) throw this.#error(`Redis connection failed: not every master was ready within ${this.#connectTimeout} ms`, undefined)
  }

  /**
   * Drops every write connection (they reconnect): requests pending on them fail now instead of hanging. The socket
   * is destroyed, not ended: a frozen server would never complete a graceful close.
   */
  resetConnection (): void {
    this.#resetAt = Date.now()
    for (const link of this.#links.values()) {
      link.setUp = false
      const stream = link.client.stream as { destroy?: () => void } | undefined
      if (stream?.destroy !== undefined) stream.destroy()
      else link.client.disconnect(true)
    }
  }

  /**
   * `request`, or an error once Redis has not answered it for the request timeout. A frozen server, or a connection
   * whose peer vanished without a reset (TCP gives up on it only after ~15 minutes), would otherwise hold a read, a
   * checkpoint or an epoch for ever: `serve` would pile up requests, a hand-over would stall. Then the connections
   * are reset (as the KvWriter does for a slow write): commands pending on them fail, and they reconnect, so the next
   * request finds a live connection as soon as there is one. Tile and event writes are the KvWriter's to bound.
   */
  async #answered<T> (request: Promise<T>, timeoutMillis = this.#requestTimeout): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    let answered = false
    const silent = new Promise<never>((_resolve, reject) => {
      // Judged after this turn's poll phase (setImmediate): when the process itself did not run for a while, the
      // expired timer runs before the answer that came meanwhile is read, and an answered request must win.
      timer = setTimeout(() => setImmediate(() => {
        if (answered) return
        // Open ('ready') is what a silent peer looks like; any other state says more.
        const status = this.#client.status
        const state = this.#cluster === null && status !== 'ready' ? ` (the connection was ${STATUS_WORDS[status] ?? status})` : ''
        if (!this.#closed) this.resetConnection()
        this.#lastError = `no answer within ${timeoutMillis} ms; the connections were reset`
        reject(new Error(`Redis did not answer within ${timeoutMillis.toLocaleString('en-US')} ms${state}; the connections were reset and reconnect (a frozen or unreachable server answers nothing; a slow one needs a longer ?timeout= on the store)`))
      }), timeoutMillis)
    })
    try {
      return await Promise.race([request, silent])
    } finally {
      answered = true
      clearTimeout(timer)
    }
  }

  /**
   * A write found this link down: move it along where ioredis would not by itself. A lazy cluster node waits for a
   * first command, so connect it; a client ended under us is dropped for the Cluster's current one; a connection
   * open but not set up (or not through ioredis's ready check) for longer than the connect timeout is stuck on an
   * unanswered command, so drop it and let it reconnect.
   */
  #nudge (link: Link): void {
    const c = link.client
    if (c.status === 'wait') {
      c.connect().catch(() => {})
    } else if (c.status === 'end' && this.#cluster !== null) {
      this.#retire(link.name)
      this.#adoptMasters()
      this.#cluster.refreshSlotsCache()
    } else if ((c.status === 'connect' || c.status === 'ready') && link.openedAt > 0 && Date.now() - link.openedAt > this.#connectTimeout) {
      this.#lastError = `${link.name}: the connection was open but not ready for ${this.#connectTimeout} ms; reconnecting`
      link.openedAt = 0
      c.disconnect(true)
    }
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  /** The write connection of every put, grouped (each group in the batch's order). */
  #route (tags: readonly string[], what: string, dataset: string): Routed[] {
    if (this.#cluster === null) {
      const link = this.#links.values().next().value!
      if (!link.writable) {
        this.#nudge(link)
        throw this.#error(what, dataset, undefined, link.state())
      }
      return [{ link, puts: tags.map((_, i) => i) }]
    }
    const slots = this.#cluster.slots
    const groups = new Map<Link, number[]>()
    for (let i = 0; i < tags.length; i++) {
      const name = slots[hashSlot(tags[i]!)]?.[0]
      const link = name === undefined ? undefined : this.#links.get(name)
      if (link === undefined || !link.writable) {
        if (link !== undefined) this.#nudge(link)
        else {
          // A master the Cluster holds without a link of ours: take it on; else ask the Cluster for the slot table.
          this.#adoptMasters()
          this.#cluster.refreshSlotsCache()
        }
        throw this.#error(what, dataset, new Error(name === undefined
          ? 'the cluster has no master for a slot (CLUSTERDOWN?)'
          : `the connection to master ${name} is ${link === undefined ? 'not open (the cluster client holds none)' : link.state()}${this.#lastError !== '' ? ` (last error: ${this.#lastError})` : ''}`))
      }
      let g = groups.get(link)
      if (g === undefined) groups.set(link, g = [])
      g.push(i)
    }
    return [...groups].map(([link, puts]) => ({ link, puts }))
  }

  /**
   * The one write path of tiles and events: routes the puts, packs each connection's share into chunks of script
   * calls, sends one pipeline per connection (each written to its socket before this returns its promise, so calls
   * are applied in call order), and checks every reply. Returns the partitions whose tiles were refused.
   */
  async #writeBatch (batch: PutBatch, dataset: string, kind: 'tile' | 'event', score: (i: number) => number, member: (buf: Buffer, at: number, i: number) => number, memberBytes: (i: number) => number, tileSize: string, fence: Fence | undefined): Promise<number[]> {
    const what = `Redis write of ${batch.count} ${kind}(s) failed`
    if (this.#readOnly) throw this.#readOnlyError(`write ${kind}s`, dataset)
    if (batch.count === 0) return []
    const head = this.#head(dataset)
    const bytes = batch.bytes
    const b64: string[] = new Array(batch.count)
    for (let i = 0; i < batch.count; i++) b64[i] = Buffer.from(bytes.buffer, bytes.byteOffset + batch.keyOffset(i), batch.keyLength(i)).toString('base64')
    const routed = this.#route(this.#cluster === null ? b64 : b64.map(k => head + k + '}'), what, dataset)
    const check = this.#cluster === null ? '0' : '1'
    // The fence field of a tile is `PARTITION@SCOPE` (fenceField): the script appends this suffix to the partition.
    const suffix = fence === undefined || fence.epochs.size === 0 ? '' : fenceField(fence.scope, 0).slice(1)
    const tiles = kind === 'tile'
    const sent: { link: Link, pipeline: Promise<[Error | null, unknown][] | null>, sizes: number[] }[] = []
    for (const { link, puts } of routed) {
      const pipeline = link.client.pipeline()
      const sizes: number[] = []
      let k = 0
      while (k < puts.length) {
        let need = 0
        const first = k
        // Upper bound per entry: 4 + base64 + 2 × (1 + ≤ 21 decimal digits) + 4 + member (+ partition and epoch).
        for (; k < puts.length && k - first < CHUNK_ENTRIES && (k === first || need < CHUNK_BYTES); k++) {
          need += 4 + b64[puts[k]!]!.length + 2 * 22 + 4 + memberBytes(puts[k]!) + (tiles ? 2 * 22 : 0)
        }
        const pack = Buffer.allocUnsafe(need)
        let at = 0
        for (let j = first; j < k; j++) {
          const i = puts[j]!
          const s = score(i)
          const key = b64[i]!
          pack.writeUInt32BE(key.length, at)
          at += 4 + pack.write(key, at + 4, 'latin1')
          at = writeShort(pack, at, String(dayOf(s)))
          at = writeShort(pack, at, String(s))
          const end = member(pack, at + 4, i)
          pack.writeUInt32BE(end - at - 4, at)
          at = end
          if (tiles) {
            const p = batch.partition(i)
            const epoch = suffix === '' ? undefined : fence!.epochs.get(p)
            at = writeShort(pack, at, epoch === undefined ? '' : String(p))
            at = writeShort(pack, at, epoch === undefined ? '' : String(epoch))
          }
        }
        const s0 = score(puts[first]!)
        const routing = `${head}${b64[puts[first]!]!}}:${dayOf(s0)}${tileSize}`
        if (tiles) pipeline.evalsha(UPSERT_SHA, 1, routing, this.#ttl, head, tileSize, suffix, check, pack.subarray(0, at))
        else pipeline.evalsha(APPEND_SHA, 1, routing, this.#ttl, head, check, pack.subarray(0, at))
        sizes.push(k - first)
      }
      sent.push({ link, pipeline: pipeline.exec(), sizes })
    }
    const fenced = new Set<number>()
    let failure: TilekilnError | null = null
    for (const { link, pipeline, sizes } of sent) {
      let results: [Error | null, unknown][] | null
      try {
        results = await pipeline
      } catch (e) {
        failure ??= this.#error(what, dataset, e)
        continue
      }
      const bad = this.#failed(results, link, what, dataset)
      if (bad !== null) { failure ??= bad; continue }
      for (let c = 0; c < sizes.length; c++) {
        const reply = results![c]![1] as unknown[]
        const written = Number(reply[0])
        const refused = Number(reply[1])
        if (written + refused !== sizes[c]) {
          failure ??= new TilekilnError('TK_INTERNAL', `the Redis ${kind} script handled ${written + refused} of ${sizes[c]!} ${kind}(s)`, { store: this.description, dataset })
        }
        for (let r = 2; r < reply.length; r++) fenced.add(Number(reply[r]))
      }
    }
    if (failure !== null) throw failure
    return [...fenced].sort((a, b) => a - b)
  }

  /** The first error in a pipeline's replies as a TilekilnError (and the repair it calls for), or null. */
  #failed (results: [Error | null, unknown][] | null, link: Link | null, what: string, dataset?: string): TilekilnError | null {
    if (results === null) return this.#error(what, dataset)
    let failed = 0
    let first: Error | null = null
    for (const [e] of results) {
      if (e !== null) { failed++; first ??= e }
    }
    if (first === null) return null
    if (first.message.includes('NOSCRIPT') && link !== null) {
      // Scripts were flushed under us (SCRIPT FLUSH, failover): load them again; the writer's retry will pass.
      link.client.script('LOAD', UPSERT_LUA).catch(() => {})
      link.client.script('LOAD', APPEND_LUA).catch(() => {})
    }
    if (this.#cluster !== null && TOPOLOGY_ERROR.test(first.message)) this.#cluster.refreshSlotsCache()
    return this.#error(`${what} (${failed} of ${results.length} command(s))`, dataset, first)
  }

  async writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts, fence?: Fence): Promise<WriteOutcome> {
    const bytes = puts.bytes
    const fenced = await this.#writeBatch(puts, dataset, 'tile', i => puts.tileStart(i), (buf, at, i) => {
      writeI64BE(buf, puts.latest(i), at)
      const len = puts.valueLength(i)
      buf.set(bytes.subarray(puts.valueOffset(i), puts.valueOffset(i) + len), at + 8)
      return at + 8 + len
    }, i => 8 + puts.valueLength(i), `:${tileSizeMillis}`, fence)
    return { fenced }
  }

  async appendEvents (dataset: string, events: EventPuts): Promise<void> {
    const bytes = events.bytes
    await this.#writeBatch(events, dataset, 'event', i => events.tsMillis(i), (buf, at, i) => {
      buf.set(events.identity(i), at)
      const len = events.valueLength(i)
      buf.set(bytes.subarray(events.valueOffset(i), events.valueOffset(i) + len), at + IDENTITY_BYTES)
      return at + IDENTITY_BYTES + len
    }, i => IDENTITY_BYTES + events.valueLength(i), '', undefined)
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  async readEvents (dataset: string, keyBytes: Uint8Array, fromMillis: number, toMillis: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = []
    await this.#readBuckets(dataset, [{ keyBytes, suffix: '', tileSizeMillis: null, fromMillis, toMillis }], (_q, member, score) => {
      out.push({ tsMillis: score, identity: member.subarray(0, IDENTITY_BYTES), value: member.subarray(IDENTITY_BYTES) })
    })
    return out
  }

  async readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]> {
    return (await this.readTileRanges(dataset, [{ keyBytes, ranges: [{ tileSizeMillis, fromMillis, toMillis }] }]))[0]![0]!
  }

  /**
   * One request per entity for all its ranges (a RANGES_LUA call, or a pipeline for ranges that can hold many
   * tiles: #readBuckets), every entity's issued at once: one round trip for a key's whole tile cover, or for many
   * keys'. On a cluster each goes to the master of its entity's slot.
   */
  async readTileRanges (dataset: string, reads: readonly KeyRanges[]): Promise<StoredTile[][][]> {
    const queries: BucketQuery[] = []
    const out: StoredTile[][][] = []
    for (const r of reads) {
      const tiles: StoredTile[][] = []
      for (const g of r.ranges) {
        queries.push({ keyBytes: r.keyBytes, suffix: `:${g.tileSizeMillis}`, tileSizeMillis: g.tileSizeMillis, fromMillis: g.fromMillis, toMillis: g.toMillis })
        tiles.push([])
      }
      out.push(tiles)
    }
    const lists = out.flat()
    await this.#readBuckets(dataset, queries, (q, m, tileStartMillis) => {
      const list = lists[q]!
      const tile = { tileStartMillis, latestMillis: readI64(m), value: m.subarray(8) }
      // Only a foreign, non-atomic writer (Zipline's ZREMRANGEBYSCORE then ZADD) can leave two members at one
      // score; a tile must not count twice, so keep one.
      if (list.length > 0 && list[list.length - 1]!.tileStartMillis === tileStartMillis) list[list.length - 1] = tile
      else list.push(tile)
    })
    return out
  }

  /**
   * The members with from ≤ score < to of each query's day buckets (`suffix` = `:TILESIZE` for tiles, '' for
   * events), handed to `each` with the query's index, in ascending (score, member) order per query. Per entity, all
   * its ranges in one RANGES_LUA call, or — when they may hold more than SCRIPT_MAX_TILES tiles, and for events — in
   * one pipeline of ZRANGEBYSCOREs (see SCRIPT_MAX_TILES); every entity's request issued at once.
   */
  async #readBuckets (dataset: string, queries: readonly BucketQuery[], each: (q: number, member: Uint8Array, score: number) => void): Promise<void> {
    await this.#ready('Redis read failed', dataset)
    const head = this.#head(dataset)
    const entities = new Map<Uint8Array, EntityRead>()
    for (let q = 0; q < queries.length; q++) {
      const { keyBytes, suffix, tileSizeMillis, fromMillis, toMillis } = queries[q]!
      // Scores are whole milliseconds: the first and last possible ones in [from, to).
      const lo = Number.isFinite(fromMillis) ? Math.ceil(fromMillis) : fromMillis
      const hi = Number.isFinite(toMillis) ? Math.ceil(toMillis) - 1 : toMillis
      if (!(fromMillis < toMillis) || !(lo <= hi)) continue
      let e = entities.get(keyBytes)
      if (e === undefined) entities.set(keyBytes, e = { base: head + Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength).toString('base64') + '}:', ranges: [], tiles: 0 })
      let days: number[] | null = null
      if (Number.isFinite(lo) && Number.isFinite(hi) && (dayOf(hi) - dayOf(lo)) / DAY_MILLIS < MAX_ENUMERATED_DAYS) {
        days = []
        for (let d = dayOf(lo); d <= dayOf(hi); d += DAY_MILLIS) days.push(d)
        e.tiles += tileSizeMillis === null ? Infinity : Math.floor((hi - lo) / tileSizeMillis) + 1
      }
      // Events: any number per millisecond, so never the script (it copies every member through Lua).
      if (tileSizeMillis === null) e.tiles = Infinity
      e.ranges.push({ q, suffix, lo, hi, days })
    }
    const scripted: EntityRead[] = []
    const pipelined: EntityRead[] = []
    for (const e of entities.values()) (e.tiles > SCRIPT_MAX_TILES || this.#noReadScript ? pipelined : scripted).push(e)
    await Promise.all([...scripted.map(async e => { await this.#readScriptedOrPipelined(dataset, e, each) }), this.#readPipelined(dataset, pipelined, each)])
  }

  /**
   * #readScripted, or — when the user may read but not run scripts (an ACL without @scripting: a read-only reader's
   * usual rights) — the same ranges as a pipeline, from then on for every read of this store.
   */
  async #readScriptedOrPipelined (dataset: string, e: EntityRead, each: (q: number, member: Uint8Array, score: number) => void): Promise<void> {
    if (!this.#noReadScript) {
      try {
        await this.#readScripted(dataset, e, each)
        return
      } catch (err) {
        if (!(err instanceof Error && /NOPERM/.test(err.message))) throw err
        this.#noReadScript = true
      }
    }
    await this.#readPipelined(dataset, [e], each)
  }

  /** One entity's ranges in one RANGES_LUA call. */
  async #readScripted (dataset: string, e: EntityRead, each: (q: number, member: Uint8Array, score: number) => void): Promise<void> {
    const keys: string[] = []
    const args: string[] = [e.base]
    for (const { suffix, lo, hi, days } of e.ranges) {
      if (days !== null) {
        for (const d of days) keys.push(e.base + String(d) + suffix)
        args.push(String(days.length), bound(lo), bound(hi))
      } else {
        // Unbounded (or very long): the index says which buckets exist, read inside the script. A bucket created
        // after the script ran holds only entries written after the read began.
        keys.push(e.base + 'days' + suffix)
        args.push('-1', bound(lo), bound(hi), bound(Number.isFinite(lo) ? dayOf(lo) : lo), bound(Number.isFinite(hi) ? dayOf(hi) : hi), suffix)
      }
    }
    let reply: (number | Buffer)[]
    try {
      reply = await this.#answered((this.#client as unknown as ReadRangesCommand).tilekilnReadRangesBuffer(keys.length, ...keys, ...args))
    } catch (err) {
      if (this.#cluster !== null && err instanceof Error && TOPOLOGY_ERROR.test(err.message)) this.#cluster.refreshSlotsCache()
      throw this.#error('Redis read failed', dataset, err)
    }
    let at = 0
    for (const { q } of e.ranges) {
      const n = reply[at++] as number
      for (let i = at; i < at + n; i += 2) {
        const m = reply[i] as Buffer
        each(q, new Uint8Array(m.buffer, m.byteOffset, m.length), Number((reply[i + 1] as Buffer).toString('latin1')))
      }
      at += n
    }
  }

  /**
   * Entities' ranges as ZRANGEBYSCOREs, one pipeline per group of slots served by the same nodes (one on a server);
   * ranges without a lower bound ask their day index first, all in one pipeline before.
   */
  async #readPipelined (dataset: string, entities: readonly EntityRead[], each: (q: number, member: Uint8Array, score: number) => void): Promise<void> {
    if (entities.length === 0) return
    try {
      const indexed = entities.flatMap(e => e.ranges.filter(r => r.days === null).map(r => ({ e, r })))
      if (indexed.length > 0) {
        const replies = await this.#pipelines(dataset, indexed.map(({ e, r }) => ({
          tag: e.base,
          command: (pl: ChainableCommander) => pl.zrangebyscore(e.base + 'days' + r.suffix, bound(Number.isFinite(r.lo) ? dayOf(r.lo) : r.lo), bound(Number.isFinite(r.hi) ? dayOf(r.hi) : r.hi))
        })))
        indexed.forEach(({ r }, i) => { r.days = (replies[i] as string[]).map(Number) })
      }
      const owners: number[] = []
      const commands: { tag: string, command: (pl: ChainableCommander) => unknown }[] = []
      for (const e of entities) {
        for (const r of e.ranges) {
          const min = bound(r.lo)
          const max = bound(r.hi)
          for (const d of r.days!) {
            owners.push(r.q)
            commands.push({ tag: e.base, command: pl => pl.zrangebyscoreBuffer(e.base + String(d) + r.suffix, min, max, 'WITHSCORES') })
          }
        }
      }
      if (commands.length === 0) return
      const replies = await this.#pipelines(dataset, commands)
      for (let c = 0; c < replies.length; c++) {
        const reply = replies[c] as Buffer[]
        const q = owners[c]!
        for (let i = 0; i < reply.length; i += 2) {
          const m = reply[i]!
          each(q, new Uint8Array(m.buffer, m.byteOffset, m.length), Number(reply[i + 1]!.toString('latin1')))
        }
      }
    } catch (e) {
      if (e instanceof TilekilnError) throw e
      throw this.#error('Redis read failed', dataset, e)
    }
  }

  /**
   * Sends read commands in one pipeline per group of slots served by the same nodes (one pipeline on a server; an
   * entity's keys share a slot, so one entity's commands are in one pipeline), all at once, and returns their
   * replies in the order of `commands` (`tag` is a key of the command's entity: its hash tag picks the slot).
   */
  async #pipelines (dataset: string, commands: readonly { tag: string, command: (pl: ChainableCommander) => unknown }[]): Promise<unknown[]> {
    const groups = new Map<string, number[]>()
    if (this.#cluster === null) {
      groups.set('', commands.map((_, i) => i))
    } else {
      const slots = this.#cluster.slots
      const slotOf = new Map<string, number>()
      for (let i = 0; i < commands.length; i++) {
        const tag = commands[i]!.tag
        let slot = slotOf.get(tag)
        if (slot === undefined) slotOf.set(tag, slot = hashSlot(tag))
        // ioredis sends a pipeline to one node: it takes keys whose slots are served by the same nodes.
        const nodes = slots[slot]?.join(',') ?? `slot ${slot}`
        let g = groups.get(nodes)
        if (g === undefined) groups.set(nodes, g = [])
        g.push(i)
      }
    }
    const replies: unknown[] = new Array(commands.length)
    await Promise.all([...groups.values()].map(async members => {
      const pipeline = this.#client.pipeline()
      for (const i of members) commands[i]!.command(pipeline)
      const results = await this.#answered(pipeline.exec())
      const bad = this.#failed(results, null, 'Redis read failed', dataset)
      if (bad !== null) throw bad
      members.forEach((i, j) => { replies[i] = results![j]![1] })
    }))
    return replies
  }

  async putMetadata (name: string, value: string): Promise<void> {
    if (this.#readOnly) throw this.#readOnlyError('write metadata', METADATA_DATASET)
    await this.#ready('Redis metadata write failed', METADATA_DATASET)
    const v = Buffer.from(value, 'utf8')
    const stored = Buffer.allocUnsafe(8 + v.length)
    writeI64BE(stored, Date.now(), 0)
    v.copy(stored, 8)
    try {
      await this.#answered(this.#client.set(metadataKey(this.#p, name), stored))
    } catch (e) {
      throw this.#error(`Redis metadata write of '${name}' failed`, METADATA_DATASET, e)
    }
  }

  async getMetadata (name: string): Promise<string | undefined> {
    await this.#ready('Redis metadata read failed', METADATA_DATASET)
    let stored: Buffer | null
    try {
      stored = await this.#answered(this.#client.getBuffer(metadataKey(this.#p, name)))
    } catch (e) {
      throw this.#error(`Redis metadata read of '${name}' failed`, METADATA_DATASET, e)
    }
    if (stored === null) return undefined
    if (stored.length < 8) throw new TilekilnError('TK_STORE', `malformed metadata '${name}' in Redis: ${stored.length} bytes, expected ≥ 8`, { store: this.description, dataset: METADATA_DATASET })
    return stored.toString('utf8', 8)
  }

  // ---- scale-out bookkeeping ---------------------------------------------------------------------------------

  async acquireEpoch (scope: string, partition: number): Promise<number> {
    checkPartition(partition)
    if (this.#readOnly) throw this.#readOnlyError('acquire an epoch')
    await this.#ready('Redis epoch update failed')
    try {
      return await this.#answered(this.#client.incr(partitionTag(this.#p, scope, partition) + 'epoch'))
    } catch (e) {
      throw this.#error(`Redis epoch update of partition ${partition} failed`, undefined, e)
    }
  }

  async readCheckpoint (scope: string, partition: number): Promise<StoredCheckpoint | null> {
    checkPartition(partition)
    await this.#ready('Redis checkpoint read failed')
    let v: Buffer | null
    try {
      v = await this.#answered(this.#client.getBuffer(partitionTag(this.#p, scope, partition) + 'checkpoint'))
    } catch (e) {
      throw this.#error(`Redis checkpoint read of partition ${partition} failed`, undefined, e)
    }
    if (v === null) return null
    if (v.length < 8) throw new TilekilnError('TK_STORE', `malformed checkpoint of partition ${partition} in Redis: ${v.length} bytes`, { store: this.description, partition })
    const hi = v.readInt32BE(0)
    return { epoch: hi * 4294967296 + v.readUInt32BE(4), bytes: new Uint8Array(v.buffer, v.byteOffset + 8, v.length - 8) }
  }

  async writeCheckpoint (scope: string, partition: number, epoch: number, bytes: Uint8Array): Promise<boolean> {
    checkPartition(partition)
    checkEpoch(epoch)
    if (this.#readOnly) throw this.#readOnlyError('write a checkpoint')
    await this.#ready('Redis checkpoint write failed')
    const tag = partitionTag(this.#p, scope, partition)
    const value = Buffer.allocUnsafe(8 + bytes.length)
    writeI64BE(value, epoch, 0)
    value.set(bytes, 8)
    try {
      return await this.#answered(this.#client.eval(CHECKPOINT_LUA, 2, tag + 'epoch', tag + 'checkpoint', String(epoch), value)) === 1
    } catch (e) {
      throw this.#error(`Redis checkpoint write of partition ${partition} failed`, undefined, e)
    }
  }

  async checkpointPartitions (scope: string): Promise<number[]> {
    const head = `${this.#p}{${PARTITION_TAG}:${Buffer.from(scope, 'utf8').toString('base64')}:`
    const out = new Set<number>()
    for await (const keys of this.#scan(globLiteral(head) + '*}:checkpoint', 'Redis checkpoint scan failed')) {
      for (const { key } of keys) {
        const p = key.slice(head.length, key.indexOf('}', head.length))
        if (/^\d+$/.test(p)) out.add(Number(p))
      }
    }
    return [...out].sort((a, b) => a - b)
  }

  // ---- everything --------------------------------------------------------------------------------------------

  /** The masters to scan: the server, or every master of the cluster. */
  #nodes (): Redis[] {
    return this.#cluster === null ? [this.#client as Redis] : this.#cluster.nodes('master')
  }

  /** SCAN pages (keys matching `pattern` and the node holding them), every master in turn. */
  async * #scan (pattern: string, what: string): AsyncIterable<{ key: string, node: Redis }[]> {
    await this.#ready(what)
    for (const node of this.#nodes()) {
      let cursor = '0'
      do {
        let keys: string[]
        try {
          [cursor, keys] = await this.#answered(node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT))
        } catch (e) {
          throw this.#error(what, undefined, e)
        }
        if (keys.length > 0) yield keys.map(key => ({ key, node }))
      } while (cursor !== '0')
    }
  }

  /**
   * SCAN over our prefix, master by master, a page of keys at a time: memory holds one page, whatever the store's
   * size. SCAN may report a key twice when Redis resizes its table meanwhile, and so may this (identical entries;
   * `tilekiln dump` drops repeated lines).
   */
  async * entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    const utf8 = new TextEncoder()
    for await (const page of this.#scan(globLiteral(this.#p) + '{*', 'Redis scan failed')) {
      const batch = page.flatMap(({ key, node }) => {
        const parsed = parseKey(this.#p, key)
        return parsed === null || parsed.kind === 'bookkeeping' ? [] : [{ key, node, parsed }]
      })
      if (batch.length === 0) continue
      let results: [Error | null, unknown][] | null
      try {
        const pipeline = batch[0]!.node.pipeline()
        for (const { key, parsed } of batch) {
          if (parsed.kind === 'metadata') pipeline.getBuffer(key)
          else pipeline.zrangeBuffer(key, 0, -1, 'WITHSCORES')
        }
        results = await this.#answered(pipeline.exec())
      } catch (e) {
        throw this.#error('Redis scan failed', undefined, e)
      }
      const bad = this.#failed(results, null, 'Redis scan failed')
      if (bad !== null) throw bad
      for (let j = 0; j < batch.length; j++) {
        const { parsed } = batch[j]!
        const reply = results![j]![1]
        if (parsed.kind === 'metadata') {
          const v = reply as Buffer | null
          if (v !== null && v.length >= 8) yield [utf8.encode(METADATA_PREFIX + parsed.name), new Uint8Array(v.buffer, v.byteOffset + 8, v.length - 8)]
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
    }
  }

  /**
   * Every write already resolved once Redis applied it (in memory). Durable storage is Redis's persistence, which
   * the operator configures; with `wait=N`, this also waits until N replicas of every master have every write so far
   * (WAIT on each write connection: it counts that connection's writes).
   */
  async flushed (): Promise<void> {
    if (this.#waitReplicas === 0) return
    await this.#ready('Redis WAIT failed')
    for (const link of this.#links.values()) {
      let acked: number
      try {
        // WAIT's own timeout is the server's: a frozen server never answers it.
        acked = await this.#answered(link.client.wait(this.#waitReplicas, this.#waitTimeout), this.#waitTimeout + this.#requestTimeout)
      } catch (e) {
        throw this.#error('Redis WAIT failed', undefined, e)
      }
      if (acked < this.#waitReplicas) {
        throw new TilekilnError('TK_STORE', `only ${acked} of ${this.#waitReplicas} Redis replica(s)${this.#cluster === null ? '' : ` of ${link.name}`} acknowledged the writes within ${this.#waitTimeout} ms`, { store: this.description })
      }
    }
  }

  /** QUIT, or drops the connections when QUIT gets no answer in a second (a frozen server never answers). */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      if (this.#client.status === 'ready') {
        let timer: NodeJS.Timeout | undefined
        try {
          await Promise.race([this.#client.quit(), new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('QUIT timed out')), QUIT_MILLIS) })])
          return
        } catch {} finally {
          clearTimeout(timer)
        }
      }
      this.#client.disconnect()
    } finally {
      // The Cluster closes the clients it holds; a link's client it no longer holds is ours to close.
      for (const name of [...this.#links.keys()]) this.#retire(name)
    }
  }
}

/**
 * Checks `done` every `everyMillis` until it holds (true) or `until` (epoch ms) passed (false). For the waits on the
 * Cluster's masters, which its client reports only by polling its nodes' states.
 */
async function pollUntil (done: () => boolean, until: number, everyMillis: number): Promise<boolean> {
  for (;;) {
    if (done()) return true
    if (Date.now() >= until) return false
    await new Promise(resolve => setTimeout(resolve, everyMillis))
  }
}

/** A score bound for ZRANGEBYSCORE: a whole number (exact up to 2^53), or ±inf. */
function bound (n: number): string {
  return n === -Infinity ? '-inf' : n === Infinity ? '+inf' : String(n)
}

/** The signed big-endian 64-bit integer at the start of a tile member (its latest event time). */
function readI64 (m: Uint8Array): number {
  const dv = new DataView(m.buffer, m.byteOffset, 8)
  return dv.getInt32(0) * 4294967296 + dv.getUint32(4)
}
