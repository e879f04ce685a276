// Records per worker batch (engine/batch-sizer.ts): a worker's batches start at `records`, double while the source
// outruns it (up to `maxRecords`) and drop back once it waits for records. Batching changes how often a busy tile is
// written, never what the store ends up holding.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { BatchSizer } from '../../src/engine/batch-sizer.ts'
import type { EngineOptions } from '../../src/engine/engine.ts'
import { M } from '../../src/metrics/metrics.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import type { RecordPusher, Source } from '../../src/source/source.ts'
import { runEngine } from '../helpers/engine.ts'
import { storeLines } from '../helpers/store-dump.ts'
import { repoRoot } from '../helpers/reference.ts'

test('the sizer doubles a worker\'s batches while it is outrun, up to the most, and resets them when it waits', () => {
  const s = new BatchSizer(2, { records: 100, maxRecords: 700 })
  assert.deepEqual([s.limit(0), s.limit(1)], [100, 100])
  s.outrun(0)
  assert.deepEqual([s.limit(0), s.limit(1)], [200, 100], 'one worker\'s batches grow, not the other\'s')
  s.outrun(0); s.outrun(0)
  assert.equal(s.limit(0), 700, 'clamped to the most (800 > 700)')
  s.outrun(0)
  assert.equal(s.limit(0), 700)
  s.waited(0)
  assert.equal(s.limit(0), 100)
  const fixed = new BatchSizer(1, { records: 64, maxRecords: 64 })
  fixed.outrun(0)
  assert.equal(fixed.limit(0), 64)
  assert.throws(() => new BatchSizer(1, { records: 0, maxRecords: 64 }), /records \(0\) must be ≥ 1/)
  assert.throws(() => new BatchSizer(1, { records: 128, maxRecords: 64 }), /≤ maxRecords \(64\)/)
})

const GROUP_BY = JSON.parse(readFileSync(join(repoRoot, 'examples', 'group_bys', 'clicks.v1.json'), 'utf8'))
const EVENTS = 120_000
const TAIL = 25
const START = Date.UTC(2024, 0, 1)

/** The generator's events, the last TAIL of them 20 ms apart (a source that slows to a trickle). */
function slowingSource (): Source {
  const inner = openGeneratorSource(compilePlan(GROUP_BY), parseGeneratorOptions(`keys=500,count=${EVENTS},seed=9,start=${START},step=20`))
  return {
    ...inner,
    async run (pusher: RecordPusher, signal: AbortSignal) {
      let n = 0
      const pause = (p: Promise<void> | undefined): Promise<void> | undefined =>
        ++n <= EVENTS - TAIL ? p : (async () => { await p; await new Promise(resolve => setTimeout(resolve, 20)) })()
      await inner.run({ ...pusher, push: (...a) => pause(pusher.push(...a)), pushKeyed: (...a) => pause(pusher.pushKeyed(...a)) }, signal)
    }
  }
}

async function run (batch: EngineOptions['batch']): Promise<{ records: number, batches: number, lastLimit: number | undefined, lines: string[], tilesWritten: number }> {
  const r = await runEngine(GROUP_BY, slowingSource(), { workers: 1, batch })
  try {
    return {
      records: r.metrics.counter(M.recordsIn),
      batches: r.metrics.counter(M.workerBatches),
      lastLimit: r.metrics.labelled(M.batchLimit, 0),
      lines: await storeLines(r.store),
      tilesWritten: r.summary.tilesWritten
    }
  } finally {
    await r.cleanup()
  }
}

test('batches grow while the source outruns the worker and shrink when it trickles; the store is the same', { timeout: 120_000 }, async () => {
  const fixed = await run({ records: 64, maxRecords: 64 })
  const growing = await run({ records: 64, maxRecords: 4096 })
  assert.equal(fixed.records, EVENTS)
  assert.equal(growing.records, EVENTS)
  // Fixed: no batch above 64 records.
  assert.ok(fixed.batches >= EVENTS / 64, `${fixed.batches} batches of at most 64 records for ${EVENTS} records`)
  // Growing: 64-record tasks cannot keep up with the generator, so batches grow — far fewer of them.
  assert.ok(growing.batches < fixed.batches / 4, `${growing.batches} growing batches against ${fixed.batches} fixed ones`)
  assert.ok(growing.tilesWritten < fixed.tilesWritten, `${growing.tilesWritten} tile writes growing, ${fixed.tilesWritten} fixed`)
  // The trickle at the end: each record lingers out to an idle worker, whose batches are back at 64 records.
  assert.equal(growing.lastLimit, 64)
  assert.equal(fixed.lastLimit, 64)
  assert.ok(fixed.lines.length > 500)
  assert.deepEqual(growing.lines, fixed.lines)
})
