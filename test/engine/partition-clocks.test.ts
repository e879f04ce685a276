// Lateness and completeness follow from each partition's own data, exactly: a brute-force oracle walks every
// partition's events in order (judged watermark = max event time before the event − out-of-orderness − 1) and must
// name exactly the events the engine dead-letters as late and exactly the tiles it writes complete. And because
// nothing depends on timing, worker count or batching, runs with 1, 2 and 3 workers, different ring geometries and
// a stop-and-resume from checkpoints in the middle all leave byte-identical stores.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { decodeTileKey } from '../../src/codec/tile-key.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import { fromHex } from '../../src/codec/bytes.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { generateEvents, generatorSchema, openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import type { RecordPusher, Source } from '../../src/source/source.ts'
import { tileStartOf } from '../../src/window/resolution.ts'
import { MemoryCheckpoints } from '../helpers/checkpoints.ts'
import { runEngine } from '../helpers/engine.ts'
import { storeLines } from '../helpers/store-dump.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PROPERTY_GROUP_BY, SCHEMA } from './fixtures/property-group-by.ts'

const OOO = 300_000
const START = 1_700_000_000_000
// Four partitions whose event times drift apart (a partition's events are spaced by its own step), events up to
// 6 minutes out of order (so some fall behind their own partition's watermark), 2 % a day late.
const GEN = `keys=200,zipf=0.8,count=24000,seed=5,start=${START},step=1500,disorder=360000,late=0.02,lateBy=86400000,partitions=4,nulls=0.02`

const plan = compilePlan(PROPERTY_GROUP_BY)
const opts = parseGeneratorOptions(GEN)
const tileSize = plan.tileSizeMillis

/** The generator as an unbounded stream (its end is not the end of event time), optionally stopping early. */
function stream (stopAfter = Infinity, onStop: () => void = () => {}): Source {
  const inner = openGeneratorSource(plan, opts, avroSchemaOf(SCHEMA))
  return {
    ...inner,
    bounded: false,
    async run (pusher: RecordPusher, signal: AbortSignal) {
      let n = 0
      const counting: RecordPusher = {
        ...pusher,
        push: (...a) => { if (++n === stopAfter) onStop(); return pusher.push(...a) },
        pushKeyed: (...a) => { if (++n === stopAfter) onStop(); return pusher.pushKeyed(...a) }
      }
      await inner.run(counting, signal)
    }
  }
}

interface Oracle { late: Set<number>, complete: Set<string>, tiles: Set<string> }

function oracle (): Oracle {
  const { schema, roles } = generatorSchema(plan, opts, avroSchemaOf(SCHEMA))
  const max = new Map<number, number>()
  const late = new Set<number>()
  const tilesOf = new Map<string, number>() // `key@tileStart` → partition
  for (const ev of generateEvents(plan, opts, schema, roles)) {
    const m = max.get(ev.partition) ?? -Infinity
    const tileStart = tileStartOf(ev.ts, tileSize)
    if (tileStart + tileSize - 1 <= m - OOO - 1) {
      late.add(ev.seq)
    } else {
      tilesOf.set(`${String(ev.keyValues[0])}@${tileStart}`, ev.partition)
    }
    if (ev.ts > m) max.set(ev.partition, ev.ts)
  }
  const complete = new Set<string>()
  for (const [tile, p] of tilesOf) {
    const tileStart = Number(tile.slice(tile.indexOf('@') + 1))
    if (tileStart + tileSize - 1 <= max.get(p)! - OOO - 1) complete.add(tile)
  }
  return { late, complete, tiles: new Set(tilesOf.keys()) }
}

/** The store's tiles of one size: `key@tileStart` → isComplete. */
function tilesIn (lines: readonly string[], keyCodec: { decode (b: Uint8Array): unknown[] }, size: number): Map<string, boolean> {
  const out = new Map<string, boolean>()
  for (const l of lines) {
    const [k, v] = l.split(' ') as [string, string]
    if (!k.startsWith('18')) continue // metadata
    const tk = decodeTileKey(fromHex(k))
    if (tk.tileSizeMillis !== size) continue
    out.set(`${String(keyCodec.decode(tk.keyBytes)[0])}@${tk.tileStartMillis}`, v.endsWith('01'))
  }
  return out
}

