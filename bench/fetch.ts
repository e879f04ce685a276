// Read latency by window length, with and without rolled-up tiles (issue 10, item 4): the engine runs a GroupBy
// with SUM/COUNT/AVERAGE over 1 h, 1 d, 7 d and 30 d windows on `--events` generated events spread over 31 days
// (`--keys` keys, so every key has thousands of 5-minute tiles) into the embedded store (LMDB) and into Redis (a
// real redis-server started here on 127.0.0.1), writing rolled-up 1 h and 1 d tiles beside the fine ones. Then
// fetchFeatures reads at the end of the stream, one window at a time (the GroupBy's outputs of that window only,
// same tiles), for one key, for batches of 100 keys (`--batch`) read concurrently (100 fetchFeatures calls) and for 100 keys in
// one fetchFeaturesMany call (one store request per round for all of them), each with rollups (the default) and with
// fine tiles only (FetchOptions.rollups = false). Latencies are wall-clock per read (per batch), in an hdr
// histogram; each cell reads until `--reads` reads or `--seconds` seconds, whichever comes first, from a collected
// heap (run with --expose-gc, as `npm run bench:fetch` does). "cpu µs/read" is the process's CPU time per key read:
// on a busy machine the wall-clock p99 measures the scheduler more than the read.
//
//   npm run bench:fetch [-- --events 1000000 --keys 100 --reads 2000 --seconds 3 --no-redis]
//
// The default export runs it and returns the rows (for a runner that wraps scenarios).

import * as hdr from 'hdr-histogram-js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { T, type StructType } from '../src/api/data-type.ts'
import { avroSchemaOf } from '../src/codec/avro.ts'
import type { ReadSide } from '../src/config/bind.ts'
import { compilePlan } from '../src/config/plan.ts'
import { MemoryDeadLetters } from '../src/engine/dead-letter.ts'
import { Engine } from '../src/engine/engine.ts'
import { fetchFeatures, fetchFeaturesMany, loadReadSide } from '../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../src/sink/embedded-store.ts'
import { RedisStore } from '../src/sink/redis-store.ts'
import type { TileStore } from '../src/sink/store.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../src/source/generator.ts'
import { DAY, HOUR } from '../src/window/resolution.ts'
import { startRedis } from '../test/services/redis.ts'
import { isMain, positiveArg, printTable, writeResults } from './report.ts'

const WINDOWS = [{ name: '1h', length: 1, timeUnit: 0, millis: HOUR }, { name: '1d', length: 1, timeUnit: 1, millis: DAY }, { name: '7d', length: 7, timeUnit: 1, millis: 7 * DAY }, { name: '30d', length: 30, timeUnit: 1, millis: 30 * DAY }]

