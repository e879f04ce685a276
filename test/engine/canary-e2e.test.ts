// Issue 3: the Zipline canary GroupBys end to end on generated events matching their input schemas
// (test/engine/fixtures/*.avsc), with 1 and 3 workers, against the oracle fed by the *interpreter's* evaluation of
// the same selects and wheres (see test/helpers/e2e.ts).
//
// * gcp.item_event_canary.actions_v1__0: the key is EXPLODE(TRANSFORM(SPLIT(COALESCE(attributes['sold_listing_ids'],
//   attributes['listing_id']), ','), e -> CAST(e AS LONG))): one record makes rows of several listings, which can
//   belong to different workers (the router fans it out, each worker keeps the rows it owns); IF(...) selects and an
//   IN where. The generator puts comma-separated ids under the looked-up attribute keys.
// * aws.user_activities.kafka_v1__1: LAST_K(128) over STRUCT(event_type, listing_id, unix_millis(TIMESTAMP(
//   event_time_ms)) as timestamp), time column unix_millis(TIMESTAMP(event_time_ms)) — event_time_ms is an Avro
//   timestamp-millis (see the fixture), so the struct's timestamp equals the event time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixture, generatedEndToEnd, readJson } from '../helpers/e2e.ts'
import { groupByPath } from '../helpers/reference.ts'

const CANARY = 'zipline-chronon/python/test/canary/compiled/group_bys'
const START = 1_700_000_000_000
const HOUR = 3_600_000
const DAY = 24 * HOUR

for (const workers of [1, 3]) {
  test(`item_event canary (EXPLODE key, IF selects, IN where) end to end = oracle (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const r = await generatedEndToEnd({
      groupBy: readJson(groupByPath(`${CANARY}/gcp/item_event_canary.actions_v1__0`)),
      schema: fixture('item_event.avsc'),
      generator: `keys=400,zipf=1.0,count=20000,seed=5,start=${START},step=10000,disorder=120000,partitions=2,nulls=0.03`,
      workers,
      // Only 1-day windows: query every 10 hours over the stream, so that every event is in some compared window.
      times: (first, last) => [...Array.from({ length: Math.ceil((last - first) / (10 * HOUR)) + 1 }, (_, i) => first + 6 * HOUR + 7 * 60_000 + i * 10 * HOUR), last + HOUR]
    })
    // The generated stream exercises what the GroupBy does: most records filtered by the where or without
    // listing ids, many exploded into several rows, every output column seen non-null.
    assert.ok(r.filtered > 5000 && r.rows > 5000, `filtered ${r.filtered}, rows ${r.rows}`)
    assert.ok(r.rows > r.records - r.filtered, `EXPLODE made more rows (${r.rows}) than it had records (${r.records - r.filtered})`)
    assert.ok(r.keys > 200, `${r.keys} listings`)
    for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 100, `${c} non-null ${n} times`)
  })

  test(`user_activities canary (LAST_K(128) of a STRUCT, TIMESTAMP time column) end to end = oracle (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const r = await generatedEndToEnd({
      groupBy: readJson(groupByPath(`${CANARY}/aws/user_activities.kafka_v1__1`)),
      schema: fixture('user_activities.avsc'),
      generator: `keys=150,zipf=0.8,count=20000,seed=9,start=${START},step=60000,disorder=60000,partitions=2,nulls=0.03`,
      workers,
      times: (first, last) => [first + 20 * HOUR, first + 8 * DAY + 5 * 60_000, last - 2 * HOUR, last + HOUR, last + 15 * DAY]
    })
    assert.equal(r.filtered, 0)
    assert.ok(r.keys >= 140)
    for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 100, `${c} non-null ${n} times`)
  })
}

// The canaries through the untiled pipeline: an EXPLODEd record stores one event per row (its row index is part of
// the event's identity), a STRUCT payload is stored and read back through `{cleanName}_INPUT_COLS`.
test('untiled: item_event canary (EXPLODE key) end to end = oracle (3 workers)', async () => {
  const r = await generatedEndToEnd({
    groupBy: readJson(groupByPath(`${CANARY}/gcp/item_event_canary.actions_v1__0`)),
    schema: fixture('item_event.avsc'),
    generator: `keys=400,zipf=1.0,count=20000,seed=5,start=${START},step=10000,disorder=120000,partitions=2,nulls=0.03`,
    workers: 3,
    times: (first, last) => [...Array.from({ length: Math.ceil((last - first) / (10 * HOUR)) + 1 }, (_, i) => first + 6 * HOUR + 7 * 60_000 + i * 10 * HOUR), last + HOUR],
    engine: { untiled: true }
  })
  assert.ok(r.rows > r.records - r.filtered, `EXPLODE made more rows (${r.rows}) than it had records (${r.records - r.filtered})`)
  for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 100, `${c} non-null ${n} times`)
})

test('untiled: user_activities canary (LAST_K(128) of a STRUCT) end to end = oracle (1 worker)', async () => {
  const r = await generatedEndToEnd({
    groupBy: readJson(groupByPath(`${CANARY}/aws/user_activities.kafka_v1__1`)),
    schema: fixture('user_activities.avsc'),
    generator: `keys=150,zipf=0.8,count=20000,seed=9,start=${START},step=60000,disorder=60000,partitions=2,nulls=0.03`,
    workers: 1,
    times: (first, last) => [first + 20 * HOUR, first + 8 * DAY + 5 * 60_000, last - 2 * HOUR, last + HOUR, last + 15 * DAY],
    engine: { untiled: true }
  })
  for (const [c, n] of Object.entries(r.nonNull)) assert.ok(n > 100, `${c} non-null ${n} times`)
})
