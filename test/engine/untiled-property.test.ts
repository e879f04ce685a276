// The untiled pipeline (run --untiled: one stored event per evaluated row, aggregated at fetch time) against the
// brute-force oracle in its untiled mode: the same seeded stream as pipeline-property.test.ts (skewed keys,
// out-of-order and very late events, nulls) through the real engine with 1 and 3 workers into LMDB, then `fetch`
// for every key at query times inside tiles, where only `ts < Q` (not "tile start < Q") gives the oracle's values.
// A dropped, doubled or mis-windowed event changes some value; the unwindowed COUNT of every key catches the first
// two whatever the window.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { generatedEndToEnd } from '../helpers/e2e.ts'
import { GEN, PROPERTY_GROUP_BY, SCHEMA } from './fixtures/property-group-by.ts'

const HOUR = 3_600_000

for (const workers of [1, 3]) {
  test(`untiled engine = untiled oracle for every operation, with out-of-order and late events (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const r = await generatedEndToEnd({
      groupBy: PROPERTY_GROUP_BY,
      schema: avroSchemaOf(SCHEMA),
      generator: GEN,
      warmup: 10_000,
      workers,
      // Mid-tile times (5-minute tiles): a tiled read would count the events in [Q, tile end) too.
      times: (first, last) => [first + HOUR, first + 7 * HOUR + 1, first + 13 * HOUR + 150_000, first + 20 * HOUR + 299_999, last - 60_000, last + HOUR, last + 26 * HOUR],
      engine: { untiled: true, evaluator: 'column-refs' }
    })
    assert.ok(r.late > 100, `${r.late} late events dead-lettered`)
    assert.ok(r.keys > 140)
    assert.ok(r.compared > 20_000, `${r.compared} values compared`)
    for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 50, `${c} non-null only ${n} times`)
  })
}
