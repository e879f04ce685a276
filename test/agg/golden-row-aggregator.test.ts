// Golden: Chronon's RowAggregatorTest#testUpdate — 5 rows split 3 + 2, the partial IRs merged, two rows deleted,
// finalized — over every kind of column: direct, vector (list input), bucketed, map input (with a null map key),
// element-wise, timed, and the heaps.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RowAggregator } from '../../src/agg/row.ts'
import { goldenCase } from '../helpers/reference.ts'
import { type GoldenAggregation, SKETCH_OPS, goldenRow, goldenSchema, planOf, plain } from './golden-helpers.ts'

const c = goldenCase('row_aggregator_update_merge_delete')
// APPROX_UNIQUE_COUNT entries are the CPC sketch's to check (its own tests); every other entry is checked here.
const expected = (c.expected as (GoldenAggregation & { out: unknown })[]).filter(e => !SKETCH_OPS.has(e.op))
const schema = goldenSchema(c.schema)

function run (): unknown[] {
  const agg = new RowAggregator(planOf('row_aggregator_test', expected), schema)
  const rows = (c.rows as unknown[][]).map(r => goldenRow(r, schema))
  const first = agg.init()
  for (const r of rows.slice(0, 3)) agg.update(first, r, r[0] as number)
  const second = agg.init()
  for (const r of rows.slice(3)) agg.update(second, r, r[0] as number)
  agg.merge(first, second)
  const forDeletion = agg.clone(first)
  for (const r of (c.rowsToDelete as unknown[][]).map(x => goldenRow(x, schema))) agg.delete(forDeletion, r, r[0] as number)
  return agg.finalize(forDeletion)
}

test('RowAggregator update/merge/delete matches RowAggregatorTest for every exact operation', () => {
  assert.ok(expected.length >= 18, 'all non-sketch entries are present')
  const actual = run()
  expected.forEach((e, i) => {
    const label = `${e.op}(${e.col}${e.bucket !== undefined ? ` by ${e.bucket}` : ''}${e.elementWise === true ? ', element-wise' : ''})`
    assert.deepEqual(plain(actual[i]), e.out, label)
  })
})

test('the merge leaves its right-hand IR untouched', () => {
  const agg = new RowAggregator(planOf('row_aggregator_test', expected), schema)
  const rows = (c.rows as unknown[][]).map(r => goldenRow(r, schema))
  const left = agg.init()
  const right = agg.init()
  for (const r of rows.slice(0, 3)) agg.update(left, r, r[0] as number)
  for (const r of rows.slice(3)) agg.update(right, r, r[0] as number)
  const before = JSON.stringify(plain(agg.finalize(right)))
  agg.merge(left, right)
  agg.update(left, rows[0]!, 1)
  assert.equal(JSON.stringify(plain(agg.finalize(right))), before)
})