const GROUP_BY = {
  metaData: { name: 'bench.fetch.v1' },
  sources: [{ events: { table: 'bench.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [6, 7, 8].map(operation => ({ inputColumn: 'amount', operation, windows: WINDOWS.map(w => ({ length: w.length, timeUnit: w.timeUnit })) }))
}

const SCHEMA = T.struct('Event', [{ name: 'user_id', type: T.long }, { name: 'ts', type: T.long }, { name: 'amount', type: T.double }]) as StructType

export interface FetchRow extends Record<string, string | number> {
  store: string
  window: string
  tiles: string
  keys: number
  /** How the keys of a batch are read: `fetchFeatures` per key (concurrently), or one `fetchFeaturesMany`. */
  call: string
  reads: number
  'tiles/read': number
  'p50 ms': number
  'p99 ms': number
  'max ms': number
  'cpu µs/read': number
}

export interface FetchBenchOptions {
  readonly events: number
  readonly keys: number
  readonly reads: number
  readonly seconds: number
  /** Keys per batch read (the report's batches are of 100). */
  readonly batch: number
  readonly redis: boolean
}

async function fill (store: TileStore, o: FetchBenchOptions, start: number): Promise<number> {
  const plan = compilePlan(GROUP_BY)
  const step = Math.floor(31 * DAY / o.events)
  const source = openGeneratorSource(plan, parseGeneratorOptions(`keys=${o.keys},count=${o.events},seed=3,start=${start},step=${step},disorder=60000`), avroSchemaOf(SCHEMA))
  const t0 = Date.now()
  const engine = new Engine({ groupBy: GROUP_BY, source, store, deadLetters: new MemoryDeadLetters(), log: () => {}, workers: 2, trigger: { kind: 'buffered', millis: 1000 }, rollups: [HOUR, DAY] })
  await engine.run()
  await store.flushed()
  process.stderr.write(`filled ${store.description}: ${o.events.toLocaleString('en-US')} events in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  return start + o.events * step
}

/** The read side restricted to the outputs of one window (same tiles, same dataset). */
function oneWindow (read: ReadSide, millis: number): ReadSide {
  return { ...read, plan: { ...read.plan, outputs: read.plan.outputs.filter(x => x.window.millis === millis) } }
}

async function measure (label: string, store: TileStore, read: ReadSide, q: number, o: FetchBenchOptions): Promise<FetchRow[]> {
  const rows: FetchRow[] = []
  for (const w of WINDOWS) {
    const side = oneWindow(read, w.millis)
    for (const rollups of [true, false]) {
      for (const [batch, many] of [[1, false], [o.batch, false], [o.batch, true]] as const) {
        const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 })
        let tiles = 0
        let n = 0
        let k = 0
        const one = async (): Promise<void> => {
          const r = await fetchFeatures(side, store, [k++ % o.keys], q, { rollups })
          tiles += r.tilesRead
        }
        const all = async (): Promise<void> => {
          const keys = Array.from({ length: batch }, () => [k++ % o.keys])
          for (const r of await fetchFeaturesMany(side, store, keys, q, { rollups })) tiles += r.tilesRead
        }
        for (let i = 0; i < 5; i++) await one() // warm-up
        tiles = 0
        // Each cell starts with a collected heap, so one cell's garbage is not another's pause.
        ;(globalThis as { gc?: () => void }).gc?.()
        const cpu0 = process.cpuUsage()
        const until = performance.now() + o.seconds * 1000
        const limit = batch === 1 ? o.reads : Math.max(5, Math.ceil(o.reads / 20))
        while (n < limit && (performance.now() < until || n < 5)) {
          const t0 = performance.now()
          if (batch === 1) await one()
          else if (many) await all()
          else await Promise.all(Array.from({ length: batch }, one))
          h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
          n++
        }
        rows.push({
          store: label,
          window: w.name,
          tiles: rollups ? 'rolled up' : 'fine only',
          keys: batch,
          call: many ? 'fetchFeaturesMany' : 'fetchFeatures',
          reads: n,
          'tiles/read': Math.round(tiles / (n * batch)),
          'p50 ms': h.getValueAtPercentile(50) / 1000,
          'p99 ms': h.getValueAtPercentile(99) / 1000,
          'max ms': h.maxValue / 1000,
          // CPU time of the whole process per key read: what the read costs, whatever else runs on the machine
          'cpu µs/read': Math.round(((c => c.user + c.system)(process.cpuUsage(cpu0))) / (n * batch))
        })
        h.destroy()
      }
    }
  }
  return rows
}

export default async function fetchBench (o: FetchBenchOptions): Promise<FetchRow[]> {
  const rows: FetchRow[] = []
  const start = Date.now() - 31 * DAY - (Date.now() % DAY)
  const plan = compilePlan(GROUP_BY)
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-bench-fetch-'))
  try {
    const store = new EmbeddedStore(join(dir, 'store'))
    try {
      const end = await fill(store, o, start)
      rows.push(...await measure('embedded (LMDB)', store, await loadReadSide(plan, store), end, o))
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  if (o.redis) {
    const redis = await startRedis()
    try {
      const store = new RedisStore({ host: '127.0.0.1', port: redis.port, db: 0, prefix: 'bench' })
      try {
        await store.connected()
        const end = await fill(store, o, start)
        rows.push(...await measure('redis', store, await loadReadSide(plan, store), end, o))
      } finally {
        await store.close()
      }
    } finally {
      await redis.stop()
    }
  }
  return rows
}

async function main (): Promise<void> {
  const o: FetchBenchOptions = {
    events: positiveArg('events', 1_000_000),
    keys: positiveArg('keys', 100),
    reads: positiveArg('reads', 2000),
    seconds: positiveArg('seconds', 3),
    batch: positiveArg('batch', 100),
    redis: !process.argv.includes('--no-redis')
  }
  const rows = await fetchBench(o)
  printTable(`Reads at the end of ${o.events.toLocaleString('en-US')} events over 31 days (${o.keys} keys, SUM/COUNT/AVERAGE, 5-minute tiles + rolled-up 1 h / 1 d): latency per read of one key, or per batch of ${o.batch} keys read concurrently`, rows)
  const path = writeResults('fetch', { options: o, rows })
  process.stdout.write(`\nresults: ${path}\n`)
}

if (isMain(import.meta.url)) await main()
