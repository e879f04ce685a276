// A checkpoint is a cut: when its file becomes durable, the store must already hold every write of every task whose
// effects the snapshot contains — above all the final (isComplete) write of each tile that closed before the
// snapshot, since the snapshot no longer holds that tile and nothing would write it again. This test crashes the
// engine at *every* checkpoint, in effect: a store whose writes land late records its contents at the moment each
// checkpoint file is written; each of those (store, checkpoint) pairs is then resumed to the end of the input, and
// the resumed store must equal an uninterrupted run's byte for byte. Checkpoints are taken back to back, so some
// overlap the end of the input, when the last tiles close.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { toHex } from '../../src/codec/bytes.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import type { EventPuts } from '../../src/sink/event-puts.ts'
import type { Fence, StoredEvent, StoredTile, TileStore } from '../../src/sink/store.ts'
import type { TilePuts } from '../../src/sink/tile-puts.ts'
import { openFileSource } from '../../src/source/file.ts'
import { Random } from '../../src/source/generator.ts'
import { MemoryCheckpoints } from '../helpers/checkpoints.ts'

const GROUP_BY = {
  metaData: { name: 'test.checkpoint_cut.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'amount', operation: 7, windows: [{ length: 1, timeUnit: 0 }] }, // SUM 1h (5-minute tiles)
    { inputColumn: 'amount', operation: 6, windows: [{ length: 1, timeUnit: 0 }] }, // COUNT
    { inputColumn: 'amount', operation: 13, argMap: { k: '3' }, windows: [{ length: 1, timeUnit: 0 }] } // LAST_K (TypeScript part)
  ]
}
const SCHEMA = { type: 'record', name: 'Event', fields: [{ name: 'user_id', type: 'long' }, { name: 'ts', type: 'long' }, { name: 'amount', type: 'double' }] }
const START = 1_700_000_000_000

/**
 * Tiles in a Map (value: tile hex @ the tile's latest event time, which a restore must carry over too); every write
 * lands `delayMillis` after it was asked for (a slow store), in order.
 */
class SlowMemoryStore implements TileStore {
  readonly description = 'slow memory'
  readonly tiles: Map<string, string>
  readonly #delay: number

  constructor (delayMillis: number, initial: ReadonlyMap<string, string> = new Map()) {
    this.#delay = delayMillis
    this.tiles = new Map(initial)
  }

  async writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts, _fence?: Fence): Promise<void> {
    const batch: [string, string][] = []
    for (let i = 0; i < puts.count; i++) batch.push([`${dataset}/${toHex(puts.key(i))}/${tileSizeMillis}/${puts.tileStart(i)}`, `${toHex(puts.value(i))}@${puts.latest(i)}`])
    await new Promise(resolve => setTimeout(resolve, this.#delay))
    for (const [k, v] of batch) this.tiles.set(k, v)
  }

  async readTiles (): Promise<StoredTile[]> { return [] }
  async readTileRanges (): Promise<StoredTile[][][]> { return [] }
  async appendEvents (_dataset: string, _events: EventPuts): Promise<void> { throw new Error('tiled test') }
  async readEvents (): Promise<StoredEvent[]> { return [] }
  async putMetadata (name: string, value: string): Promise<void> { this.tiles.set(`meta/${name}`, value) }
  async getMetadata (name: string): Promise<string | undefined> { return this.tiles.get(`meta/${name}`) }
  async * entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]> { /* compared through .tiles */ }
  // Scale-out bookkeeping: not used by this test.
  readonly maxKeyBytes = 0xffff
  async acquireEpoch (): Promise<number> { throw new Error('not used') }
  async readCheckpoint (): Promise<null> { return null }
  async writeCheckpoint (): Promise<boolean> { throw new Error('not used') }
  async checkpointPartitions (): Promise<number[]> { return [] }
  /** Like LMDB's sync to disk: takes a while even with nothing pending. */
  async flushed (): Promise<void> { await new Promise(resolve => setTimeout(resolve, 5)) }
  async close (): Promise<void> {}
}

