// Rolled-up tiles (worker/rollups.ts) made by the worker state as fine tiles close: each must be byte for byte the
// tile the reference aggregator (src/agg/row.ts) makes of all its events at once, written exactly once, complete, when
// the clock passes its end; and a state snapshotted and restored half-way must write the same rolled-up tiles.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type DataType, type StructType, T } from '../../src/api/data-type.ts'
import { RowAggregator } from '../../src/agg/row.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { bindGroupBy, type BoundGroupBy } from '../../src/config/bind.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { compileColumnRefs } from '../../src/expr/column-refs.ts'
import { TilePuts } from '../../src/sink/tile-puts.ts'
import { Random } from '../../src/source/generator.ts'
import { DAY, HOUR, tileStartOf } from '../../src/window/resolution.ts'
import { TileState } from '../../src/worker/tile-state.ts'

// A 1 h window makes 5-minute tiles; the 30-day one is why rollups exist.
const WINDOWS = [{ length: 1, timeUnit: 0 }, { length: 30, timeUnit: 1 }]
// Operations whose merge of tiles equals their update over the same events exactly (no floating-point regrouping):
// COUNT SUM MIN MAX FIRST LAST.
const OPS = [6, 7, 0, 1, 2, 3]
const T0 = 1_700_000_000_000

function setup (numericOnly: boolean): { bound: BoundGroupBy, columns: [string, DataType][] } {
  const columns: [string, DataType][] = numericOnly ? [['l', T.long], ['i', T.int]] : [['l', T.long], ['s', T.string]]
  const aggregations = []
  for (const [c, t] of columns) {
    for (const op of OPS) if (t.kind !== 'string' || op !== 7) aggregations.push({ inputColumn: c, operation: op, windows: WINDOWS })
  }
  const plan = compilePlan({ metaData: { name: 'rollups' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations })
  const schema = T.struct('In', [{ name: 'k', type: T.string }, { name: 'ts', type: T.long }, ...columns.map(([name, type]) => ({ name, type }))]) as StructType
  return { bound: bindGroupBy(plan, schema, compileColumnRefs), columns }
}

interface Event { readonly rec: Record<string, unknown>, readonly ts: number }

function events (seed: number, columns: readonly [string, DataType][]): Event[] {
  const r = new Random(seed)
  const out: Event[] = []
  for (let n = 0; n < 6000; n++) {
    // ~3 days, out of order by up to 10 minutes; 30 keys, a few of them rare (sparse hours and days).
    const base = T0 + Math.floor(n * (3 * DAY) / 6000)
    const ts = base - r.int(600_001)
    const kid = r.next() < 0.05 ? 100 + r.int(5) : r.int(30)
    const rec: Record<string, unknown> = { k: `key${kid}`, ts }
    for (const [c, t] of columns) rec[c] = r.next() < 0.1 ? null : t.kind === 'string' ? ['a', 'b', 'zz', 'é'][r.int(4)] : r.int(2001) - 1000
    out.push({ rec, ts })
  }
  return out
}

interface Written { readonly size: number, readonly key: string, readonly start: number, readonly hex: string, readonly task: number }
interface Run { fine: Written[], coarse: Written[], /** per task, the watermark it closed at */ wms: number[], restoredAt: number }

/** Runs the events through a state (closing as a watermark 10 min behind moves), optionally snapshotting and restoring it into a fresh one at `restoreAt`. */
function run (bound: BoundGroupBy, evs: readonly Event[], restoreAt = -1, rollupsBefore = [HOUR, DAY]): Run {
  const fresh = (rollups = [HOUR, DAY]): TileState => new TileState(bound, new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true }), { allowedLatenessMillis: 0, trigger: { kind: 'always' }, rowCapacity: 64, rollups })
  let state = fresh(restoreAt >= 0 ? rollupsBefore : undefined)
  const out: unknown[] = new Array(bound.query.columns.length)
  const fine: Written[] = []
  const coarse: Written[] = []
  let maxTs = -Infinity
  let task = 0
  let restoredAt = NaN
  const wms: number[] = []
  const collect = (wm: number): void => {
    wms.push(wm)
    state.fireDirty()
    const puts = state.puts.count > 0 ? new TilePuts(state.puts.finish()) : null
    for (let i = 0; puts !== null && i < puts.count; i++) {
      // only final writes: those are what rollups are made of
      const hex = toHex(puts.value(i))
      if (hex.endsWith('0201')) fine.push({ size: bound.plan.tileSizeMillis, key: toHex(puts.key(i)), start: puts.tileStart(i), hex, task })
    }
    for (const r of state.takeRollups()) {
      const p = new TilePuts(r.puts, r.partitions, r.latest, r.tileSizeMillis)
      for (let i = 0; i < p.count; i++) coarse.push({ size: r.tileSizeMillis, key: toHex(p.key(i)), start: p.tileStart(i), hex: toHex(p.value(i)), task })
    }
    task++
  }
  state.begin()
  evs.forEach((e, n) => {
    bound.query.run(e.rec, out, () => {})
    const ts = out[bound.tsIndex] as number
    maxTs = Math.max(maxTs, ts)
    const wm = maxTs - 600_000
    if (!state.isLate(tileStartOf(ts, bound.plan.tileSizeMillis), wm)) state.row(out, ts, tileStartOf(ts, bound.plan.tileSizeMillis), 0, 0)
    if (n % 97 === 96) {
      state.close(0, wm)
      collect(wm)
      state.begin()
    }
    if (n === restoreAt) {
      collect(-Infinity)
      const snap = state.snapshot()
      state = fresh()
      state.restore(snap, new Map([[0, wm]]), 0, rollupsBefore)
      restoredAt = wm
      state.begin()
    }
  })
  state.close(0, Infinity)
  collect(Infinity)
  return { fine, coarse, wms, restoredAt }
}

