// An entity key of 64 KiB or more (one huge string value in a key column) is a record the store cannot take: put
// batches give a key a u16 length. It must be dead-lettered like any other bad record, and the records around it
// stored — not corrupt its batch (whose tiles would be lost) and, after a restart, do it again (a poison pill).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openFileSource } from '../../src/source/file.ts'
import { runEngine } from '../helpers/engine.ts'

const GROUP_BY = {
  metaData: { name: 'test.key_size.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { id: 'id', x: 'x' }, timeColumn: 'ts' } } }],
  keyColumns: ['id'],
  aggregations: [{ inputColumn: 'x', operation: 6 }]
}
const T0 = 1_700_000_000_000

async function runWithHugeKey (untiled: boolean): Promise<{ counts: unknown[], dead: string[], unhandled: unknown[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-key-size-'))
  const unhandled: unknown[] = []
  const onUnhandled = (e: unknown): void => { unhandled.push(e) }
  process.on('unhandledRejection', onUnhandled)
  try {
    const path = join(dir, 'events.jsonl')
    writeFileSync(path, [{ id: 'a', ts: T0, x: 1 }, { id: 'k'.repeat(70_000), ts: T0 + 1, x: 2 }, { id: 'b', ts: T0 + 2, x: 3 }].map(r => JSON.stringify(r)).join('\n') + '\n')
    const run = await runEngine(GROUP_BY, await openFileSource({ path }), { untiled })
    try {
      await new Promise(resolve => setTimeout(resolve, 50)) // let an unhandled rejection surface
      const counts = [await run.fetch(['a'], T0 + 10), await run.fetch(['b'], T0 + 10)].map(f => f.x_count)
      return { counts, dead: run.deadLetters.records.map(d => d.reason), unhandled }
    } finally {
      await run.cleanup()
    }
  } finally {
    process.off('unhandledRejection', onUnhandled)
    rmSync(dir, { recursive: true, force: true })
  }
}

test('untiled: an entity key of 64 KiB or more is dead-lettered, the other events are stored', async () => {
  const r = await runWithHugeKey(true)
  assert.deepEqual(r.unhandled, [])
  assert.deepEqual(r.counts, [1, 1])
  assert.equal(r.dead.length, 1)
  assert.match(r.dead[0]!, /entity key is 70004 bytes; at most [\d,]+ can be stored/)
})

test('tiled: an entity key of 64 KiB or more is dead-lettered, the other events are tiled', async () => {
  const r = await runWithHugeKey(false)
  assert.deepEqual(r.unhandled, [], `unhandled: ${r.unhandled.map(String).join('; ')}`)
  assert.deepEqual(r.counts, [1, 1])
  assert.equal(r.dead.length, 1)
  assert.match(r.dead[0]!, /entity key is 70004 bytes; at most [\d,]+ can be stored/)
})
