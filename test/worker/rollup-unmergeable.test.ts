// Rolled-up tiles whose fine tiles do not merge (worker/rollups.ts, "unmergeable"): an element-wise aggregation over
// a list column whose length changes between two fine tiles of one hour or day. The fine tiles are written as they
// are; the rolled-up tile is never written with a value: in its place goes an empty tile not marked complete (which
// every reader skips, falling back to the fine tiles, and which hides any older complete version), it is reported
// once (takeUnmergeable), the state goes on, and a checkpoint carries the mark (flag bit 7, checkpoint format 5).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { decodeCheckpoint, encodeCheckpoint, type PartitionCheckpoint } from '../../src/checkpoint/partition-checkpoint.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { bindGroupBy, type BoundGroupBy } from '../../src/config/bind.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { compileColumnRefs } from '../../src/expr/column-refs.ts'
import { isComplete } from '../../src/fetch/tile-cover.ts'
import { TilePuts } from '../../src/sink/tile-puts.ts'
import { Random } from '../../src/source/generator.ts'
import { DAY, HOUR, tileStartOf } from '../../src/window/resolution.ts'
import { TileState, type StateSnapshot } from '../../src/worker/tile-state.ts'
import { crc32 } from 'node:zlib'

const FIVE_MIN = 5 * 60_000
const T0 = Date.UTC(2023, 10, 14) // a day start
const WINDOWS = [{ length: 1, timeUnit: 0 }, { length: 30, timeUnit: 1 }]

/** SUM element-wise over a list<long> (the tile part that can fail to merge), beside a plain SUM and a COUNT. */
function setup (): BoundGroupBy {
  const plan = compilePlan({
    metaData: { name: 'rollups.unmergeable' },
    keyColumns: ['k'],
    sources: [{ events: { query: { timeColumn: 'ts' } } }],
    aggregations: [
      { inputColumn: 'v', operation: 7, elementWise: true, windows: WINDOWS },
      { inputColumn: 'l', operation: 7, windows: WINDOWS },
      { inputColumn: 'l', operation: 6, windows: WINDOWS }
    ]
  })
  const schema = T.struct('In', [{ name: 'k', type: T.string }, { name: 'ts', type: T.long }, { name: 'v', type: T.list(T.long) }, { name: 'l', type: T.long }]) as StructType
  return bindGroupBy(plan, schema, compileColumnRefs)
}

function fresh (bound: BoundGroupBy): TileState {
  return new TileState(bound, new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true }), { allowedLatenessMillis: 0, trigger: { kind: 'always' }, rowCapacity: 64, rollups: [HOUR, DAY] })
}

interface Written { readonly size: number, readonly key: string, readonly start: number, readonly hex: string }

/** The final fine tiles and the rolled-up tiles written since `begin`. */
function collect (bound: BoundGroupBy, state: TileState, fine: Written[], coarse: Written[]): void {
  state.fireDirty()
  const puts = state.puts.count > 0 ? new TilePuts(state.puts.finish()) : null
  for (let i = 0; puts !== null && i < puts.count; i++) {
    const hex = toHex(puts.value(i))
    if (isComplete(puts.value(i))) fine.push({ size: bound.plan.tileSizeMillis, key: toHex(puts.key(i)), start: puts.tileStart(i), hex })
  }
  for (const r of state.takeRollups()) {
    const p = new TilePuts(r.puts, r.partitions, r.latest, r.tileSizeMillis)
    for (let i = 0; i < p.count; i++) coarse.push({ size: r.tileSizeMillis, key: toHex(p.key(i)), start: p.tileStart(i), hex: toHex(p.value(i)) })
  }
  state.begin()
}

/** Folds one event as the worker does: a row an aggregation refuses (TK_INPUT) is a dead letter, counted here. */
function fold (bound: BoundGroupBy, state: TileState, rec: Record<string, unknown>, watermark: number, partition = 0): 'folded' | 'late' | 'refused' {
  const out: unknown[] = new Array(bound.query.columns.length)
  bound.query.run(rec, out, () => {})
  const ts = out[bound.tsIndex] as number
  const tileStart = tileStartOf(ts, bound.plan.tileSizeMillis)
  if (state.isLate(tileStart, watermark)) return 'late'
  try {
    state.row(out, ts, tileStart, 0, partition)
  } catch (e) {
    if (isTilekilnError(e) && e.code === 'TK_INPUT') return 'refused'
    throw e
  }
  return 'folded'
}

