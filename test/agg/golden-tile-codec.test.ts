// Golden: TileCodecTest (plain and bucketed) and FlinkRowAggregationFunctionTest — rows aggregated into a tile
// IR, encoded with TileCodec, decoded, expanded to the windowed layout and finalized; plus the 41-byte tile of §5.4.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { RowAggregator } from '../../src/agg/row.ts'
import { Operation } from '../../src/api/group-by.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { TileCodec } from '../../src/codec/tile.ts'
import { T } from '../../src/api/data-type.ts'
import { goldenCase, groupByPath } from '../helpers/reference.ts'
import { goldenRow, goldenSchema, planFromJson, plain } from './golden-helpers.ts'

function groupBy (relative: string): any {
  return JSON.parse(readFileSync(groupByPath(relative), 'utf8'))
}

function roundTrip (agg: RowAggregator, irs: unknown[], isComplete: boolean): { windowed: unknown[], isComplete: boolean, bytes: Uint8Array } {
  const codec = new TileCodec(agg.plan.cleanName, agg.irSchema)
  const bytes = codec.encode(agg.normalize(irs), isComplete)
  const decoded = codec.decode(bytes)
  return { windowed: agg.expand(agg.denormalize(decoded.irs)), isComplete: decoded.isComplete, bytes }
}

// APPROX_UNIQUE_COUNT (operation 5) is the CPC sketch's to check; its aggregation and outputs are left out here.
const notSketch = (a: { operation: number }): boolean => a.operation !== Operation.APPROX_UNIQUE_COUNT

test('tile codec round trip (TileCodecTest)', () => {
  const c = goldenCase('tile_codec_roundtrip')
  const schema = goldenSchema(c.schema)
  const plan = planFromJson(groupBy('derived-from-scala-tests/tile_codec_test.json'), notSketch)
  const agg = new RowAggregator(plan, schema)
  const irs = agg.init()
  for (const r of c.rows as unknown[][]) agg.update(irs, goldenRow(r, schema), r[0] as number)
  const { windowed, isComplete } = roundTrip(agg, irs, true)
  assert.equal(isComplete, true)
  const names = c.outputNames as string[]
  const expected = new Map(names.map((n, i) => [n, c.expected[i]]))
  const kept = names.filter(n => !n.includes('approx_unique_count'))
  assert.deepEqual(agg.outputs.map(o => o.name), kept)
  const finals = agg.finalizeWindowed(windowed)
  kept.forEach((n, i) => assert.deepEqual(plain(finals[i]), expected.get(n), n))
})

test('tile codec round trip with buckets (TileCodecTest)', () => {
  const c = goldenCase('tile_codec_roundtrip_bucketed')
  const plain3 = goldenCase('tile_codec_roundtrip')
  const schema = goldenSchema(plain3.schema)
  const agg = new RowAggregator(planFromJson(groupBy('derived-from-scala-tests/tile_codec_test_bucketed.json')), schema)
  const irs = agg.init()
  for (const r of plain3.rows as unknown[][]) agg.update(irs, goldenRow(r, schema), r[0] as number)
  const { windowed } = roundTrip(agg, irs, true)
  assert.deepEqual(agg.outputs.map(o => o.name), c.outputNames)
  assert.deepEqual(agg.finalizeWindowed(windowed).map(plain), c.expected)
})

