// The worker's flat state (WASM kernels for numeric parts, JS IRs for the rest) must write exactly the bytes the
// reference path writes: Chronon's RowAggregator semantics (src/agg/row.ts) encoded with TileCodec.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type DataType, type StructType, T } from '../../src/api/data-type.ts'
import { RowAggregator } from '../../src/agg/row.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { bindGroupBy } from '../../src/config/bind.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { compileColumnRefs } from '../../src/expr/column-refs.ts'
import { TilePuts } from '../../src/sink/tile-puts.ts'
import { Random } from '../../src/source/generator.ts'
import { tileStartOf } from '../../src/window/resolution.ts'
import { TileState } from '../../src/worker/tile-state.ts'

const D = [{ length: 1, timeUnit: 1 }]
const numericOps = [6, 7, 8, 9, 0, 1, 2, 3] // COUNT SUM AVERAGE VARIANCE MIN MAX FIRST LAST
const columns: [string, DataType][] = [['l', T.long], ['i', T.int], ['d', T.double], ['f', T.float], ['s', T.string], ['b', T.boolean]]

function groupBy (numericOnly = false): unknown {
  const aggregations = []
  for (const [c, t] of columns) {
    if (numericOnly && (t.kind === 'string' || t.kind === 'boolean')) continue
    for (const op of numericOps) {
      if (t.kind === 'string' && ![6, 0, 1, 2, 3].includes(op)) continue
      if (t.kind === 'boolean' && ![6, 7, 2, 3].includes(op)) continue
      aggregations.push({ inputColumn: c, operation: op, windows: D })
    }
  }
  return { metaData: { name: 'kernel_equivalence' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations }
}

function value (r: Random, t: DataType): unknown {
  if (r.next() < 0.15) return null
  switch (t.kind) {
    case 'long': return r.int(2_000_001) - 1_000_000
    case 'int': return r.int(2001) - 1000
    case 'double': {
      const x = r.next()
      if (x < 0.03) return -0
      if (x < 0.05) return 0
      return (r.next() - 0.5) * 1e6
    }
    case 'float': return Math.fround((r.next() - 0.5) * 1000)
    case 'string': return ['a', 'b', 'zz', 'é', ''][r.int(5)]
    case 'boolean': return r.next() < 0.5
    default: return null
  }
}

// Mixed GroupBys encode tiles in JS; all-kernel ones in WASM (encodeTiles), with JS for keys too long to inline.
const variants = [
  { seed: 1, numericOnly: false, longKeys: false },
  { seed: 2, numericOnly: false, longKeys: true },
  { seed: 3, numericOnly: true, longKeys: false },
  { seed: 4, numericOnly: true, longKeys: true }
]
for (const { seed, numericOnly, longKeys } of variants) {
  test(`kernel state writes the same tile bytes as the reference aggregator (seed ${seed}, ${numericOnly ? 'WASM' : 'JS'} encoding${longKeys ? ', some long keys' : ''})`, () => {
    const plan = compilePlan(groupBy(numericOnly))
    const schema = T.struct('In', [{ name: 'k', type: T.string }, { name: 'ts', type: T.long }, ...columns.map(([name, type]) => ({ name, type }))]) as StructType
    const bound = bindGroupBy(plan, schema, compileColumnRefs)
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true })
    const state = new TileState(bound, memory, { allowedLatenessMillis: 0, trigger: { kind: 'always' }, rowCapacity: 64 })
    const ref = new RowAggregator(plan, bound.serving.rowColumns.map(c => ({ name: c.name, type: c.type })))
    const expected = new Map<string, unknown[]>()
    const r = new Random(seed)
    const out: unknown[] = new Array(bound.query.columns.length)
    state.puts.begin()
    for (let n = 0; n < 5000; n++) {
      const kid = r.int(40)
      const rec: Record<string, unknown> = { k: longKeys && kid % 3 === 0 ? `${'long-key-'.repeat(5)}${kid}` : `key${kid}`, ts: 1_700_000_000_000 + r.int(3 * 3_600_000) }
      for (const [c, t] of columns) rec[c] = value(r, t)
      bound.query.run(rec, out, () => {})
      const ts = out[bound.tsIndex] as number
      const tileStart = tileStartOf(ts, plan.tileSizeMillis)
      state.row(out, ts, tileStart, 0)
      const id = `${String(out[0])}@${tileStart}`
      const irs = expected.get(id) ?? ref.init()
      ref.update(irs, out, ts)
      expected.set(id, irs)
    }
    state.close(0, Infinity)
    const puts = new TilePuts(state.puts.finish())
    assert.equal(puts.count, expected.size)
    for (let i = 0; i < puts.count; i++) {
      const key = bound.keyCodec.decode(puts.key(i))[0]
      const irs = expected.get(`${String(key)}@${puts.tileStart(i)}`)!
      assert.equal(toHex(puts.value(i)), toHex(bound.tileCodec.encode(ref.normalize(irs), true)), `tile of ${String(key)} at ${puts.tileStart(i)}`)
    }
  })
}