/** The empty, not complete tile written in place of an unmergeable rolled-up tile. */
function marker (bound: BoundGroupBy): string {
  return toHex(bound.tileCodec.encode(bound.aggregators.map(() => null), false))
}

/** The read side's merge of fine tiles (decoded, ascending), or 'unmergeable' when an aggregator refuses it. */
function mergeOf (bound: BoundGroupBy, parts: readonly Written[]): string {
  const aggs = bound.aggregators
  const acc: unknown[] = aggs.map(() => null)
  try {
    for (const f of [...parts].sort((a, b) => a.start - b.start)) {
      const { irs } = bound.tileCodec.decode(Buffer.from(f.hex, 'hex'))
      irs.forEach((v, p) => { if (v !== null) acc[p] = aggs[p]!.merge(acc[p] ?? null, aggs[p]!.denormalize(v)) })
    }
  } catch (e) {
    if (isTilekilnError(e) && e.code === 'TK_INPUT') return 'unmergeable'
    throw e
  }
  return toHex(bound.tileCodec.encode(acc.map((ir, p) => aggs[p]!.normalize(ir ?? null)), true))
}

test('a list whose length changes between two fine tiles of an hour: fine tiles written, the hour and day tiles not (an incomplete empty tile in their place), reported once each, and the state goes on', () => {
  const bound = setup()
  const state = fresh(bound)
  const fine: Written[] = []
  const coarse: Written[] = []
  state.begin()
  // a: 3 elements, then 2 in the next fine tile of the same hour; in the next hour 3 and 3 again
  // b: 2 and 2 (mergeable), same hours
  const evs = [
    { k: 'a', ts: T0 + 1000, v: [1, 2, 3], l: 1 },
    { k: 'b', ts: T0 + 2000, v: [1, 1], l: 1 },
    { k: 'a', ts: T0 + FIVE_MIN + 1000, v: [4, 5], l: 2 },
    { k: 'b', ts: T0 + FIVE_MIN + 2000, v: [2, 2], l: 2 },
    { k: 'a', ts: T0 + HOUR + 1000, v: [7, 7, 7], l: 3 },
    { k: 'a', ts: T0 + HOUR + FIVE_MIN + 1000, v: [1, 1, 1], l: 4 }
  ]
  for (const e of evs) assert.equal(fold(bound, state, e, -Infinity), 'folded')
  // every fine tile of the first hour closes; the first hour's rolled-up tiles close too
  assert.doesNotThrow(() => state.close(0, T0 + HOUR - 1))
  collect(bound, state, fine, coarse)
  const reports = state.takeUnmergeable()
  assert.equal(reports.length, 2, JSON.stringify(reports)) // a's hour and a's day (the day is refused now, written later)
  for (const r of reports) {
    assert.equal(r.partition, 0)
    assert.equal(r.tileStart, T0)
    assert.equal(r.fineTileStart, T0 + FIVE_MIN)
    assert.equal(r.key, '{"k":"a"}')
    assert.match(r.reason, /Tensor dimensions must match for merge: left=3, right=2/)
  }
  assert.deepEqual(reports.map(r => r.tileSizeMillis).sort((x, y) => x - y), [HOUR, DAY])
  assert.deepEqual(state.takeUnmergeable(), [], 'reported once')
  // a second close of the partition (the engine was stuck here: every later close threw again)
  assert.doesNotThrow(() => state.close(0, T0 + HOUR + 1))
  assert.doesNotThrow(() => state.close(0, Infinity))
  collect(bound, state, fine, coarse)
  assert.deepEqual(state.takeUnmergeable(), [])
  assert.equal(state.liveEntries, 0)
  assert.equal(state.openRollups, 0)

  assert.equal(fine.length, 6, 'every fine tile is written, complete')
  const ka = toHex(bound.keyCodec.encode(['a']))
  const kb = toHex(bound.keyCodec.encode(['b']))
  const finesOf = (key: string, start: number, size: number): Written[] => fine.filter(f => f.key === key && f.start >= start && f.start < start + size)
  const byId = new Map(coarse.map(c => [`${c.size}|${c.key}|${c.start}`, c.hex]))
  assert.equal(coarse.length, byId.size, 'a rolled-up tile was written twice')
  assert.equal(byId.get(`${HOUR}|${ka}|${T0}`), marker(bound), 'a\'s first hour: the empty incomplete tile')
  assert.equal(byId.get(`${DAY}|${ka}|${T0}`), marker(bound), 'a\'s day: the empty incomplete tile')
  assert.equal(byId.get(`${HOUR}|${ka}|${T0 + HOUR}`), mergeOf(bound, finesOf(ka, T0 + HOUR, HOUR)), 'a\'s second hour merges')
  assert.equal(byId.get(`${HOUR}|${kb}|${T0}`), mergeOf(bound, finesOf(kb, T0, HOUR)))
  assert.equal(byId.get(`${DAY}|${kb}|${T0}`), mergeOf(bound, finesOf(kb, T0, DAY)))
  assert.equal(byId.size, 5)
  assert.equal(mergeOf(bound, finesOf(ka, T0, DAY)), 'unmergeable')
})

