// Multi-resolution reads (fetch/tile-cover.ts over rolled-up tiles from worker/rollups.ts) through the real engine,
// one body for every store (test/fetch/multires-tile-read.test.ts: embedded; test/integration/redis-multires-read.test.ts:
// Redis and Redis Cluster):
// seeded random events over ~6 weeks (out of order, very late ones, 3 partitions with their own clocks, 2 workers,
// skewed keys), GroupBy windows from 1 hour to 30 days and unbounded; then at random query times (inside tiles, on
// 5-minute, hour and day boundaries, after the end) every read that uses rolled-up tiles must equal the read of
// fine tiles only and the brute-force oracle, by both head-tile rules — and must read far fewer tiles. Reads of
// several keys at once (fetchFeaturesMany: one store request per round for all of them) must equal the one-key reads.
import assert from 'node:assert/strict'
import { T, type StructType } from '../../src/api/data-type.ts'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { decodeTileKey } from '../../src/codec/tile-key.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { fetchFeatures, fetchFeaturesMany, loadReadSide } from '../../src/fetch/tiled-read.ts'
import type { TileStore } from '../../src/sink/store.ts'
import { generateEvents, generatorSchema, openGeneratorSource, parseGeneratorOptions, Random } from '../../src/source/generator.ts'
import { DAY, HOUR } from '../../src/window/resolution.ts'
import { naiveColumns, runEngine } from '../helpers/engine.ts'
import { naiveFeatures, type NaiveEvent, tiledMode } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'

const H1 = { length: 1, timeUnit: 0 }
const D1 = { length: 1, timeUnit: 1 }
const D7 = { length: 7, timeUnit: 1 }
const D30 = { length: 30, timeUnit: 1 }

const GROUP_BY = {
  metaData: { name: 'test.multires.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount', qty: 'qty', item: 'item', category: 'category' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'qty', operation: 7, windows: [H1, D1, D7, D30] }, // SUM long
    { inputColumn: 'qty', operation: 6, windows: [H1, D30] }, // COUNT
    { inputColumn: 'amount', operation: 7, windows: [D1, D30] }, // SUM double
    { inputColumn: 'amount', operation: 8, windows: [D7, D30] }, // AVERAGE
    { inputColumn: 'qty', operation: 0, windows: [D30] }, // MIN
    { inputColumn: 'amount', operation: 1, windows: [D30] }, // MAX
    { inputColumn: 'item', operation: 2, windows: [D30] }, // FIRST (JS IR)
    { inputColumn: 'amount', operation: 3, windows: [D7, D30] }, // LAST
    { inputColumn: 'item', operation: 4, windows: [D30] }, // UNIQUE_COUNT (set)
    { inputColumn: 'amount', operation: 15, argMap: { k: '3' }, windows: [D30] }, // TOP_K
    { inputColumn: 'qty', operation: 7, windows: [D30], buckets: ['category'] }, // bucketed SUM
    { inputColumn: 'user_id', operation: 6 } // unbounded COUNT
  ]
}

const SCHEMA = T.struct('Event', [
  { name: 'user_id', type: T.long }, { name: 'ts', type: T.long }, { name: 'amount', type: T.double },
  { name: 'qty', type: T.long }, { name: 'item', type: T.string }, { name: 'category', type: T.string }
]) as StructType

const START = 1_700_000_000_000
// 30,000 events 2 min apart: ~42 days.
const GEN = `keys=40,zipf=1.0,count=30000,seed=5,start=${START},step=120000,disorder=240000,late=0.01,lateBy=86400000,partitions=3,nulls=0.05`

export const MULTIRES_TEST = 'reads over rolled-up tiles equal fine-tile reads and the oracle for windows up to 30 days (3 partitions, 2 workers)'

