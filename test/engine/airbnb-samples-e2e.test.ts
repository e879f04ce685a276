// Issue 5: the airbnb sample GroupBys team/purchases.v1 and sample_team/event_sample_group_by.v1 end to end on
// generated events (input schemas in test/engine/fixtures/, documented there), workers 1 and 3. Exact operations
// must equal the oracle; APPROX_PERCENTILE (a KLL floats sketch, k = 200) must equal the same sketch implementation
// built directly from the window's values when no compaction happened (n ≤ k: then both are exact), and otherwise
// lie within DataSketches' rank-error bound of the exact quantiles.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { KllSketch, parsePercentiles } from '../../src/agg/sketch/kll.ts'
import { type ColumnCheck, fixture, generatedEndToEnd, readJson } from '../helpers/e2e.ts'
import { groupByPath } from '../helpers/reference.ts'

const SAMPLES = 'airbnb-chronon/api/py/test/sample/production/group_bys'
const START = 1_700_000_000_000
const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * DataSketches' KLL normalized rank error for one quantile at 99 % confidence (KllSketch.getNormalizedRankError(k,
 * false) = 2.296 / k^0.9723; 1.33 % for k = 200).
 */
const kllRankError = (k: number): number => 2.296 / Math.pow(k, 0.9723)

/** Counts windows by regime, so the test can show it met both. */
const seen = { exact: 0, approximate: 0, approximateEqualToDirect: 0 }

const approxPercentile: ColumnCheck = (actual, values, column) => {
  const k = Number(column.argMap.k ?? 128)
  const percentiles = parsePercentiles(column.argMap.percentiles)
  if (values.length === 0) return actual === null ? null : 'expected null for an empty window'
  const direct = KllSketch.create(k, 'airbnb')
  for (const v of values) direct.update(Number(v))
  const expected = Array.from(direct.quantiles(percentiles) ?? [])
  direct.dispose()
  if (!Array.isArray(actual) || actual.length !== percentiles.length) return `not ${percentiles.length} quantiles`
  const same = expected.every((x, i) => Object.is(x, actual[i]))
  if (values.length <= k) {
    seen.exact++
    return same ? null : `a sketch of the ${values.length} values built directly gives ${JSON.stringify(expected)}`
  }
  seen.approximate++
  if (same) seen.approximateEqualToDirect++
  // Compaction: merging tile sketches and updating one sketch compact different items, so only the error bound
  // of the sketch holds: the returned item's rank range in the exact data must come within ε of the asked rank.
  const sorted = values.map(v => Math.fround(Number(v))).sort((a, b) => a - b)
  const eps = kllRankError(k)
  for (let i = 0; i < percentiles.length; i++) {
    const x = actual[i] as number
    const below = sorted.filter(v => v < x).length / sorted.length
    const upTo = sorted.filter(v => v <= x).length / sorted.length
    const p = percentiles[i]!
    if (p < below - eps || p > upTo + eps) return `quantile ${p} = ${x} has rank [${below}, ${upTo}] in the ${sorted.length} values, beyond ε = ${eps}`
  }
  return null
}

for (const workers of [1, 3]) {
  test(`team.purchases.v1 end to end = oracle, 5 windows up to 90 d and LAST_K (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const r = await generatedEndToEnd({
      groupBy: readJson(groupByPath(`${SAMPLES}/team/purchases.v1`)),
      schema: fixture('purchases.avsc'),
      generator: `keys=300,zipf=1.0,count=20000,seed=3,start=${START},step=600000,disorder=240000,partitions=3,nulls=0.05`,
      workers,
      times: (first, last) => [first + 2 * DAY + 1, first + 45 * DAY + 5 * 60_000, last - 3 * HOUR, last + HOUR, last + 60 * DAY]
    })
    assert.ok(r.keys === 300)
    for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 100, `${c} non-null ${n} times`)
  })

  test(`sample_team.event_sample_group_by.v1 end to end: exact ops = oracle, APPROX_PERCENTILE = direct KLL / within its rank error (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const before = { ...seen }
    const r = await generatedEndToEnd({
      groupBy: readJson(groupByPath(`${SAMPLES}/sample_team/event_sample_group_by.v1`)),
      schema: fixture('event_sample.avsc'),
      generator: `keys=100,zipf=1.1,count=20000,seed=4,start=${START},step=120000,disorder=240000,partitions=2,nulls=0.03`,
      workers,
      times: (first, last) => [first + 3 * DAY, first + 10 * DAY + 1, last - HOUR, last + 8 * DAY],
      checks: { APPROX_PERCENTILE: approxPercentile }
    })
    for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 100, `${c} non-null ${n} times`)
    // Both regimes were met: small windows (exact sketch) and heavy keys past k = 200 (compacted sketch).
    assert.ok(seen.exact - before.exact > 100, `exact-regime windows: ${seen.exact - before.exact}`)
    assert.ok(seen.approximate - before.approximate > 20, `compacted windows: ${seen.approximate - before.approximate}`)
    console.log(`# APPROX_PERCENTILE (${workers} workers): ${seen.exact - before.exact} windows exact and equal to a direct sketch, ${seen.approximate - before.approximate} compacted (${seen.approximateEqualToDirect - before.approximateEqualToDirect} of them with the same quantiles as a direct sketch), all within ε = ${kllRankError(200).toFixed(4)}`)
  })
}
