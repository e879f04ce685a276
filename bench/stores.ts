// Tile store throughput and read latency: the embedded LMDB store against the Redis store (a real redis-server
// started here on 127.0.0.1, no persistence) and a 3-master Redis Cluster (also started here), each unfenced and
// fenced, and, for reference, Zipline's own non-atomic Redis commands.
//
//   npm run bench:stores [-- --batches 30 --batch 10000 --value-bytes 40 --reads 2000 --rounds 5]
//
// Writes: `--batches` batches of `--batch` tile upserts (distinct keys, ~`--value-bytes` B values, 5-minute tiles
// spread over two days) go through the real KvWriter (10 requests in flight, as the engine runs it) and are timed
// from the first enqueue to the last acknowledgement (timeout raised to 30 s: 10 × 10k tiles in flight are more than
// Redis applies in the default 1 s). "Fenced" rows send every batch with a Fence (puts spread over 4 source
// partitions, each with its acquired epoch), as a scaled-out daemon does. New tiles are timed once per store;
// rewrites `--rounds` times, the unfenced and the fenced store taking turns, and the median is reported (so load
// from elsewhere on the machine hits both alike). Reads: one key holding 300 five-minute
// tiles (25 h, so two day buckets in Redis), read `--reads` times back to back: the bounded range
// [first, last + 5 min) and the unbounded one (−∞, which Redis answers through its day index). Redis and the
// benchmark share the two cores.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as hdr from 'hdr-histogram-js'
import { Redis } from 'ioredis'
import { EmbeddedStore } from '../src/sink/embedded-store.ts'
import { KvWriter, writeTilesTo } from '../src/sink/kv-writer.ts'
import { dayOf, parseRedisClusterSpec, RedisStore } from '../src/sink/redis-store.ts'
import type { Fence, TileStore } from '../src/sink/store.ts'
import { TilePuts, TilePutsWriter } from '../src/sink/tile-puts.ts'
import { startRedis } from '../test/services/redis.ts'
import { startRedisCluster } from '../test/services/redis-cluster.ts'
import { positiveArg, printTable, writeResults } from './report.ts'

const BATCHES = positiveArg('batches', 30)
const BATCH = positiveArg('batch', 10_000)
const VALUE_BYTES = positiveArg('value-bytes', 40)
const READS = positiveArg('reads', 2000)
const ROUNDS = positiveArg('rounds', 5)
const TILE = 300_000
const DATASET = 'BENCH_CLICKS_V1_STREAMING'
const START = 1_700_000_000_000 - (1_700_000_000_000 % 86_400_000) + 12 * 3_600_000 // noon UTC: 300 tiles span 2 days

/** Avro long key record {user_id: long} → 02 + zig-zag varint. */
function keyBytes (id: number): Uint8Array {
  const out = [0x02]
  let z = id * 2
  while (z >= 0x80) { out.push((z & 0x7f) | 0x80); z = Math.floor(z / 128) }
  out.push(z)
  return new Uint8Array(out)
}

function makeBatches (): ArrayBuffer[] {
  const value = new Uint8Array(VALUE_BYTES)
  for (let i = 0; i < value.length; i++) value[i] = (i * 37) & 0xff
  const out: ArrayBuffer[] = []
  const w = new TilePutsWriter()
  for (let b = 0; b < BATCHES; b++) {
    w.begin()
    for (let i = 0; i < BATCH; i++) {
      const id = b * BATCH + i
      // 576 tile starts over two days, so Redis writes into several buckets per key space.
      const bw = w.beginPut(keyBytes(id), START + (id % 576) * TILE)
      value[0] = id & 0xff
      bw.raw(value)
      w.endValue()
    }
    out.push(w.finish())
  }
  return out
}

const PARTITIONS = 4

/** A fence over PARTITIONS partitions with freshly acquired epochs (the scope is per store run). */
async function fenceFor (store: TileStore): Promise<Fence> {
  const scope = `${DATASET}/bench`
  const epochs = new Map<number, number>()
  for (let p = 0; p < PARTITIONS; p++) epochs.set(p, await store.acquireEpoch(scope, p))
  return { scope, epochs }
}

