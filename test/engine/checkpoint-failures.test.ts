// What a checkpoint does when a step after its snapshot fails. Dead letters that cannot be written make the engine
// skip that checkpoint (a checkpoint must not cover records whose dead letters are not durable) and try again at the
// next; a failed commit of positions to the source is only counted and logged (restarts resume from the checkpoint
// file, not from the commit). Neither stops the run, and nothing is lost.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type DeadLetterRecord, MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import { M } from '../../src/metrics/metrics.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { openFileSource } from '../../src/source/file.ts'
import type { Positions, Source } from '../../src/source/source.ts'
import { MemoryCheckpoints } from '../helpers/checkpoints.ts'

const GROUP_BY = {
  metaData: { name: 'test.checkpoint_failures.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [{ inputColumn: 'amount', operation: 7, windows: [{ length: 1, timeUnit: 0 }] }]
}
const SCHEMA = { type: 'record', name: 'Event', fields: [{ name: 'user_id', type: 'long' }, { name: 'ts', type: 'long' }, { name: 'amount', type: 'double' }] }

/** Dead letters whose first `failures` flushes fail; what a flush made durable is in `durable`. */
class FlakyDeadLetters extends MemoryDeadLetters {
  readonly durable: DeadLetterRecord[] = []
  flushes = 0
  readonly #failures: number

  constructor (failures: number) {
    super()
    this.#failures = failures
  }

  async flush (): Promise<void> {
    if (++this.flushes <= this.#failures) throw new Error('dead-letter output unreachable')
    this.durable.splice(0, this.durable.length, ...this.records)
  }
}

/** 6,000 lines, every 100th malformed (a dead letter). */
function writeInput (path: string): number {
  const lines: string[] = []
  let bad = 0
  for (let i = 0; i < 6000; i++) {
    if (i % 100 === 7) { lines.push('{not json'); bad++; continue }
    lines.push(JSON.stringify({ user_id: i % 50, ts: 1_700_000_000_000 + i * 1000, amount: i }))
  }
  writeFileSync(path, lines.join('\n') + '\n')
  return bad
}

test('checkpoints skip while dead letters cannot be written and go on after; a failed position commit is counted, not fatal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-cp-failures-'))
  const store = new EmbeddedStore(join(dir, 'store'))
  try {
    const input = join(dir, 'events.jsonl')
    const bad = writeInput(input)
    const file = await openFileSource({ path: input, schema: SCHEMA, watermarks: 'event' })
    const commits: Positions[] = []
    let commitCalls = 0
    const source: Source = {
      ...file,
      commit: async positions => {
        if (++commitCalls === 1) throw new Error('broker unreachable')
        commits.push(new Map(positions))
      }
    }
    const deadLetters = new FlakyDeadLetters(2)
    const checkpoints = new MemoryCheckpoints()
    const logged: string[] = []
    const engine = new Engine({
      groupBy: GROUP_BY,
      source,
      store,
      deadLetters,
      log: line => logged.push(line),
      workers: 2,
      ring: { slots: 2, maxRecords: 128, dataBytes: 32 << 10 },
      checkpoints: { storage: checkpoints, intervalMillis: 1 }
    })
    const summary = await engine.run()

    assert.equal(summary.records, 6000)
    assert.equal(engine.metrics.counter(M.deadLetterFlushFailures), 2)
    assert.equal(logged.filter(l => /dead letters not written to memory \(checkpoint skipped/.test(l)).length, 2)
    assert.equal(engine.metrics.counter(M.commitFailures), 1)
    assert.equal(logged.filter(l => /could not commit the checkpoint's positions/.test(l)).length, 1)
    // Two checkpoints were skipped, one commit failed; the others went through, the last one covering everything.
    assert.ok(summary.checkpointsTaken >= 2, `checkpoints taken: ${summary.checkpointsTaken}`)
    assert.equal(summary.checkpointsTaken, deadLetters.flushes - 2)
    assert.equal(commits.length, summary.checkpointsTaken - 1)
    const last = checkpoints.latest(0)!
    assert.deepEqual([[0, last.header.next]], [...commits.at(-1)!])
    // Every dead letter was made durable before the checkpoint that covers its line.
    assert.equal(deadLetters.durable.length, bad)
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