/** Snapshot flags of entries by (rolled-up size index, unmergeable). */
function flagsOf (snap: StateSnapshot): number[] { return [...snap.timers] }

test('the unmergeable mark survives a snapshot and restore (flag bit 7, checkpoint format 5): the restored state does not write the tile either, nor merge into it', () => {
  const bound = setup()
  const run = (restore: boolean): { fine: Written[], coarse: Written[], flags: number[] } => {
    let state = fresh(bound)
    const fine: Written[] = []
    const coarse: Written[] = []
    let flags: number[] = []
    state.begin()
    fold(bound, state, { k: 'a', ts: T0 + 1000, v: [1, 2, 3], l: 1 }, -Infinity)
    fold(bound, state, { k: 'a', ts: T0 + FIVE_MIN + 1000, v: [4, 5], l: 2 }, -Infinity)
    state.close(0, T0 + 2 * FIVE_MIN - 1) // both fine tiles close: the hour and the day are unmergeable now
    collect(bound, state, fine, coarse)
    assert.equal(state.takeUnmergeable().length, 2)
    if (restore) {
      const snap = state.snapshot()
      flags = flagsOf(snap)
      // through the checkpoint's bytes, as a daemon taking the partition over reads them
      const bytes = encodeCheckpoint(checkpointOf(snap, [HOUR, DAY]))
      // Format 5 only for a checkpoint with a mark (an older daemon reads every other one).
      assert.equal(Buffer.from(bytes).readUInt32LE(4), flags.some(f => (f & 0x80) !== 0) ? 5 : 4)
      const cp = decodeCheckpoint(bytes, 'under test')
      state = fresh(bound)
      state.restore({ ...snap, entries: cp.entries, timers: cp.timers, latest: cp.latest }, new Map([[0, T0 + 2 * FIVE_MIN - 1]]), 0, cp.header.rollups)
      state.begin()
    }
    // later fine tiles of the same hour: two elements, as the second tile (they would merge into a fresh hour)
    fold(bound, state, { k: 'a', ts: T0 + 2 * FIVE_MIN + 1000, v: [1, 1], l: 3 }, T0 + 2 * FIVE_MIN - 1)
    state.close(0, Infinity)
    collect(bound, state, fine, coarse)
    assert.deepEqual(state.takeUnmergeable(), [], 'not reported again')
    assert.equal(state.liveEntries, 0)
    return { fine, coarse, flags }
  }
  const straight = run(false)
  const restored = run(true)
  assert.deepEqual(restored.flags.filter(f => f !== 0).sort(), [0x80 | (1 << 1), 0x80 | (2 << 1)], 'the hour and day entries are marked')
  assert.deepEqual(restored.coarse, straight.coarse)
  assert.deepEqual(restored.fine, straight.fine)
  assert.deepEqual(straight.coarse.map(c => c.hex), [marker(bound), marker(bound)])
})

function checkpointOf (snap: StateSnapshot, rollups: readonly number[]): PartitionCheckpoint {
  return {
    header: { groupBy: 'rollups.unmergeable', fingerprint: 'f', source: 's', partition: 0, next: 0, epoch: 1, takenAt: 0, clock: { maxTs: 0, watermark: 0 } as never, originNext: [], entries: snap.timers.length, rollups },
    entries: snap.entries,
    timers: snap.timers,
    latest: snap.latest
  }
}