for (const numericOnly of [true, false]) {
  test(`rolled-up hour and day tiles are the reference aggregator's tiles of their events, each written once, when its last fine tile is final (${numericOnly ? 'WASM' : 'JS'} fine-tile encoding)`, () => {
    const { bound, columns } = setup(numericOnly)
    assert.equal(bound.plan.tileSizeMillis, 5 * 60_000)
    const evs = events(numericOnly ? 1 : 2, columns)
    const { coarse, wms } = run(bound, evs)
    // The reference: every accepted event of (key, hour) and (key, day) folded into one IR.
    const ref = new RowAggregator(bound.plan, bound.serving.rowColumns.map(c => ({ name: c.name, type: c.type })))
    const expected = new Map<string, unknown[]>()
    const out: unknown[] = new Array(bound.query.columns.length)
    let maxTs = -Infinity
    for (const e of evs) {
      bound.query.run(e.rec, out, () => {})
      maxTs = Math.max(maxTs, e.ts)
      if (tileStartOf(e.ts, bound.plan.tileSizeMillis) + bound.plan.tileSizeMillis - 1 <= maxTs - 600_000) continue // late
      const key = toHex(bound.keyCodec.encode([out[0]]))
      for (const size of [HOUR, DAY]) {
        const id = `${size}|${key}|${tileStartOf(e.ts, size)}`
        const irs = expected.get(id) ?? ref.init()
        ref.update(irs, out, e.ts)
        expected.set(id, irs)
      }
    }
    const ids = coarse.map(c => `${c.size}|${c.key}|${c.start}`)
    assert.equal(new Set(ids).size, ids.length, 'a rolled-up tile was written twice')
    assert.deepEqual([...ids].sort(), [...expected.keys()].sort())
    for (const c of coarse) {
      const irs = expected.get(`${c.size}|${c.key}|${c.start}`)!
      assert.equal(c.hex, toHex(bound.tileCodec.encode(ref.normalize(irs), true)), `${c.size} ms tile of ${c.key} at ${c.start}`)
      // written by the first close whose watermark passed its end (its fine tiles were all final by then)
      const end = c.start + c.size - 1
      assert.ok(wms[c.task]! >= end && (c.task === 0 || wms[c.task - 1]! < end), `${c.size} ms tile of ${c.key} at ${c.start} written at watermark ${wms[c.task]}`)
    }
    assert.ok(coarse.filter(c => c.size === DAY).length >= 30 * 3)
  })
}

