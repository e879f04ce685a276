// The flat tables against a JS Map over long random operation sequences (inserts, overwrites, deletes that
// exercise backward shifting, growth), including keys beyond 2^32 and negative ones.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Random } from '../../src/source/generator.ts'
import { NumberTable, PairTable } from '../../src/worker/hash-tables.ts'

test('NumberTable behaves as a Map of integers', () => {
  const r = new Random(5)
  const t = new NumberTable(4)
  const m = new Map<number, number>()
  const pool = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? r.int(100000) : i % 3 === 1 ? -r.int(1e9) * 1000 : r.int(2 ** 21) * 2 ** 30 + r.int(1000)))
  for (let step = 0; step < 200_000; step++) {
    const k = pool[r.int(pool.length)]!
    const op = r.next()
    if (op < 0.5) { const v = r.int(1e6); t.set(k, v); m.set(k, v) } else if (op < 0.8) assert.equal(t.delete(k), m.delete(k))
    else assert.equal(t.get(k), m.get(k) ?? -1)
    if (step % 1000 === 0) assert.equal(t.size, m.size)
  }
  for (const k of pool) assert.equal(t.get(k), m.get(k) ?? -1)
})

test('PairTable behaves as a Map of (int32, int32) pairs', () => {
  const r = new Random(6)
  const t = new PairTable(4)
  const m = new Map<string, number>()
  for (let step = 0; step < 200_000; step++) {
    const a = r.int(500)
    const b = r.int(40) - 20 + 5_800_000
    const op = r.next()
    const id = `${a}:${b}`
    if (op < 0.5) { const v = r.int(1e6); t.set(a, b, v); m.set(id, v) } else if (op < 0.8) assert.equal(t.delete(a, b), m.delete(id))
    else assert.equal(t.get(a, b), m.get(id) ?? -1)
  }
  assert.equal(t.size, m.size)
  for (const [id, v] of m) { const [a, b] = id.split(':').map(Number); assert.equal(t.get(a!, b!), v) }
})