test('Flink row aggregation function: one accumulator, merged partials, a single record (FlinkRowAggregationFunctionTest)', () => {
  const c = goldenCase('flink_row_aggregation_function')
  const schema = goldenSchema(c.schema)
  const agg = new RowAggregator(planFromJson(groupBy('derived-from-scala-tests/flink_row_agg_fn.json')), schema)
  assert.deepEqual(agg.outputs.map(o => o.name), c.outputNames)
  const rows = (c.rows as unknown[][]).map(r => goldenRow(r, schema))

  const all = agg.init()
  for (const r of rows) agg.update(all, r, r[0] as number)
  assert.deepEqual(agg.finalizeWindowed(agg.expand(all)), c.expected, 'one accumulator')

  const partials = [rows.slice(0, 2), rows.slice(2, 4), rows.slice(4)].map(part => {
    const irs = agg.init()
    for (const r of part) agg.update(irs, r, r[0] as number)
    return irs
  })
  const merged = partials.reduce((a, b) => agg.merge(a, b), agg.init())
  assert.deepEqual(agg.finalizeWindowed(agg.expand(merged)), c.expected, 'three partials merged')

  const last = c.rows[5] as unknown[]
  const record = { title: last[3], rating: last[2], ts: last[0], views: last[1] }
  const single = agg.update(agg.init(), agg.toRow(record), record.ts as number)
  assert.deepEqual(agg.finalizeWindowed(agg.expand(single)), c.expectedSingleRowCase, 'a record with its fields out of order')
})

test('the 41-byte tile of the Flink aggregator test (§5.4)', () => {
  const c = goldenCase('flink_row_aggregation_function')
  const schema = goldenSchema(c.schema)
  const agg = new RowAggregator(planFromJson(groupBy('derived-from-scala-tests/flink_row_agg_fn.json')), schema)
  const irs = agg.init()
  for (const r of c.rows as unknown[][]) agg.update(irs, goldenRow(r, schema), r[0] as number)
  const { bytes, windowed, isComplete } = roundTrip(agg, irs, false)
  assert.equal(toHex(bytes), '020202000000000080504002' + '0c02020000000000003840020c' + '020244' + '0202fe8fdeedbb58020241' + '0200')
  assert.equal(bytes.length, 41)
  assert.equal(isComplete, false)
  assert.deepEqual(agg.finalizeWindowed(windowed), c.expected)
})

test('the Zipline user_activities canary: SUM/AVERAGE flags and LAST_K(128) over a struct, through a tile', () => {
  const json = JSON.parse(readFileSync(groupByPath('zipline-chronon/python/test/canary/compiled/group_bys/aws/user_activities.kafka_v1__1'), 'utf8'))
  const plan = planFromJson(json)
  assert.equal(plan.flavour, 'zipline')
  const struct = T.struct('user_event_struct', [{ name: 'event_type', type: T.string }, { name: 'listing_id', type: T.long }, { name: 'timestamp', type: T.long }])
  const flags = ['view_event', 'click_event', 'purchase_event', 'favorite_event', 'add_to_cart_event', 'is_mobile', 'is_desktop', 'is_tablet']
  const schema = [{ name: 'user_id', type: T.string }, ...flags.map(name => ({ name, type: T.int })), { name: 'listing_id', type: T.long }, { name: 'user_event_struct', type: struct }]
  const agg = new RowAggregator(plan, schema)
  const irs = agg.init()
  const events = [['view', 11, 1_700_000_000_000], ['click', 12, 1_700_000_001_000], ['view', 13, 1_700_000_002_000]] as const
  for (const [type, listing, ts] of events) {
    const record: Record<string, unknown> = { user_id: 'u1', listing_id: listing, user_event_struct: { event_type: type, listing_id: listing, timestamp: ts } }
    for (const f of flags) record[f] = f === `${type}_event` || f === 'is_mobile' ? 1 : 0
    agg.update(irs, agg.toRow(record), ts)
  }
  const codec = new TileCodec(plan.cleanName, agg.irSchema)
  const finals = agg.finalizeWindowed(agg.expand(agg.denormalize(codec.decode(codec.encode(agg.normalize(irs), false)).irs)))
  const byName = new Map(agg.outputs.map((o, i) => [o.name, finals[i]]))
  assert.equal(byName.get('view_event_sum_7d'), 2)
  assert.equal(byName.get('is_mobile_average_30d'), undefined, 'is_mobile only has SUM')
  assert.equal(byName.get('click_event_average_1d'), 1 / 3)
  assert.deepEqual(byName.get('user_event_struct_last128_14d'), [['view', 13, 1_700_000_002_000], ['click', 12, 1_700_000_001_000], ['view', 11, 1_700_000_000_000]])
})