async function writeAll (store: TileStore, batches: ArrayBuffer[], fence?: Fence): Promise<number> {
  let failures = 0
  let fenced = 0
  const writer = new KvWriter<null>(writeTilesTo(store, DATASET, TILE), {
    onDurable: () => {},
    onError: (e) => { failures++; process.stderr.write(`write failure: ${String((e as Error).message)}\n`) },
    onFenced: () => { fenced++ }
  }, { maxQueuedPuts: Infinity, timeoutMillis: 30_000 })
  const partitions = new Int32Array(BATCH).map((_, i) => i % PARTITIONS)
  const t0 = process.hrtime.bigint()
  // The writer takes ownership of each TilePuts (as from a worker): parse copies nothing.
  for (const b of batches) writer.enqueue(new TilePuts(b.slice(0), fence === undefined ? undefined : partitions), null, fence)
  await writer.drain()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (failures > 0 || fenced > 0) throw new Error(`${failures} write failure(s), ${fenced} fenced batch(es) during the benchmark`)
  return ms
}

/** Zipline's RedisKVStoreImpl.multiPut as commands (ZREMRANGEBYSCORE, ZADD, EXPIRE per tile), pipelined. */
async function writeZiplineCommands (client: Redis, batches: ArrayBuffer[]): Promise<number> {
  const t0 = process.hrtime.bigint()
  const inflight: Promise<unknown>[] = []
  for (const b of batches) {
    const puts = new TilePuts(b.slice(0))
    const p = client.pipeline()
    for (let i = 0; i < puts.count; i++) {
      const ts = puts.tileStart(i)
      const key = `zl:{${DATASET}:${Buffer.from(puts.key(i)).toString('base64')}}:${dayOf(ts)}:${TILE}`
      const member = Buffer.allocUnsafe(8 + puts.valueLength(i))
      member.writeBigInt64BE(BigInt(ts), 0)
      member.set(puts.value(i), 8)
      p.zremrangebyscore(key, ts, ts)
      p.zadd(key, ts, member)
      p.expire(key, 432000)
    }
    inflight.push(p.exec())
    if (inflight.length >= 10) await inflight.shift()
  }
  await Promise.all(inflight)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

async function readLatency (store: TileStore): Promise<{ bounded: hdr.Histogram, unbounded: hdr.Histogram, tiles: number }> {
  const w = new TilePutsWriter()
  w.begin()
  const key = keyBytes(987_654_321)
  const value = new Uint8Array(VALUE_BYTES).fill(7)
  for (let i = 0; i < 300; i++) { w.beginPut(key, START + i * TILE).raw(value); w.endValue() }
  await store.writeTiles(DATASET, TILE, new TilePuts(w.finish()))
  const h = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 })
  const bounded = h()
  const unbounded = h()
  let tiles = 0
  for (let i = 0; i < Math.min(200, READS); i++) await store.readTiles(DATASET, key, TILE, START, START + 300 * TILE) // warm-up
  for (let i = 0; i < READS; i++) {
    const t0 = process.hrtime.bigint()
    tiles = (await store.readTiles(DATASET, key, TILE, START, START + 300 * TILE)).length
    bounded.recordValue(Number(process.hrtime.bigint() - t0) / 1000)
    const t1 = process.hrtime.bigint()
    const n = (await store.readTiles(DATASET, key, TILE, -Infinity, START + 300 * TILE)).length
    unbounded.recordValue(Number(process.hrtime.bigint() - t1) / 1000)
    if (n !== 300 || tiles !== 300) throw new Error(`read ${tiles}/${n} tiles, expected 300`)
  }
  return { bounded, unbounded, tiles }
}

async function usedMemory (client: Redis): Promise<number> {
  const info = await client.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)![1])
}

const batches = makeBatches()
const total = BATCHES * BATCH
const rows: Record<string, string | number>[] = []
const us = (h: hdr.Histogram, p: number): number => Math.round(h.getValueAtPercentile(p))