interface Cut { readonly seq: number, readonly checkpoints: MemoryCheckpoints, readonly store: Map<string, string> }

/** Records, as each checkpoint becomes durable, the checkpoints and what the store held at that moment. */
function recording (store: SlowMemoryStore): { checkpoints: MemoryCheckpoints, cuts: Cut[] } {
  const checkpoints = new MemoryCheckpoints()
  const cuts: Cut[] = []
  checkpoints.onWrite = () => { cuts.push({ seq: cuts.length + 1, checkpoints: new MemoryCheckpoints(checkpoints), store: new Map(store.tiles) }) }
  return { checkpoints, cuts }
}

/** 12,000 events of 300 users over ~3 hours, up to a minute out of order. */
function writeInput (path: string): void {
  const rnd = new Random(11)
  const lines: string[] = []
  for (let i = 0; i < 12_000; i++) {
    const ts = START + i * 900 - rnd.int(60_000)
    lines.push(JSON.stringify({ user_id: rnd.int(300), ts, amount: rnd.int(10_000) / 100 }))
  }
  writeFileSync(path, lines.join('\n') + '\n')
}

async function run (input: string, store: SlowMemoryStore, checkpoints: MemoryCheckpoints, intervalMillis: number): Promise<void> {
  const engine = new Engine({
    groupBy: GROUP_BY,
    source: await openFileSource({ path: input, schema: SCHEMA, watermarks: 'event' }),
    store,
    deadLetters: new MemoryDeadLetters(),
    log: () => {},
    workers: 2,
    outOfOrdernessMillis: 60_000,
    // Small slots: the source waits for workers often, so checkpoints interleave with the input, not only follow it.
    ring: { slots: 2, maxRecords: 256, dataBytes: 64 << 10 },
    checkpoints: { storage: checkpoints, intervalMillis }
  })
  await engine.run()
}

test('resuming from any checkpoint, with the store as it was when the checkpoint was written, ends in the uninterrupted run\'s store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-cut-'))
  try {
    const input = join(dir, 'events.jsonl')
    writeInput(input)
    const reference = new SlowMemoryStore(0)
    await run(input, reference, new MemoryCheckpoints(), 60_000)
    const closed = [...reference.tiles.values()].filter(v => v.split('@')[0]!.endsWith('0201')).length
    assert.ok(closed > 1000, `tiles written complete: ${closed}`)

    // Back to back (1 ms) and spaced (10, 30 ms): the spaced ones are the likelier to start while the input's end is
    // being drained, when the last tiles close.
    for (const interval of [1, 10, 30]) {
      const store = new SlowMemoryStore(15)
      const rec = recording(store)
      await run(input, store, rec.checkpoints, interval)
      assert.deepEqual(store.tiles, reference.tiles, `the checkpointing run itself (every ${interval} ms)`)
      assert.ok(rec.cuts.length >= 4, `only ${rec.cuts.length} checkpoints`)
      // Every checkpoint near the end (where tiles close while checkpoints are under way), and a sample before.
      const cuts = rec.cuts.filter((_c, i) => i >= rec.cuts.length - 4 || i % 4 === 0)
      for (const cut of cuts) {
        const resumed = new SlowMemoryStore(15, cut.store)
        await run(input, resumed, new MemoryCheckpoints(cut.checkpoints), 60_000)
        const differ = [...reference.tiles].filter(([k, v]) => resumed.tiles.get(k) !== v)
        assert.equal(differ.length, 0, `every ${interval} ms, resumed from checkpoint ${cut.seq} of ${rec.cuts.length}: ${differ.length} tile(s) differ, e.g. ${differ[0]?.[0]} = ${resumed.tiles.get(differ[0]?.[0] ?? '')}, uninterrupted ${differ[0]?.[1]}`)
        assert.equal(resumed.tiles.size, reference.tiles.size)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
