// The untiled pipeline is idempotent in the store: every stored event is keyed by its row identity (source partition,
// position, row index within the record), so running the same bounded input again — as a restart replays what its
// checkpoint had not covered — rewrites the same entries. Here an EXPLODE makes several rows of one key with one
// event time from a record (only the row index tells them apart), and the second run uses another worker count.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { decodeEventKey, readIdentity } from '../../src/codec/event-key.ts'
import { fromHex } from '../../src/codec/bytes.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { openFileSource } from '../../src/source/file.ts'
import { runEngine } from '../helpers/engine.ts'
import { MemoryCheckpoints } from '../helpers/checkpoints.ts'
import { dumpLines } from '../helpers/store-dump.ts'

const H = { length: 1, timeUnit: 0 }
const D = { length: 1, timeUnit: 1 }
const GROUP_BY = {
  metaData: { name: 'test.untiled_replay.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', item: "EXPLODE(SPLIT(items, ','))", amount: 'amount' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'item', operation: 6, windows: [H, D] }, // COUNT
    { inputColumn: 'item', operation: 6 },
    { inputColumn: 'amount', operation: 7, windows: [H] }, // SUM
    { inputColumn: 'item', operation: 13, argMap: { k: '4' }, windows: [D] }, // LAST_K: equal times are ordered by identity
    { inputColumn: 'item', operation: 17, windows: [D] } // HISTOGRAM
  ]
}
const SCHEMA = {
  type: 'record',
  name: 'Event',
  fields: [{ name: 'user_id', type: 'long' }, { name: 'ts', type: 'long' }, { name: 'items', type: 'string' }, { name: 'amount', type: ['null', 'double'] }]
}
const START = 1_700_000_000_000
const WORDS = ['a', 'b', 'c', 'd']

/** 600 records of 12 users, three per second (equal event times), 1–4 items each, repeats within a record. */
function writeInput (path: string): Map<number, number> {
  const lines: string[] = []
  const items = new Map<number, number>()
  for (let i = 0; i < 600; i++) {
    const user = (i * 7) % 12
    const n = 1 + (i % 4)
    const list = Array.from({ length: n }, (_, j) => WORDS[(i + j * (i % 3)) % WORDS.length]).join(',')
    lines.push(JSON.stringify({ user_id: user, ts: START + Math.floor(i / 3) * 1000, items: list, amount: i % 5 === 0 ? null : i / 4 }))
    items.set(user, (items.get(user) ?? 0) + n)
  }
  writeFileSync(path, lines.join('\n') + '\n')
  return items
}

test('untiled: the same input run twice into one store (2 workers, then 3) leaves the same entries and the same features', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-untiled-replay-'))
  const storeDir = join(dir, 'store')
  try {
    const input = join(dir, 'events.jsonl')
    const itemsPerUser = writeInput(input)
    const rows = [...itemsPerUser.values()].reduce((a, b) => a + b, 0)
    const times = [START + 600 * 1000 / 3 / 2 + 1, START + 200_000, START + 200_000 + 3_600_000, START + 2 * 86_400_000]
    const snapshot = async (): Promise<{ lines: string[], features: string[] }> => {
      const lines = await dumpLines(storeDir)
      const store = new EmbeddedStore(storeDir, { readOnly: true })
      try {
        const read = await loadReadSide(compilePlan(GROUP_BY), store)
        const features: string[] = []
        for (const user of [...itemsPerUser.keys()].sort((a, b) => a - b)) {
          for (const q of times) features.push(`${user}@${q} ${JSON.stringify((await fetchFeatures(read, store, [user], q)).features)}`)
        }
        return { lines, features }
      } finally {
        await store.close()
      }
    }

    const runs: { lines: string[], features: string[] }[] = []
    for (const workers of [2, 3]) {
      const store = new EmbeddedStore(storeDir)
      const run = await runEngine(GROUP_BY, await openFileSource({ path: input, schema: SCHEMA }), { workers, store, untiled: true })
      try {
        assert.equal(run.summary.rows, rows)
        assert.equal(run.summary.tilesWritten, rows, 'one put per row')
        assert.equal(run.deadLetters.records.length, 0)
      } finally {
        await run.cleanup()
        await store.close()
      }
      runs.push(await snapshot())
    }
    const [first, second] = runs as [typeof runs[0], typeof runs[0]]
    // Metadata plus one entry per row: the second run added nothing.
    assert.equal(first.lines.length, 1 + rows)
    assert.deepEqual(second.lines, first.lines)
    assert.deepEqual(second.features, first.features)
    // Every row is there once: each user's unwindowed COUNT is its number of items.
    for (const line of first.features.filter(f => f.includes(`@${times[3]!} `))) {
      const user = Number(line.slice(0, line.indexOf('@')))
      assert.equal(JSON.parse(line.slice(line.indexOf(' ') + 1)).item_count, itemsPerUser.get(user), line)
    }
    // Event keys decode to the rows' identities: file line (1-based), row index within the record.
    const events = first.lines.filter(l => !l.startsWith(Buffer.from('CHRONON_METADATA/').toString('hex'))).map(l => decodeEventKey(fromHex(l.split(' ')[0]!)))
    assert.equal(events.length, rows)
    const ids = new Set(events.map(e => { const id = readIdentity(e.identity); return `${id.partition}:${id.position}:${id.row}` }))
    assert.equal(ids.size, rows)
    assert.ok(events.every(e => e.dataset === 'TEST_UNTILED_REPLAY_V1_STREAMING' && readIdentity(e.identity).position >= 1 && readIdentity(e.identity).position <= 600))
    assert.ok(events.some(e => readIdentity(e.identity).row === 3), 'rows of an EXPLODE are numbered')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('untiled: a checkpoint of an untiled run does not restore into a tiled one (nor the reverse)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-untiled-cp-'))
  try {
    const input = join(dir, 'events.jsonl')
    writeInput(input)
    const run = async (untiled: boolean, cps: MemoryCheckpoints): Promise<void> => {
      const store = new EmbeddedStore(join(dir, untiled ? 'untiled' : 'tiled'))
      try {
        const engine = new Engine({ groupBy: GROUP_BY, source: await openFileSource({ path: input, schema: SCHEMA }), store, deadLetters: new MemoryDeadLetters(), log: () => {}, untiled, checkpoints: { storage: cps, intervalMillis: 60_000 } })
        await engine.run()
      } finally {
        await store.close()
      }
    }
    const refused = (e: unknown): boolean => isTilekilnError(e) && e.code === 'TK_CHECKPOINT' && /tiled\/untiled/.test(e.message)
    const untiled = new MemoryCheckpoints()
    await run(true, untiled)
    assert.ok(untiled.latest() !== null, 'the untiled run took its final checkpoint')
    await assert.rejects(run(false, untiled), refused)
    await run(true, untiled) // same mode: restores (and finds nothing left to read)
    const tiled = new MemoryCheckpoints()
    await run(false, tiled)
    await assert.rejects(run(true, tiled), refused)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
