// The embedded store's put order (src/sink/key-order.ts): every put exactly once, puts to one key in batch order (a
// later put of a key must still win), and the puts sorted by the leading bits of their LMDB key. Against a brute-force
// stable sort of the same batches.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { keyOrder } from '../../src/sink/key-order.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'

/** xorshift32: the same batches on every run. */
function random (seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

function batchOf (keys: readonly Uint8Array[]): TilePuts {
  const w = new TilePutsWriter()
  w.begin()
  keys.forEach((k, i) => { w.beginPut(k, 0).raw(Buffer.from([i & 0xff])); w.endValue() })
  return new TilePuts(w.finish())
}

/** What LMDB sorts first: the key's length (in 4 bits), then its first 12 bits. */
const lead = (k: Uint8Array): number => Math.min(k.length, 15) * 65536 + (k[0] ?? 0) * 256 + (k[1] ?? 0)

describe('keyOrder', () => {
  test('a permutation in key order, each key\'s puts in batch order, for random batches of many sizes', () => {
    const rnd = random(11)
    for (const n of [64, 65, 100, 1000, 4097, 20_000, 70_000]) {
      const distinct = Math.max(2, Math.floor(n / (1 + rnd() * 4))) // repeats: several puts of one key in a batch
      const pool = Array.from({ length: distinct }, () => Uint8Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 256)))
      const keys = Array.from({ length: n }, () => pool[Math.floor(rnd() * distinct)]!)
      const order = keyOrder(batchOf(keys))
      assert.ok(order !== null)
      const got = Array.from(order.subarray(0, n))
      assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `n=${n}: every put once`)
      // Buckets are coarser than `lead` for small batches: the order must agree with it at the bucket's precision.
      const bits = Math.min(16, 34 - Math.clz32(n))
      const bucket = (k: Uint8Array): number => Math.floor((Math.min(k.length, 15) * 4096 + (k[0] ?? 0) * 16 + ((k[1] ?? 0) >> 4)) / 2 ** (16 - bits))
      const brute = Array.from({ length: n }, (_, i) => i).sort((a, b) => bucket(keys[a]!) - bucket(keys[b]!) || a - b)
      assert.deepEqual(got, brute, `n=${n}: a stable sort by bucket`)
      if (bits === 16) for (let j = 1; j < n; j++) assert.ok(lead(keys[got[j - 1]!]!) >> 4 <= lead(keys[got[j]!]!) >> 4, `n=${n}: key order at ${j}`)
    }
  })

  test('small batches keep their own order (null)', () => {
    assert.equal(keyOrder(batchOf([Uint8Array.of(2), Uint8Array.of(1)])), null)
  })
})
