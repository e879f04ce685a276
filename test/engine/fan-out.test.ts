// A record whose EXPLODE makes rows of several keys is routed to every worker owning one of them (and to worker 0
// for rows without a key); each worker evaluates the whole record and must judge only the rows it owns. A row
// without a key or without a time is reported once, not once per worker the record reached.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { M } from '../../src/metrics/metrics.ts'
import { openFileSource } from '../../src/source/file.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { fixture, readJson } from '../helpers/e2e.ts'
import { runEngine } from '../helpers/engine.ts'
import { groupByPath } from '../helpers/reference.ts'

const ITEM_EVENT = groupByPath('zipline-chronon/python/test/canary/compiled/group_bys/gcp/item_event_canary.actions_v1__0')

test('rows of a fanned-out record without a time are dead-lettered once, a row with a null key is tiled (1 and 3 workers)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-fanout-'))
  try {
    const path = join(dir, 'events.jsonl')
    const lines: string[] = []
    for (let i = 0; i < 30; i++) {
      // four listings and one token that is not a number (CAST gives NULL: a row with a null key)
      const ids = [0, 1, 2, 3].map(j => String(i * 7 + j)).join(',') + ',abc'
      lines.push(JSON.stringify({ event_type: 'view_listing', timestamp: i % 10 === 9 ? null : 1_700_000_000_000 + i * 1000, attributes: { listing_id: ids } }))
    }
    writeFileSync(path, lines.join('\n') + '\n')
    for (const workers of [1, 3]) {
      const source = await openFileSource({ path, schema: fixture('item_event.avsc') })
      const run = await runEngine(readJson(ITEM_EVENT), source, { workers })
      try {
        const reasons = run.deadLetters.records.map(d => `${d.position}: ${d.reason}`).sort()
        const expected: string[] = []
        for (let i = 0; i < 30; i++) {
          // a record without a time: each of its five rows (the row with a null key is a row like the others)
          if (i % 10 === 9) for (let k = 0; k < 5; k++) expected.push(`${i + 1}: missing timestamp: the timeColumn 'timestamp' is null`)
        }
        assert.deepEqual(reasons, expected.sort(), `${workers} worker(s)`)
        assert.equal(run.summary.rows, 27 * 5, `${workers} worker(s): rows aggregated`)
      } finally {
        await run.cleanup()
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// A record fanned out to k workers (EXPLODE) is in k slots but is one record: were each copy acknowledged,
// `records_in` and the latency count would exceed the records read and the lag would go negative. A slot counts
// only the records whose first copy it holds.
test('a fanned-out record is counted once in records_in, lag and latency (3 workers)', async () => {
  const groupBy = readJson(ITEM_EVENT)
  const source = openGeneratorSource(compilePlan(groupBy), parseGeneratorOptions('keys=100,count=5000,seed=2,start=1700000000000,step=1000'), fixture('item_event.avsc'))
  const run = await runEngine(groupBy, source, { workers: 3 })
  try {
    assert.equal(run.summary.records, 5000)
    assert.equal(run.metrics.counter(M.recordsIn), 5000, 'records_in')
    assert.equal(run.summary.lagRecords, 0, 'lag after the end of a bounded input')
    assert.equal(run.metrics.summary(M.latency).count, 5000, 'latency observations')
  } finally {
    await run.cleanup()
  }
})