test('state is grouped by partition: close, snapshot and drop one partition leave the others; a key seen in two partitions stays in its first', () => {
  const plan = compilePlan({ metaData: { name: 'parts' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations: [{ inputColumn: 'l', operation: 7, windows: D }] })
  const schema = T.struct('In', [{ name: 'k', type: T.long }, { name: 'ts', type: T.long }, { name: 'l', type: T.long }]) as StructType
  const bound = bindGroupBy(plan, schema, compileColumnRefs)
  const fresh = (): TileState => new TileState(bound, new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true }), { allowedLatenessMillis: 0, trigger: { kind: 'always' } })
  const state = fresh()
  const out: unknown[] = new Array(bound.query.columns.length)
  const T0 = 1_700_000_000_000 - (1_700_000_000_000 % plan.tileSizeMillis)
  const add = (s: TileState, k: number, ts: number, l: number, partition: number): number => {
    bound.query.run({ k, ts, l }, out, () => {})
    return s.row(out, ts, tileStartOf(ts, plan.tileSizeMillis), 0, partition)
  }
  state.begin()
  for (let k = 0; k < 10; k++) add(state, k, T0 + k, 1, k % 2)
  assert.equal(add(state, 3, T0 + 50, 5, 0), 0) // key 3 lives in partition 1: folded there, counted
  assert.deepEqual(state.takeCrossings().count, 1)
  assert.deepEqual(state.partitions.sort(), [0, 1])
  state.fireDirty()
  assert.deepEqual([...state.putPartitions()].sort(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])

  // Partition 0's snapshot holds its five keys; restored into a fresh state they are partition 0's again.
  const snap = state.snapshot([0])
  assert.equal(new TilePuts(snap.entries).count, 5)
  assert.deepEqual([...snap.partitions], [0, 0, 0, 0, 0])
  const other = fresh()
  other.restore(snap, new Map([[0, -Infinity]]), 0)
  assert.deepEqual(other.partitions, [0])
  assert.equal(other.liveEntries, 5)

  // Closing partition 1 writes its tiles complete and leaves partition 0 open; dropping 0 writes nothing.
  state.begin()
  assert.equal(state.close(1, T0 + plan.tileSizeMillis), 1)
  const closed = new TilePuts(state.puts.finish())
  assert.equal(closed.count, 5)
  assert.equal(state.liveEntries, 5)
  // A row for key 3 (home: partition 1, now closed there) from partition 0 would rewrite a complete tile: refused.
  assert.equal(add(state, 3, T0 + 60, 5, 0), 0, 'key 3 is gone with its partition: a new key of partition 0')
  state.begin()
  assert.equal(state.drop(0), 6)
  assert.equal(state.liveEntries, 0)
  assert.equal(state.puts.count, 0)
})

test('a row whose key lives in another partition that already closed its tile is refused as late there', () => {
  const plan = compilePlan({ metaData: { name: 'parts2' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations: [{ inputColumn: 'l', operation: 7, windows: D }] })
  const schema = T.struct('In', [{ name: 'k', type: T.long }, { name: 'ts', type: T.long }, { name: 'l', type: T.long }]) as StructType
  const bound = bindGroupBy(plan, schema, compileColumnRefs)
  const state = new TileState(bound, new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true }), { allowedLatenessMillis: 0, trigger: { kind: 'always' } })
  const out: unknown[] = new Array(bound.query.columns.length)
  const size = plan.tileSizeMillis
  const T0 = 1_700_000_000_000 - (1_700_000_000_000 % size)
  const add = (ts: number, partition: number): number => {
    bound.query.run({ k: 7, ts, l: 1 }, out, () => {})
    return state.row(out, ts, tileStartOf(ts, size), 0, partition)
  }
  state.begin()
  add(T0 + 1, 1) // tile T0 of key 7, home partition 1
  add(T0 + size + 1, 1) // tile T0 + size keeps the key alive after T0 closes
  state.close(1, T0 + size - 1) // partition 1's clock passed tile T0
  assert.equal(add(T0 + 2, 0), 1, 'ROW_LATE_AT_HOME')
  assert.equal(add(T0 + size + 2, 0), 0, 'the open tile still takes it')
})

test('stateBytes counts the key bytes, the entry table and the open-tile index beside the aggregation state', () => {
  const plan = compilePlan({ metaData: { name: 'state_bytes' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations: [{ inputColumn: 'l', operation: 7, windows: D }] })
  const schema = T.struct('In', [{ name: 'k', type: T.string }, { name: 'ts', type: T.long }, { name: 'l', type: T.long }]) as StructType
  const bound = bindGroupBy(plan, schema, compileColumnRefs)
  const fresh = (): TileState => new TileState(bound, new WebAssembly.Memory({ initial: 32, maximum: 4096, shared: true }), { allowedLatenessMillis: 0, trigger: { kind: 'always' } })
  const out: unknown[] = new Array(bound.query.columns.length)
  const T0 = 1_700_000_000_000 - (1_700_000_000_000 % plan.tileSizeMillis)
  const fill = (s: TileState, keys: number, keyChars: number): void => {
    s.begin()
    for (let k = 0; k < keys; k++) {
      bound.query.run({ k: `${k}`.padStart(keyChars, 'x'), ts: T0 + k, l: 1 }, out, () => {})
      s.row(out, T0 + k, T0, 0)
    }
  }
  const keys = 20_000
  const short = fresh()
  fill(short, keys, 8)
  const long = fresh()
  fill(long, keys, 200)
  // The IR rows alone: the entry table's capacity × the stride (what the gauge counted before).
  const rows = (s: TileState): number => {
    let cap = 1024
    while (cap < s.liveEntries) cap *= 2
    return cap * s.stride
  }
  // Entries (5 columns of 4–8 bytes) and the open-tile index (16-byte slots) come on top of the rows, per entry.
  assert.ok(short.stateBytes >= rows(short) + keys * (28 + 16), `${short.stateBytes} bytes for ${keys} keys of 8 characters`)
  // Every key's Avro bytes are in the arena: 200 characters more than 190 bytes each over the short keys.
  assert.ok(long.stateBytes - short.stateBytes >= keys * 190, `${long.stateBytes} against ${short.stateBytes}`)
})