const row = (store: string, ms: number, again: number, bytes: number | null, r: Awaited<ReturnType<typeof readLatency>> | null): Record<string, string | number> => ({
  store,
  'new tiles/s': Math.round(total / ms * 1000),
  'rewrites/s': Math.round(total / again * 1000),
  'bytes/tile': bytes === null ? '—' : Math.round(bytes),
  'read 300 p50 µs': r === null ? '—' : us(r.bounded, 50),
  'read 300 p99 µs': r === null ? '—' : us(r.bounded, 99),
  'unbounded p50 µs': r === null ? '—' : us(r.unbounded, 50),
  'unbounded p99 µs': r === null ? '—' : us(r.unbounded, 99)
})

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

/**
 * New tiles into both stores once, then rewrites in turns, unfenced then fenced, ROUNDS times; a row per store with
 * the median rewrite rate (the first store also gets the read latency).
 */
async function measurePair (name: string, plain: TileStore, fencedStore: TileStore, memory?: () => Promise<number>): Promise<void> {
  const fence = await fenceFor(fencedStore)
  const bytes: (number | null)[] = []
  const fresh: number[] = []
  for (const [store, f] of [[plain, undefined], [fencedStore, fence]] as const) {
    const before = memory === undefined ? 0 : await memory()
    fresh.push(await writeAll(store, batches, f))
    bytes.push(memory === undefined ? null : (await memory() - before) / total)
  }
  const again: [number[], number[]] = [[], []]
  for (let r = 0; r < ROUNDS; r++) {
    again[0].push(await writeAll(plain, batches))
    again[1].push(await writeAll(fencedStore, batches, fence))
  }
  rows.push(row(name, fresh[0]!, median(again[0]), bytes[0]!, await readLatency(plain)))
  rows.push(row(`${name}, fenced`, fresh[1]!, median(again[1]), bytes[1]!, null))
}

{
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-bench-stores-'))
  const plain = new EmbeddedStore(join(dir, 'plain'))
  const fenced = new EmbeddedStore(join(dir, 'fenced'))
  try {
    await measurePair('embedded (LMDB)', plain, fenced)
  } finally {
    await plain.close()
    await fenced.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const redis = await startRedis()
try {
  const admin = new Redis({ host: '127.0.0.1', port: redis.port })
  try {
    const plain = new RedisStore({ host: '127.0.0.1', port: redis.port, db: 0, prefix: 'bench' })
    const fenced = new RedisStore({ host: '127.0.0.1', port: redis.port, db: 0, prefix: 'bench-fenced' })
    try {
      await plain.connected()
      await fenced.connected()
      await measurePair('redis (Lua script per 256 tiles)', plain, fenced, async () => await usedMemory(admin))
    } finally {
      await plain.close()
      await fenced.close()
    }
    const before = await usedMemory(admin)
    const ms = await writeZiplineCommands(admin, batches)
    const bytes = (await usedMemory(admin) - before) / total
    const again = await writeZiplineCommands(admin, batches)
    rows.push(row('redis, Zipline\'s 3 commands/tile (not atomic)', ms, again, bytes, null))
  } finally {
    admin.disconnect()
  }
} finally {
  await redis.stop()
}

const cluster = await startRedisCluster()
try {
  const plain = new RedisStore(parseRedisClusterSpec(`${cluster.url}?prefix=bench`))
  const fenced = new RedisStore(parseRedisClusterSpec(`${cluster.url}?prefix=bench-fenced`))
  try {
    await plain.connected()
    await fenced.connected()
    await measurePair('redis cluster (3 masters)', plain, fenced)
  } finally {
    await plain.close()
    await fenced.close()
  }
} finally {
  await cluster.stop()
}

printTable(`Tile stores: ${BATCHES} batches × ${BATCH.toLocaleString('en-US')} upserts of ${VALUE_BYTES} B through the KvWriter (10 in flight), unfenced and fenced (${PARTITIONS} partitions), rewrites the median of ${ROUNDS} interleaved rounds; ${READS} reads of one key's 300 five-minute tiles`, rows)
const path = writeResults('stores', { batches: BATCHES, batch: BATCH, valueBytes: VALUE_BYTES, reads: READS, rounds: ROUNDS, rows })
process.stdout.write(`\nresults: ${path}\n`)
