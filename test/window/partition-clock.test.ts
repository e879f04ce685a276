// A partition's clock: every record is judged by the watermark of the records before it, the closing watermark
// follows all of them, and with origins (a repartitioned topic) a tile closes only when every origin passed it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Random } from '../../src/source/generator.ts'
import { PartitionClock } from '../../src/window/partition-clock.ts'

const OOO = 1000

test('a record is judged by the max event time before it − out-of-orderness − 1; records without a time do not move it', () => {
  const c = new PartitionClock({ outOfOrdernessMillis: OOO, origins: null })
  assert.equal(c.judge(0, 10_000), -Infinity)
  assert.equal(c.closing, 10_000 - OOO - 1)
  assert.equal(c.judge(0, 5_000), 10_000 - OOO - 1) // out of order: judged by the max before it, moves nothing
  assert.equal(c.closing, 10_000 - OOO - 1)
  assert.equal(c.judge(0, NaN), 10_000 - OOO - 1)
  assert.equal(c.judge(0, 12_000), 10_000 - OOO - 1)
  assert.equal(c.closing, 12_000 - OOO - 1)
  assert.equal(c.maxEventTime, 12_000)
})

test('judged watermarks equal a brute-force prefix maximum, and snapshot/restore continues the same sequence', () => {
  const r = new Random(3)
  const ts = Array.from({ length: 2000 }, (_, i) => (r.next() < 0.05 ? NaN : 1_000_000 + i * 10 - r.int(5000)))
  const c = new PartitionClock({ outOfOrdernessMillis: OOO, origins: null })
  let restored: PartitionClock | null = null
  let max = -Infinity
  ts.forEach((t, i) => {
    const clock = restored ?? c
    assert.equal(clock.judge(0, t), max - OOO - 1, `record ${i}`)
    if (t > max) max = t
    assert.equal(clock.closing, max - OOO - 1)
    if (i === 1000) {
      restored = new PartitionClock({ outOfOrdernessMillis: OOO, origins: null })
      restored.restore(c.snapshot())
    }
  })
})

test('with origins, each record is judged by its own origin and a tile closes only when every origin passed it', () => {
  const c = new PartitionClock({ outOfOrdernessMillis: OOO, origins: 3 })
  c.judge(0, 50_000)
  c.judge(1, 40_000)
  assert.equal(c.closing, -Infinity, 'origin 2 has sent nothing yet')
  assert.equal(c.judge(2, 30_000), -Infinity, 'origin 2 is judged by its own (empty) past')
  assert.equal(c.closing, 30_000 - OOO - 1)
  assert.equal(c.judge(0, 45_000), 50_000 - OOO - 1)
  // A closed tile was passed by every origin, so a later record for it is late by its own origin's clock too.
  const closing = c.closing
  for (const o of [0, 1, 2]) assert.ok(c.judge(o, NaN) >= closing)
  const back = new PartitionClock({ outOfOrdernessMillis: OOO, origins: 3 })
  back.restore(c.snapshot())
  assert.equal(back.closing, c.closing)
  assert.equal(back.judge(1, NaN), 40_000 - OOO - 1)
})