/** The same checkpoint bytes under another format number (the CRC made again). */
function asFormat (bytes: Uint8Array, format: number): Uint8Array {
  const b = Buffer.from(bytes)
  b.writeUInt32LE(format, 4)
  b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4)
  return b
}

test('a format 4 checkpoint (open rolled-up tiles, no mark) still restores: the same rolled-up tiles as an uninterrupted run; one with flag bit 7 is refused', () => {
  const bound = setup()
  const evs = [
    { k: 'a', ts: T0 + 1000, v: [1, 2], l: 1 },
    { k: 'a', ts: T0 + FIVE_MIN + 1000, v: [3, 4], l: 2 },
    { k: 'b', ts: T0 + 1000, v: [1], l: 1 }
  ]
  const later = { k: 'a', ts: T0 + 3 * FIVE_MIN, v: [5, 6], l: 3 }
  const run = (format: number | null): Written[] => {
    let state = fresh(bound)
    const fine: Written[] = []
    const coarse: Written[] = []
    state.begin()
    for (const e of evs) fold(bound, state, e, -Infinity)
    state.close(0, T0 + 2 * FIVE_MIN - 1)
    collect(bound, state, fine, coarse)
    if (format !== null) {
      const snap = state.snapshot()
      assert.ok([...snap.timers].some(f => f >> 1 !== 0), 'the snapshot holds open rolled-up tiles')
      // No mark: written as format 4, which a daemon of the version before (formats 3 and 4) reads.
      assert.equal(Buffer.from(encodeCheckpoint(checkpointOf(snap, [HOUR, DAY]))).readUInt32LE(4), 4)
      const bytes = asFormat(encodeCheckpoint(checkpointOf(snap, [HOUR, DAY])), format)
      const cp = decodeCheckpoint(bytes, 'under test')
      state = fresh(bound)
      state.restore({ ...snap, entries: cp.entries, timers: cp.timers, latest: cp.latest }, new Map([[0, T0 + 2 * FIVE_MIN - 1]]), 0, cp.header.rollups)
      state.begin()
    }
    fold(bound, state, later, T0 + 2 * FIVE_MIN - 1)
    state.close(0, Infinity)
    collect(bound, state, fine, coarse)
    return coarse
  }
  const straight = run(null)
  assert.equal(straight.length, 4)
  assert.ok(straight.every(c => isComplete(Buffer.from(c.hex, 'hex'))))
  assert.deepEqual(run(4), straight)
  assert.deepEqual(run(5), straight)
  // format 4 had no bit 7: a format 4 checkpoint with it is damaged, not an unmergeable mark
  const snap: StateSnapshot = { entries: new ArrayBuffer(4), partitions: new Int32Array(0), timers: Uint8Array.of(0x80 | 2), latest: Float64Array.of(0) }
  assert.throws(() => decodeCheckpoint(asFormat(encodeCheckpoint(checkpointOf(snap, [HOUR])), 4), 'under test'), (e: unknown) => isTilekilnError(e) && e.code === 'TK_CHECKPOINT' && /flag/.test(e.message))
  assert.throws(() => decodeCheckpoint(asFormat(encodeCheckpoint(checkpointOf(snap, [HOUR])), 6), 'under test'), /format 6/)
})

