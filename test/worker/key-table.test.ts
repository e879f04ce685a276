// A worker's key table keeps every key's bytes in one arena that grows and, when half of it is forgotten keys,
// compacts: whatever the order of adds and forgets, each live id must still give back its key's Avro bytes (checked
// against the key codec, the reference), through bytes() and copyBytes() alike; and the count of live keys too long
// for the WASM tile encoder must follow.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type DataType, type StructType, T } from '../../src/api/data-type.ts'
import { bindGroupBy } from '../../src/config/bind.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { compileColumnRefs } from '../../src/expr/column-refs.ts'
import { Random } from '../../src/source/generator.ts'
import { KeyTable } from '../../src/worker/key-table.ts'
import { INLINE_KEY } from '../../src/worker/state-layout.ts'

function table (keyType: DataType): { keys: KeyTable, encode: (v: unknown) => Uint8Array, keyAt: number } {
  const plan = compilePlan({ metaData: { name: 'key_table' }, keyColumns: ['k'], sources: [{ events: { query: { timeColumn: 'ts' } } }], aggregations: [{ inputColumn: 'x', operation: 6, windows: [{ length: 1, timeUnit: 1 }] }] })
  const bound = bindGroupBy(plan, T.struct('In', [{ name: 'k', type: keyType }, { name: 'x', type: T.long }, { name: 'ts', type: T.long }]) as StructType, compileColumnRefs)
  return { keys: new KeyTable(bound, 0xffff), encode: v => bound.keyCodec.encode([v]), keyAt: bound.keyIndices[0]! }
}

for (const kind of ['long', 'string'] as const) {
  test(`key table (${kind} keys): random adds and forgets through growth and compactions keep every live key's bytes`, () => {
    const { keys, encode, keyAt } = table(kind === 'long' ? T.long : T.string)
    const r = new Random(kind === 'long' ? 7 : 8)
    const live = new Map<number, unknown>() // id → key value
    const idOf = new Map<unknown, number>()
    const row: unknown[] = [null, null, null]
    const out = new Uint8Array(300)
    for (let step = 0; step < 60_000; step++) {
      // Phases that mostly add, then mostly forget, so the arena both grows and compacts (several times).
      const adding = Math.floor(step / 10_000) % 2 === 0 ? 0.8 : 0.3
      if (live.size === 0 || r.next() < adding) {
        const n = r.int(1_000_000)
        // Keys of very different lengths (1 to ~200 bytes as strings, 1 to 9 as longs).
        const v = kind === 'long' ? n * (r.next() < 0.5 ? 1 : 2 ** 30) - 500_000 : `k${n}`.padEnd(1 + r.int(r.next() < 0.05 ? 200 : 20), '.')
        row[keyAt] = v
        const id = kind === 'long' ? keys.idForNumber(v as number, 0) : keys.idFor(row, 0)
        if (!idOf.has(v)) {
          assert.ok(!live.has(id), `id ${id} given to ${String(v)} is still in use`)
          keys.ref(id)
          live.set(id, v)
          idOf.set(v, id)
        } else assert.equal(id, idOf.get(v))
      } else {
        const ids = [...live.keys()]
        const id = ids[r.int(ids.length)]!
        idOf.delete(live.get(id))
        live.delete(id)
        keys.unref(id)
      }
      if (step % 997 === 0 || step === 59_999) {
        assert.equal(keys.size, live.size)
        // The tile encoder skips its per-tile key check while no live key is longer than the kernel inlines.
        assert.equal(keys.longKeys, [...live.values()].filter(v => encode(v).length > INLINE_KEY).length, `long keys at step ${step}`)
        for (const [id, v] of live) {
          const want = encode(v)
          assert.deepEqual(keys.bytes(id), want, `key ${String(v)} (id ${id}) at step ${step}`)
          assert.equal(keys.byteLength(id), want.length)
          out.fill(0xee)
          assert.equal(keys.copyBytes(id, out, 3), 3 + want.length)
          assert.deepEqual(out.subarray(3, 3 + want.length), want)
          assert.equal(out[3 + want.length], 0xee, 'copyBytes wrote past the key')
        }
      }
    }
  })
}
