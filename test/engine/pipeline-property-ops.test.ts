// The whole pipeline against the oracle for every exact operation, buckets included, and the shapes the first
// property test (pipeline-property.test.ts) leaves out: FIRST_K, BOTTOM_K, KURTOSIS, BOUNDED_UNIQUE_COUNT (airbnb),
// UNIQUE_TOP_K (a Zipline-flavoured GroupBy), element-wise aggregation of a list<double> (airbnb), aggregations of a
// map<string,double> input, list inputs fed element by element, and APPROX_UNIQUE_COUNT (equal to a CPC sketch built
// directly from the window's values and read as the fetch reads it, through a union). Seeded random events with
// skewed keys, out-of-order and very late events and nulls go through the real engine with 1 and 3 workers; the
// selects (one computed: CONCAT/CAST) are evaluated for the oracle by the baseline interpreter. Every key is fetched
// at several times, and every key's unwindowed COUNT is compared, so one dropped or doubled event fails the test.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ApproxUniqueCount } from '../../src/agg/sketch/cpc.ts'
import { type StructType, T } from '../../src/api/data-type.ts'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { type ColumnCheck, generatedEndToEnd } from '../helpers/e2e.ts'

const W7 = { length: 7, timeUnit: 1 }
const D = { length: 1, timeUnit: 1 }
const OP = {
  MIN: 0, MAX: 1, FIRST: 2, LAST: 3, UNIQUE_COUNT: 4, APPROX_UNIQUE_COUNT: 5, COUNT: 6, SUM: 7, AVERAGE: 8, VARIANCE: 9,
  SKEW: 10, KURTOSIS: 11, LAST_K: 13, FIRST_K: 14, TOP_K: 15, BOTTOM_K: 16, HISTOGRAM: 17,
  BOUNDED_UNIQUE_COUNT: 19, // airbnb's 19
  UNIQUE_TOP_K: 20 // Zipline's 20
}
const k = (n: number): Record<string, string> => ({ k: String(n) })
const by = ['category']

const SELECTS = {
  user_id: 'user_id',
  amount: 'amount',
  qty: 'qty',
  category: 'category',
  vec: 'vec',
  attrs: 'attrs',
  // 23 distinct strings (NULL when code is): more variety than the generator's word list
  item: "CONCAT('item_', CAST(code % 23 AS STRING))"
}

const source = { events: { table: 'test.events', topic: 'events', query: { selects: SELECTS, timeColumn: 'ts' } } }

const AIRBNB = {
  metaData: { name: 'test.pipeline_property_ops.v1' },
  sources: [source],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'item', operation: OP.FIRST_K, argMap: k(3), windows: [D] },
    { inputColumn: 'amount', operation: OP.FIRST_K, argMap: k(2), windows: [D], buckets: by },
    { inputColumn: 'amount', operation: OP.BOTTOM_K, argMap: k(3), windows: [D] },
    { inputColumn: 'item', operation: OP.BOTTOM_K, argMap: k(2), windows: [D] },
    { inputColumn: 'qty', operation: OP.BOTTOM_K, argMap: k(4), windows: [D], buckets: by },
    { inputColumn: 'amount', operation: OP.KURTOSIS, windows: [D] },
    { inputColumn: 'qty', operation: OP.KURTOSIS, windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.BOUNDED_UNIQUE_COUNT, argMap: k(5), windows: [D] },
    { inputColumn: 'qty', operation: OP.BOUNDED_UNIQUE_COUNT, windows: [D] },
    { inputColumn: 'item', operation: OP.BOUNDED_UNIQUE_COUNT, argMap: k(3), windows: [D], buckets: by },
    // element-wise over a list<double> tensor, and the same list fed element by element
    { inputColumn: 'vec', operation: OP.SUM, windows: [D, W7], elementWise: true },
    { inputColumn: 'vec', operation: OP.AVERAGE, windows: [D], elementWise: true },
    { inputColumn: 'vec', operation: OP.MAX, windows: [D], elementWise: true },
    { inputColumn: 'vec', operation: OP.TOP_K, argMap: k(3), windows: [D] },
    // map<string,double> input: one IR per map key
    { inputColumn: 'attrs', operation: OP.SUM, windows: [D] },
    { inputColumn: 'attrs', operation: OP.AVERAGE, windows: [D] },
    { inputColumn: 'attrs', operation: OP.MAX, windows: [D] },
    { inputColumn: 'attrs', operation: OP.COUNT },
    // the other exact operations, bucketed
    { inputColumn: 'amount', operation: OP.SUM, windows: [D], buckets: by },
    { inputColumn: 'qty', operation: OP.MIN, windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.MAX, windows: [D], buckets: by },
    { inputColumn: 'amount', operation: OP.FIRST, windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.LAST, windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.UNIQUE_COUNT, windows: [D], buckets: by },
    { inputColumn: 'amount', operation: OP.VARIANCE, windows: [D], buckets: by },
    { inputColumn: 'amount', operation: OP.SKEW, windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.HISTOGRAM, argMap: k(3), windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.TOP_K, argMap: k(2), windows: [D], buckets: by },
    { inputColumn: 'qty', operation: OP.LAST_K, argMap: k(2), windows: [D], buckets: by },
    // sketch, checked against a directly built CPC sketch
    { inputColumn: 'item', operation: OP.APPROX_UNIQUE_COUNT, windows: [D] },
    { inputColumn: 'qty', operation: OP.APPROX_UNIQUE_COUNT, argMap: k(10) },
    // every event of a key: one dropped or doubled event shows
    { inputColumn: 'user_id', operation: OP.COUNT }
  ]
}