test('late events and complete tiles are exactly those each partition\'s own clock says (4 partitions, 3 workers)', async () => {
  const o = oracle()
  assert.ok(o.late.size > 500, `late events: ${o.late.size}`)
  const run = await runEngine(PROPERTY_GROUP_BY, stream(), { workers: 3, ring: { maxRecords: 700 }, evaluator: 'column-refs', outOfOrdernessMillis: OOO })
  try {
    const dead = new Set<number>()
    for (const d of run.deadLetters.records) {
      assert.equal(d.code, 'TK_LATE', `unexpected dead letter: ${d.reason}`)
      dead.add(d.position)
    }
    const missing = [...o.late].filter(s => !dead.has(s))
    const extra = [...dead].filter(s => !o.late.has(s))
    assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `late: ${missing.length} missing, ${extra.length} extra`)
    const lines = await storeLines(run.store)
    const keyCodec = new KeyCodec([{ name: 'user_id', type: SCHEMA.fields[0]!.type }])
    const tiles = tilesIn(lines, keyCodec, plan.tileSizeMillis)
    // Rolled-up tiles (the GroupBy has 7-day windows: --rollups auto) are written only once complete.
    for (const size of [3_600_000, 86_400_000]) {
      const rolled = tilesIn(lines, keyCodec, size)
      assert.ok(rolled.size > 0 && [...rolled.values()].every(c => c), `${size} ms tiles: ${rolled.size}, all complete`)
    }
    assert.equal(tiles.size, o.tiles.size)
    let complete = 0
    for (const [tile, isComplete] of tiles) {
      assert.ok(o.tiles.has(tile), `unexpected tile ${tile}`)
      assert.equal(isComplete, o.complete.has(tile), `tile ${tile}: isComplete`)
      if (isComplete) complete++
    }
    assert.ok(complete > 1000 && complete < tiles.size, `complete tiles: ${complete} of ${tiles.size}`)
  } finally {
    await run.cleanup()
  }
})

test('the same stream leaves byte-identical stores with 1, 2 or 3 workers, other batch sizes, and a stop and resume from checkpoints', async () => {
  const runs: { name: string, lines: string[] }[] = []
  for (const [workers, maxRecords] of [[1, 8192], [2, 97], [3, 1500]] as const) {
    const run = await runEngine(PROPERTY_GROUP_BY, stream(), { workers, ring: { maxRecords }, evaluator: 'column-refs', outOfOrdernessMillis: OOO })
    try {
      runs.push({ name: `${workers} worker(s), ${maxRecords}-record slots`, lines: await storeLines(run.store) })
    } finally {
      await run.cleanup()
    }
  }
  // Stopped after 9,000 records (a final checkpoint per partition), resumed with another worker count.
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-resume-'))
  const store = new EmbeddedStore(join(dir, 'store'))
  try {
    const checkpoints = new MemoryCheckpoints()
    const first: Engine = new Engine({
      groupBy: PROPERTY_GROUP_BY,
      source: stream(9000, () => first.stop()),
      store,
      deadLetters: new MemoryDeadLetters(),
      log: () => {},
      workers: 2,
      evaluator: 'column-refs',
      outOfOrdernessMillis: OOO,
      checkpoints: { storage: checkpoints, intervalMillis: 50 }
    })
    const s1 = await first.run()
    assert.ok(s1.records >= 9000 && s1.records < 24_000, `first run read ${s1.records} records`)
    assert.ok(checkpoints.writes >= 4)
    const r2 = await runEngine(PROPERTY_GROUP_BY, stream(), { workers: 3, evaluator: 'column-refs', outOfOrdernessMillis: OOO, store, checkpoints: { storage: checkpoints, intervalMillis: 50 } })
    try {
      runs.push({ name: 'resumed from per-partition checkpoints', lines: await storeLines(store) })
      assert.equal(r2.summary.restoredPartitions, 4)
    } finally {
      await r2.cleanup()
    }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
  for (const r of runs.slice(1)) {
    const differ = r.lines.filter((l, i) => l !== runs[0]!.lines[i])
    assert.equal(r.lines.length, runs[0]!.lines.length, r.name)
    assert.equal(differ.length, 0, `${r.name}: ${differ.length} entries differ from ${runs[0]!.name}`)
  }
})