test('rolled-up tiles of every kernel operation (doubles, AVERAGE, VARIANCE included) are the read side\'s merge of their final fine tiles, byte for byte', () => {
  // Floating-point regrouping makes "all events at once" the wrong reference here: the right one is what a reader
  // gets by merging the fine tiles (decoded, the aggregators' merge, ascending), which the rolled-up tile replaces.
  const columns: [string, DataType][] = [['l', T.long], ['d', T.double], ['f', T.float]]
  const aggregations = []
  for (const [c] of columns) for (const op of [6, 7, 8, 9, 0, 1, 2, 3]) aggregations.push({ inputColumn: c, operation: op, windows: WINDOWS })
  const plan = compilePlan({ metaData: { name: 'rollups_merge' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations })
  const schema = T.struct('In', [{ name: 'k', type: T.string }, { name: 'ts', type: T.long }, ...columns.map(([name, type]) => ({ name, type }))]) as StructType
  const bound = bindGroupBy(plan, schema, compileColumnRefs)
  const r = new Random(9)
  const evs: Event[] = []
  for (let n = 0; n < 6000; n++) {
    const ts = T0 + Math.floor(n * (2 * DAY) / 6000) - r.int(600_001)
    const rec: Record<string, unknown> = { k: `key${r.int(20)}`, ts }
    for (const [c, t] of columns) {
      const x = r.next()
      rec[c] = x < 0.1 ? null : t.kind === 'long' ? r.int(2_000_001) - 1_000_000 : x < 0.12 ? -0 : (r.next() - 0.5) * 1e6
    }
    evs.push({ rec, ts })
  }
  const { fine, coarse } = run(bound, evs)
  const aggs = bound.aggregators
  for (const c of coarse) {
    const parts = fine.filter(f => f.key === c.key && f.start >= c.start && f.start < c.start + c.size).sort((a, b) => a.start - b.start)
    assert.ok(parts.length > 0)
    const acc: unknown[] = aggs.map(() => null)
    for (const f of parts) {
      const { irs } = bound.tileCodec.decode(Buffer.from(f.hex, 'hex'))
      irs.forEach((v, p) => { if (v !== null) acc[p] = aggs[p]!.merge(acc[p] ?? null, aggs[p]!.denormalize(v)) })
    }
    assert.equal(c.hex, toHex(bound.tileCodec.encode(acc.map((ir, p) => aggs[p]!.normalize(ir ?? null)), true)), `${c.size} ms tile of ${c.key} at ${c.start}`)
  }
  assert.ok(coarse.length > 40)
})

test('a state snapshotted and restored half-way writes the same fine and rolled-up tiles', () => {
  const { bound, columns } = setup(false)
  const evs = events(3, columns)
  const straight = run(bound, evs)
  for (const at of [1234, 3000]) {
    const resumed = run(bound, evs, at)
    const sig = (w: readonly Written[]): string[] => w.map(x => `${x.size}|${x.key}|${x.start}|${x.hex}`).sort()
    assert.deepEqual(sig(resumed.coarse), sig(straight.coarse), `restored after event ${at}`)
    assert.deepEqual(sig(resumed.fine), sig(straight.fine), `restored after event ${at}`)
  }
})

test('a checkpoint taken without rollups (or with other sizes) restores into a run with them: the rolled-up tiles whose fine tiles all closed after it are written, exactly, and no other', () => {
  const { bound, columns } = setup(true)
  const evs = events(4, columns)
  const straight = run(bound, evs)
  const byId = new Map(straight.coarse.map(c => [`${c.size}|${c.key}|${c.start}`, c.hex]))
  for (const before of [[], [HOUR], [DAY]]) {
    const resumed = run(bound, evs, 2500, before)
    const fine = 5 * 60_000
    // coarse tiles of a size the checkpoint lacked: only those that began after the restore's watermark
    for (const c of resumed.coarse) {
      assert.equal(c.hex, byId.get(`${c.size}|${c.key}|${c.start}`), `${c.size} ms tile of ${c.key} at ${c.start} (checkpoint rollups ${JSON.stringify(before)})`)
      if (!before.includes(c.size)) assert.ok(c.start + fine - 1 > resumed.restoredAt)
    }
    const expected = straight.coarse.filter(c => before.includes(c.size) || c.start + fine - 1 > resumed.restoredAt)
    assert.equal(resumed.coarse.length, expected.length, `checkpoint rollups ${JSON.stringify(before)}`)
  }
})

test('dropping a partition forgets its open rolled-up tiles; the others are still written', () => {
  const { bound } = setup(true)
  const state = new TileState(bound, new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true }), { allowedLatenessMillis: 0, trigger: { kind: 'always' }, rollups: [HOUR, DAY] })
  const out: unknown[] = new Array(bound.query.columns.length)
  state.begin()
  for (let p = 0; p < 2; p++) {
    bound.query.run({ k: `k${p}`, ts: T0, l: 1, i: 2 }, out, () => {})
    state.row(out, T0, tileStartOf(T0, bound.plan.tileSizeMillis), 0, p)
  }
  state.close(0, T0 + 10 * 60_000)
  state.close(1, T0 + 10 * 60_000)
  assert.equal(state.openRollups, 4) // an hour and a day per partition
  state.drop(0)
  assert.equal(state.openRollups, 2)
  state.begin()
  state.close(1, Infinity)
  state.close(0, Infinity)
  const written = state.takeRollups()
  assert.deepEqual(written.map(r => [r.tileSizeMillis, [...r.partitions]]), [[HOUR, [1]], [DAY, [1]]])
})
