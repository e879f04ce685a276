// APPROX_HISTOGRAM_K (airbnb): Chronon's golden cases (ApproxHistogramTest) and results computed on the JVM with
// java.util.HashMap and the sketches-core 0.13.4 ItemsSketch (test/vectors/frequent, "approxHistogram").
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ApproxHistogram, type ApproxHistogramIr } from '../../src/agg/sketch/approx-histogram.ts'
import { frequentKernel } from '../../src/agg/sketch/frequent.ts'
import { type Item, JavaCountMap } from '../../src/agg/sketch/java-compat.ts'
import { goldenCase } from '../helpers/reference.ts'
import { type AhResult, frequentVectors as V, type Spec, updates } from '../vectors/frequent/inputs.ts'

function feed (agg: ApproxHistogram, items: Iterable<Item>): ApproxHistogramIr {
  let ir: ApproxHistogramIr | null = null
  for (const x of items) ir = ir === null ? agg.prepare(x) : agg.update(ir, x)
  return ir!
}

function * expand (spec: Spec): Generator<Item> {
  for (const u of updates(spec)) for (let i = 0; i < u.count; i++) yield u.item
}

function check (agg: ApproxHistogram, ir: ApproxHistogramIr, want: AhResult, label: string): void {
  assert.equal(ir.isApprox, want.isApprox, `${label}: isApprox`)
  assert.deepEqual(Object.fromEntries(agg.finalize(ir)), want.final, `${label}: final`)
}

describe('APPROX_HISTOGRAM_K golden cases (airbnb ApproxHistogramTest)', () => {
  const g = goldenCase('approx_histogram')
  const agg = new ApproxHistogram(g.k, 'string')
  // Chronon's makeIr: keys by ascending count; prepare with the first, then each key `count` times
  const makeIr = (counts: Record<string, number>): ApproxHistogramIr => {
    const keys = Object.keys(counts).sort((a, b) => counts[a]! - counts[b]!)
    const items: string[] = []
    for (const k of keys) for (let i = 0; i < counts[k]!; i++) items.push(k)
    return feed(agg, items)
  }
  for (const sub of g.subcases) {
    if (sub.counts !== undefined) {
      it(`${JSON.stringify(sub.counts)} → ${JSON.stringify(sub.expected)}`, () => {
        const ir = makeIr(sub.counts)
        assert.equal(ir.isApprox, sub.isApprox)
        assert.deepEqual(Object.fromEntries(agg.finalize(ir)), sub.expected)
        const back = agg.denormalize(agg.normalize(ir))
        assert.deepEqual(Object.fromEntries(agg.finalize(back)), sub.expected)
        agg.dispose(ir); agg.dispose(back)
      })
    } else {
      it(`merge ${JSON.stringify(sub.merge)} → ${JSON.stringify(sub.expected)}`, () => {
        const a = makeIr(sub.merge[0])
        const b = makeIr(sub.merge[1])
        const bBytes = agg.normalize(b)
        const ir = agg.merge(a, b)
        assert.equal(ir.isApprox, sub.isApprox)
        assert.deepEqual(Object.fromEntries(agg.finalize(ir)), sub.expected)
        assert.deepEqual(agg.normalize(b), bBytes, 'merge leaves the right IR intact')
        agg.dispose(ir); agg.dispose(b)
      })
    }
  }
})

describe('APPROX_HISTOGRAM_K vs Chronon semantics on the JVM', () => {
  for (const [i, c] of V.approxHistogram.entries()) {
    it(`case ${i}: k=${c.k} ${c.inputA.type} (${c.inputA.count} + ${c.inputB.count} updates): finals, merges, round trips, clones`, () => {
      const agg = new ApproxHistogram(c.k, c.inputA.type)
      const A = (): ApproxHistogramIr => feed(agg, expand(c.inputA))
      const B = (): ApproxHistogramIr => feed(agg, expand(c.inputB))
      const trip = (ir: ApproxHistogramIr): ApproxHistogramIr => { const r = agg.denormalize(agg.normalize(ir)); agg.dispose(ir); return r }
      check(agg, A(), c.a, 'a')
      check(agg, B(), c.b, 'b')
      check(agg, agg.merge(A(), B()), c.ab, 'merge(a, b)')
      check(agg, agg.merge(B(), A()), c.ba, 'merge(b, a)')
      check(agg, agg.merge(trip(A()), trip(B())), c.abRoundTrip, 'merge after normalize/denormalize')
      check(agg, agg.merge(agg.clone(A()), agg.clone(B())), c.abClone, 'merge of clones')
      let acc = agg.clone(trip(A()))
      for (let r = 0; r < 4; r++) acc = agg.merge(acc, B())
      check(agg, acc, c.chain, 'chain')
    })
  }
})

describe('APPROX_HISTOGRAM_K IR', () => {
  it('exact IRs round-trip with every item type, including lone surrogates, -0.0 and longs beyond 2^53', () => {
    const cases: Array<[ApproxHistogram, Item[]]> = [
      [new ApproxHistogram(10, 'string'), ['a', '\uD800', 'é', '', 'a']],
      [new ApproxHistogram(10, 'double'), [0, -0, NaN, 1.5, -0]],
      [new ApproxHistogram(10, 'long'), [1, -1, 2n ** 60n, -(2n ** 62n), 1]]
    ]
    for (const [agg, items] of cases) {
      const ir = feed(agg, items)
      const back = agg.denormalize(agg.normalize(ir))
      assert.deepEqual(agg.finalize(back), agg.finalize(ir))
      assert.deepEqual(agg.normalize(back), agg.normalize(ir))
    }
    assert.deepEqual(Object.fromEntries(new ApproxHistogram(10, 'double').finalize(feed(new ApproxHistogram(10, 'double'), [0, -0, -0]))), { '0.0': 1, '-0.0': 2 })
  })

  it('rejects an IR of another item type', () => {
    const s = new ApproxHistogram(4, 'string')
    const l = new ApproxHistogram(4, 'long')
    assert.throws(() => l.denormalize(s.normalize(s.prepare('x'))), /holds string items/)
  })

  it('java.util.HashMap iteration order: buckets by spread hash, insertion order inside a bucket, resizes', () => {
    const m = new JavaCountMap('string')
    // "Aa" and "BB" share String.hashCode 2112, so they share a bucket: insertion order decides
    for (const s of ['BB', 'x', 'Aa', 'c', 'b', 'a']) m.add(s, 1)
    assert.deepEqual(m.entries().map(e => e[0]), ['BB', 'Aa', 'a', 'b', 'c', 'x'])
    // the 13th key resizes 16 → 32: "x" (120) moves to bucket 24, "a" (97) stays in bucket 1
    for (let i = 0; i < 7; i++) m.add('key' + i, 1)
    assert.equal(m.entries()[0]![0], 'BB')
    assert.ok(m.entries().findIndex(e => e[0] === 'x') > m.entries().findIndex(e => e[0] === 'c'))
  })

  it('sketch memory is released by dispose', () => {
    const kern = frequentKernel()
    const agg = new ApproxHistogram(8, 'string')
    const run = (): void => {
      const a = feed(agg, Array.from({ length: 200 }, (_, i) => 'k' + (i % 37)))
      const b = agg.clone(a)
      const c = agg.merge(agg.prepare('z'), b)
      agg.dispose(a); agg.dispose(b); agg.dispose(c)
    }
    run()
    const live0 = kern.liveBytes
    for (let i = 0; i < 500; i++) run()
    assert.equal(kern.liveBytes, live0)
  })
})
