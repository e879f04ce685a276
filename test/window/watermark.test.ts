import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WatermarkTracker } from '../../src/window/watermark.ts'

const opts = { outOfOrdernessMillis: 300_000, idlenessMillis: 30_000 }

test('watermark = min over active partitions of (max event time − out-of-orderness − 1)', () => {
  const t = new WatermarkTracker(opts)
  t.register(0, 0); t.register(1, 0)
  t.observe(0, 1_000_000)
  assert.equal(t.current(10), -Infinity, 'a partition without data holds the watermark')
  t.observe(1, 2_000_000)
  assert.equal(t.current(20), 1_000_000 - 300_000 - 1)
  t.observe(0, 3_000_000)
  assert.equal(t.current(30), 2_000_000 - 300_001)
})

test('an idle partition stops holding the watermark, and holds it again when it sends; the watermark never goes back', () => {
  const t = new WatermarkTracker(opts)
  t.register(0, 0); t.register(1, 0)
  t.observe(0, 5_000_000); t.touch(0, 0)
  t.observe(1, 1_000_000); t.touch(1, 0)
  assert.equal(t.current(1000), 1_000_000 - 300_001)
  // Partition 0 keeps sending; partition 1 falls silent for the idleness timeout.
  t.touch(0, 31_000)
  assert.equal(t.current(31_000), 5_000_000 - 300_001, 'partition 1 is idle and excluded')
  // Partition 1 comes back with old data: it is active again but cannot pull the watermark back.
  t.touch(1, 32_000); t.observe(1, 1_100_000)
  assert.equal(t.current(32_000), 5_000_000 - 300_001)
  t.observe(1, 6_000_000); t.observe(0, 7_000_000)
  assert.equal(t.current(33_000), 6_000_000 - 300_001)
})

test('when every partition is idle the watermark stays where it is', () => {
  const t = new WatermarkTracker(opts)
  t.register(0, 0)
  t.observe(0, 1_000_000)
  assert.equal(t.current(1), 1_000_000 - 300_001)
  assert.equal(t.current(100_000), 1_000_000 - 300_001)
})

test('restore: checkpointed maxima and watermark come back', () => {
  const t = new WatermarkTracker(opts)
  t.restore([[0, 9_000_000], [3, 8_000_000]], 7_000_000, 50)
  assert.equal(t.value, 7_000_000)
  assert.equal(t.current(60), 8_000_000 - 300_001)
  assert.deepEqual(t.snapshot().sort(), [[0, 9_000_000], [3, 8_000_000]])
})
