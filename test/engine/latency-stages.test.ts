// The latency histogram's three stages (batching, worker, writing) are recorded for the same records as the total,
// and add up to it: a stage that measured from the wrong moment (the coarse engine clock, a tick's time) would not.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { M } from '../../src/metrics/metrics.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { runEngine } from '../helpers/engine.ts'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

test('event_to_store latency splits into batching, worker and writing stages that add up to it', async () => {
  const groupBy = JSON.parse(readFileSync(fileURLToPath(new URL('../../../examples/group_bys/clicks.v1.json', import.meta.url)), 'utf8'))
  for (const workers of [1, 2]) {
    // Paced, so there are many batches, some part-filled (the linger), some waiting for a busy worker.
    const source = openGeneratorSource(compilePlan(groupBy), parseGeneratorOptions('keys=500,count=30000,rate=60000,burst=256,seed=3'))
    const run = await runEngine(groupBy, source, { workers })
    try {
      const total = run.metrics.summary(M.latency)
      const stages = [M.latencyBatching, M.latencyWorker, M.latencyStore].map(m => run.metrics.summary(m))
      assert.equal(total.count, 30_000, 'every record is counted once')
      for (const s of stages) assert.equal(s.count, total.count, 'each stage is recorded for the same records')
      const sum = stages.reduce((a, s) => a + s.mean, 0)
      // Integer milliseconds per batch add up exactly; the histograms keep 3 significant digits.
      assert.ok(Math.abs(sum - total.mean) <= 0.5 + total.mean * 0.01, `stage means ${stages.map(s => s.mean.toFixed(2)).join(' + ')} = ${sum.toFixed(2)}, total mean ${total.mean.toFixed(2)}`)
      assert.ok(stages[1]!.max > 0, 'the workers take time')
      assert.ok(total.max >= Math.max(...stages.map(s => s.max)), 'no stage exceeds the whole')
    } finally {
      await run.cleanup()
    }
  }
})