test('property: random fine tiles with occasional length changes; the rolled-up tiles written are the merge of their fine tiles where that merge succeeds and the empty incomplete tile where it fails, with and without a restore half-way', () => {
  const bound = setup()
  let markedInSnapshots = 0
  for (const seed of [1, 2, 3, 4]) {
    const r = new Random(seed)
    const evs: Record<string, unknown>[] = []
    const len = new Map<string, number>()
    for (let n = 0; n < 3000; n++) {
      // ~2 days, out of order by up to 10 minutes; 12 keys; a key's list length changes once in ~150 of its events
      const ts = T0 + Math.floor(n * (2 * DAY) / 3000) - r.int(600_001)
      const k = `key${r.int(12)}`
      let l = len.get(k) ?? 1 + r.int(3)
      if (r.next() < 1 / 150) l = l === 0 ? 1 : r.next() < 0.2 ? 0 : l + (r.next() < 0.5 ? -1 : 1)
      len.set(k, l)
      const v = r.next() < 0.05 ? null : Array.from({ length: l }, () => r.int(201) - 100)
      evs.push({ k, ts, v, l: r.next() < 0.1 ? null : r.int(1000) })
    }
    const runs: { fine: Written[], coarse: Written[], reported: number, refused: number }[] = []
    for (const restoreAt of [-1, 1100, 2300]) {
      let state = fresh(bound)
      const fine: Written[] = []
      const coarse: Written[] = []
      let reported = 0
      let refused = 0
      let maxTs = -Infinity
      state.begin()
      evs.forEach((e, n) => {
        const wm = maxTs - 600_000
        if (fold(bound, state, e, wm) === 'refused') refused++
        maxTs = Math.max(maxTs, e.ts as number)
        if (n % 53 === 52) {
          state.close(0, maxTs - 600_000)
          collect(bound, state, fine, coarse)
          reported += state.takeUnmergeable().length
        }
        if (n === restoreAt) {
          // a checkpoint's cut: close what the clock passed, write, then snapshot
          state.close(0, maxTs - 600_000)
          collect(bound, state, fine, coarse)
          reported += state.takeUnmergeable().length
          const snap = state.snapshot()
          markedInSnapshots += snap.timers.filter(f => (f & 0x80) !== 0).length
          const cp = decodeCheckpoint(encodeCheckpoint(checkpointOf(snap, [HOUR, DAY])), 'under test')
          state = fresh(bound)
          state.restore({ ...snap, entries: cp.entries, timers: cp.timers, latest: cp.latest }, new Map([[0, maxTs - 600_000]]), 0, cp.header.rollups)
          state.begin()
        }
      })
      state.close(0, Infinity)
      collect(bound, state, fine, coarse)
      reported += state.takeUnmergeable().length
      assert.equal(state.liveEntries, 0)
      runs.push({ fine, coarse, reported, refused })
    }
    const [straight, ...resumedRuns] = runs as [typeof runs[0], typeof runs[0]]
    // The reference: for every (size, key, start) with a final fine tile, the read side's merge of those fine tiles.
    const expected = new Map<string, string>()
    const groups = new Map<string, Written[]>()
    for (const f of straight.fine) {
      for (const size of [HOUR, DAY]) {
        const id = `${size}|${f.key}|${tileStartOf(f.start, size)}`
        const g = groups.get(id) ?? []
        g.push(f)
        groups.set(id, g)
      }
    }
    let unmergeable = 0
    for (const [id, parts] of groups) {
      const m = mergeOf(bound, parts)
      if (m === 'unmergeable') unmergeable++
      expected.set(id, m === 'unmergeable' ? marker(bound) : m)
    }
    assert.ok(unmergeable >= 3 && unmergeable < groups.size / 2, `seed ${seed}: ${unmergeable} of ${groups.size} rolled-up tiles unmergeable`)
    assert.ok(straight.refused > 0, 'some rows were refused inside a fine tile too')
    const sig = (w: readonly Written[]): Map<string, string> => {
      const m = new Map(w.map(c => [`${c.size}|${c.key}|${c.start}`, c.hex]))
      assert.equal(m.size, w.length, `seed ${seed}: a rolled-up tile was written twice`)
      return m
    }
    assert.deepEqual(sig(straight.coarse), expected, `seed ${seed}`)
    assert.equal(straight.reported, unmergeable, `seed ${seed}: each unmergeable tile reported once`)
    for (const resumed of resumedRuns) {
      assert.deepEqual(sig(resumed.coarse), expected, `seed ${seed}, restored half-way`)
      assert.deepEqual(sig(resumed.fine), sig(straight.fine), `seed ${seed}, restored half-way`)
      assert.equal(resumed.refused, straight.refused)
      // a tile marked before the checkpoint was reported then, and not again after the restore
      assert.equal(resumed.reported, unmergeable, `seed ${seed}, restored half-way`)
    }
  }
  assert.ok(markedInSnapshots >= 4, `only ${markedInSnapshots} unmergeable tiles were open at a restore`)
})