const ZIPLINE = {
  metaData: { name: 'test.pipeline_property_zipline.v1', team: 'test', customJson: '{}', executionInfo: {} },
  sources: [source],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'item', operation: OP.UNIQUE_TOP_K, argMap: k(3), windows: [D] },
    { inputColumn: 'qty', operation: OP.UNIQUE_TOP_K, argMap: k(4), windows: [D, W7] },
    { inputColumn: 'qty', operation: OP.UNIQUE_TOP_K, argMap: k(2) },
    { inputColumn: 'item', operation: OP.UNIQUE_TOP_K, argMap: k(2), windows: [D], buckets: by },
    { inputColumn: 'item', operation: OP.APPROX_UNIQUE_COUNT, windows: [D] },
    { inputColumn: 'user_id', operation: OP.COUNT }
  ]
}

const SCHEMA = avroSchemaOf(T.struct('Event', [
  { name: 'user_id', type: T.long }, { name: 'ts', type: T.long }, { name: 'amount', type: T.double },
  { name: 'qty', type: T.long }, { name: 'code', type: T.long }, { name: 'category', type: T.string },
  { name: 'vec', type: T.list(T.double) }, { name: 'attrs', type: T.map(T.string, T.double) }
]) as StructType)

const START = 1_700_000_000_000
const GEN = `keys=150,zipf=1.0,count=24000,seed=17,start=${START},step=2500,disorder=240000,late=0.01,lateBy=86400000,partitions=2,nulls=0.05`
const HOUR = 3_600_000
const times = (first: number, last: number): number[] => [first + HOUR + 1, first + 11 * HOUR + 150_000, last - 60_000, last + 26 * HOUR, last + 8 * 24 * HOUR]

/**
 * APPROX_UNIQUE_COUNT = the same CPC sketch built from the window's values, read through a union as the tiled fetch
 * does (merge(null, tile) is a union: the estimate is ICON, not HIP) — or, untiled, read as built: the fetch updates
 * one sketch with the window's events in order, so the estimate is the sketch's own (HIP).
 */
const approxUniqueCountOf = (untiled: boolean): ColumnCheck => (actual, values, column) => {
  if (values.length === 0) return actual === null ? null : 'expected null for an empty window'
  const agg = new ApproxUniqueCount(column.inputType === 'string' ? 'string' : 'long', Number(column.argMap.k ?? 8))
  const direct = agg.prepare(values[0])
  for (const v of values.slice(1)) agg.update(direct, v)
  const read = untiled ? direct : agg.clone(direct)
  const expected = agg.finalize(read)
  agg.dispose(direct)
  if (read !== direct) agg.dispose(read)
  if (actual !== expected) return `a sketch of the window's ${values.length} values gives ${expected}`
  const distinct = new Set(values).size
  if (Math.abs(expected - distinct) > Math.max(1, 0.15 * distinct)) return `estimate ${expected} is far from the ${distinct} distinct values`
  return null
}

for (const workers of [1, 3]) {
  for (const [flavour, groupBy] of [['airbnb', AIRBNB], ['zipline', ZIPLINE]] as const) {
    test(`engine = oracle for every exact operation${flavour === 'zipline' ? ' (Zipline UNIQUE_TOP_K)' : ', buckets, element-wise, map inputs'} and APPROX_UNIQUE_COUNT = CPC (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
      const r = await generatedEndToEnd({
        groupBy,
        schema: SCHEMA,
        generator: GEN,
        warmup: 10_000,
        workers,
        times,
        checks: { APPROX_UNIQUE_COUNT: approxUniqueCountOf(false) },
        engine: { evaluator: 'spark' }
      })
      assert.ok(r.late > 100, `${r.late} late events dead-lettered`)
      assert.ok(r.keys > 140)
      for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 50, `${c} non-null only ${n} times`)
    })
  }
}

// The same operations through the untiled pipeline (run --untiled: raw events aggregated at fetch time), against the
// oracle's untiled mode: every exact operation's update path on stored rows — bucket maps, element-wise tensors,
// map inputs, heaps — and rows decoded from `{cleanName}_INPUT_COLS`.
for (const [flavour, groupBy, workers] of [['airbnb', AIRBNB, 3], ['zipline', ZIPLINE, 1]] as const) {
  test(`untiled: engine = oracle for every exact operation${flavour === 'zipline' ? ' (Zipline UNIQUE_TOP_K)' : ', buckets, element-wise, map inputs'} and APPROX_UNIQUE_COUNT = CPC (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const r = await generatedEndToEnd({
      groupBy,
      schema: SCHEMA,
      generator: GEN,
      warmup: 10_000,
      workers,
      times,
      checks: { APPROX_UNIQUE_COUNT: approxUniqueCountOf(true) },
      engine: { evaluator: 'spark', untiled: true }
    })
    assert.ok(r.late > 100, `${r.late} late events dead-lettered`)
    for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 50, `${c} non-null only ${n} times`)
  })
}