/** Runs the engine into `store` (default: a fresh embedded one; the caller closes its own) and compares the reads. */
export async function multiresReads (store?: TileStore): Promise<void> {
  const plan = compilePlan(GROUP_BY)
  assert.equal(plan.tileSizeMillis, 5 * 60_000)
  const opts = parseGeneratorOptions(GEN)
  const source = openGeneratorSource(plan, opts, avroSchemaOf(SCHEMA))
  const run = await runEngine(GROUP_BY, source, { workers: 2, evaluator: 'column-refs', rollups: [HOUR, DAY], ...(store === undefined ? {} : { store }) })
  try {
    // The events as the engine saw them, minus the dead letters (only late events may be).
    const { schema, roles } = generatorSchema(plan, opts, avroSchemaOf(SCHEMA))
    const dead = new Set<number>()
    for (const d of run.deadLetters.records) {
      assert.equal(d.code, 'TK_LATE', `unexpected dead letter: ${d.reason}`)
      dead.add(d.position)
    }
    const byKey = new Map<number, NaiveEvent[]>()
    for (const ev of generateEvents(plan, opts, schema, roles)) {
      if (dead.has(ev.seq)) continue
      const row: Record<string, unknown> = {}
      schema.fields.forEach((f, i) => { row[f.name] = ev.values[i] })
      const key = ev.keyValues[0] as number
      byKey.set(key, [...(byKey.get(key) ?? []), { ts: ev.ts, row }])
    }

    // Rolled-up tiles of both sizes are in the store, beside the fine ones.
    const sizes = new Map<number, number>()
    for await (const [k] of run.store.entries()) {
      if (k[0] !== 0x18) continue // metadata
      const size = decodeTileKey(k).tileSizeMillis
      sizes.set(size, (sizes.get(size) ?? 0) + 1)
    }
    assert.ok((sizes.get(HOUR) ?? 0) > 500 && (sizes.get(DAY) ?? 0) > 100, `tile sizes in the store: ${JSON.stringify([...sizes])}`)

    const read = await loadReadSide(plan, run.store)
    const columns = naiveColumns(plan, SCHEMA)
    const end = START + 30000 * 120_000
    const r = new Random(17)
    const keys = [...byKey.keys()].sort((a, b) => a - b)
    const times: number[] = [end + 2 * DAY, end + 7 * HOUR + 1, end - HOUR, START + 31 * DAY, START + 20 * DAY + 5 * 60_000]
    for (let i = 0; i < 35; i++) {
      const t = START + r.int(end + DAY - START)
      // inside a tile, or on a 5-minute, hour or day boundary (where spans and cutoffs meet)
      const align = [1, 5 * 60_000, HOUR, DAY][r.int(4)]!
      times.push(t - (t % align))
    }
    let compared = 0
    let fewer = 0
    let batches = 0
    const rb = new Random(29) // apart from r, so the one-key reads sample what they always did
    for (const q of times) {
      // Several keys in one read, by either rule, with rollups and without: each equals its one-key read.
      const some = keys.filter(() => rb.next() < 0.3)
      for (const options of [{ headTile: 'start' as const }, { headTile: 'latest' as const, rollups: false }]) {
        const many = await fetchFeaturesMany(read, run.store, some.map(k => [k]), q, options)
        assert.equal(many.length, some.length)
        for (let i = 0; i < some.length; i++) assert.deepEqual(many[i], await fetchFeatures(read, run.store, [some[i]!], q, options), `key ${some[i]} at ${q} read with ${some.length - 1} other key(s)`)
        batches++
      }
      for (let j = 0; j < 6; j++) {
        const key = keys[r.int(keys.length)]!
        for (const rule of ['start', 'latest'] as const) {
          const multi = await fetchFeatures(read, run.store, [key], q, { headTile: rule })
          const fine = await fetchFeatures(read, run.store, [key], q, { headTile: rule, rollups: false })
          const oracle = naiveFeatures(byKey.get(key)!, columns, q, plan.tileSizeMillis, tiledMode(rule))
          for (const c of columns) {
            const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (x instanceof Map ? Object.fromEntries(x) : x))
            assert.ok(matchesNaive(multi.features[c.name], fine.features[c.name]), `key ${key} at ${q} (${rule}): ${c.name} = ${show(multi.features[c.name])} with rollups, ${show(fine.features[c.name])} from fine tiles`)
            assert.ok(matchesNaive(multi.features[c.name], oracle[c.name]), `key ${key} at ${q} (${rule}): ${c.name} = ${show(multi.features[c.name])} with rollups, oracle ${show(oracle[c.name])}`)
            compared++
          }
          assert.ok(multi.tilesRead <= fine.tilesRead)
          if (q > START + 31 * DAY && multi.tilesRead * 5 < fine.tilesRead) fewer++
        }
      }
    }
    assert.ok(compared > 5000, `${compared} comparisons`)
    assert.ok(fewer > 50, `reads late in the stream used rolled-up tiles only ${fewer} times`)
    assert.equal(batches, 2 * times.length)
  } finally {
    await run.cleanup()
  }
}
