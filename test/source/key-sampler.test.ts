// The generator's Zipf key sampler narrows its binary search with a guide table; its ranks must be those of the plain
// search over the whole CDF (the first rank whose CDF value is ≥ u), draw for draw, or the generated events — which
// bench:flink's Java port reproduces byte for byte — would change. Checked against that plain search for random
// draws and for draws on and around every guide cell's boundary, over several sizes and exponents.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { KeySampler, Random } from '../../src/source/generator.ts'

function plainSearch (n: number, s: number): (u: number) => number {
  const cdf = new Float64Array(n)
  let acc = 0
  for (let k = 0; k < n; k++) { acc += 1 / Math.pow(k + 1, s); cdf[k] = acc }
  for (let k = 0; k < n; k++) cdf[k] = cdf[k]! / acc
  return u => {
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1; else hi = mid
    }
    return lo
  }
}

/** A Random whose next() returns the given values (KeySampler draws exactly one per sample). */
function fixed (us: readonly number[]): Random {
  let i = 0
  const r = new Random(1)
  r.next = () => us[i++]!
  return r
}

test('Zipf ranks: the guided search gives the rank of the plain binary search for every draw', () => {
  for (const [n, s] of [[100_000, 1.1], [100_000, 2], [1, 1.1], [2, 1.1], [3, 0.5], [70_000, 1.5], [1_000, 3]] as const) {
    const plain = plainSearch(n, s)
    const us: number[] = []
    const r = new Random(n)
    for (let i = 0; i < 50_000; i++) us.push(r.next())
    // u on a cell boundary and its neighbours (the cells are 2^-16 wide), and the ends.
    for (let j = 0; j < 1 << 16; j += 97) for (const d of [-1e-12, 0, 1e-12]) { const u = j / 65536 + d; if (u >= 0 && u < 1) us.push(u) }
    us.push(0, 1 - 2 ** -32, 2 ** -32)
    const sampler = new KeySampler(n, s)
    const rnd = fixed(us)
    for (const u of us) assert.equal(sampler.sample(rnd), plain(u), `n=${n} s=${s} u=${u}`)
  }
})

test('uniform keys (exponent 0) are drawn as r.int(n)', () => {
  const a = new Random(9)
  const b = new Random(9)
  const sampler = new KeySampler(1000, 0)
  for (let i = 0; i < 10_000; i++) assert.equal(sampler.sample(a), b.int(1000))
})
