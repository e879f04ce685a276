// APPROX_UNIQUE_COUNT / CPC sketch against Apache DataSketches: bytes, estimates, unions and ICON values produced by
// datasketches-java 6.1.1 (test/vectors/cpc, also byte-identical to sketches-core 0.13.4), Chronon's golden row
// aggregator case, DataSketches' published error bounds, and bounded memory over a million sketches.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { T, type DataType } from '../../src/api/data-type.ts'
import { Operation } from '../../src/api/group-by.ts'
import { DirectColumn } from '../../src/agg/column.ts'
import { simpleAggregator, UnsupportedAggregation } from '../../src/agg/registry.ts'
import { ApproxUniqueCount, type CpcInputKind } from '../../src/agg/sketch/cpc.ts'
import { CpcKernel, CpcSketchError, encodeUtf8Java } from '../../src/agg/sketch/cpc-wasm.ts'
import { goldenCase, repoRoot } from '../helpers/reference.ts'

interface VInput {
  type: string
  values?: Array<string | number>
  seq?: { kind: 'long' | 'string' | 'double', start: number, count: number, prefix?: string, scale?: number }
}
interface VSketch { bytes: string, estimate: number, finalized: number, cloneBytes: string, cloneEstimate: number }
interface VCase extends VSketch { name: string, lgK: number, input: VInput }
interface VUnion extends VSketch {
  name: string
  unionLgK: number
  parts: Array<{ lgK: number, input: VInput, bytes: string }>
  after?: VSketch & { input: VInput }
}
interface Vectors {
  cases: VCase[]
  unions: VUnion[]
  sweeps: Array<{ lgK: number, input: VInput, every: number, snapshots: Array<{ n: number, bytes: string, estimate: number, cloneEstimate: number }> }>
  icon: Array<{ lgK: number, c: number[], estimate: number[] }>
  yahooSketchesCore0134: { checks: number, mismatches: number }
}

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'cpc', 'cpc-vectors.json'), 'utf8')) as Vectors
const kernel = new CpcKernel()

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))

function kindOf (type: string): CpcInputKind {
  switch (type) {
    case 'long': case 'int': case 'short': return 'long'
    case 'double': case 'float': return 'double'
    case 'string': return 'string'
    case 'binary': return 'binary'
    default: throw new Error(type)
  }
}

/** The runtime values the engine would carry for this input (longs beyond 2^53 as bigint). */
function* values (input: VInput): Generator<unknown> {
  if (input.values !== undefined) {
    for (const v of input.values) {
      switch (input.type) {
        case 'long': case 'int': case 'short': {
          const b = BigInt(v as string)
          yield (b >= -(2n ** 53n) && b <= 2n ** 53n) ? Number(b) : b
          break
        }
        case 'double': case 'float':
          yield v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === '-0' ? -0 : v
          break
        case 'string': yield v; break
        case 'binary': yield unhex(v as string); break
      }
    }
    return
  }
  const s = input.seq!
  for (let i = s.start; i < s.start + s.count; i++) {
    if (s.kind === 'long') yield i
    else if (s.kind === 'string') yield s.prefix! + String(i)
    else yield i * s.scale!
  }
}

function build (agg: ApproxUniqueCount, input: VInput): number {
  const s = kernel.x.cpc_new(agg.lgK) >>> 0
  for (const v of values(input)) agg.update(s, v)
  return s
}

function aggFor (type: string, lgK: number): ApproxUniqueCount {
  return new ApproxUniqueCount(kindOf(type), lgK, kernel)
}

function checkSketch (agg: ApproxUniqueCount, s: number, want: VSketch, what: string): void {
  assert.equal(hex(agg.normalize(s)), want.bytes, `${what}: bytes`)
  assert.equal(agg.estimate(s), want.estimate, `${what}: estimate`)
  assert.equal(agg.finalize(s), want.finalized, `${what}: finalized`)
  const c = agg.clone(s)
  assert.equal(hex(agg.normalize(c)), want.cloneBytes, `${what}: clone bytes`)
  assert.equal(agg.estimate(c), want.cloneEstimate, `${what}: clone estimate`)
  agg.dispose(c)
}

describe('CPC sketch vs datasketches-java 6.1.1', () => {
  it('the vectors were also byte-identical in sketches-core 0.13.4 (airbnb Chronon)', () => {
    assert.ok(vectors.yahooSketchesCore0134.checks > 1000)
    assert.equal(vectors.yahooSketchesCore0134.mismatches, 0)
  })

  it(`has at least 20 input sets, up to 10^6 items, lgK 4..16 (${vectors.cases.length} sets)`, () => {
    assert.ok(vectors.cases.length >= 20)
    const lgKs = new Set(vectors.cases.map(c => c.lgK))
    for (const k of [4, 8, 10, 11, 12]) assert.ok(lgKs.has(k), `lgK ${k}`)
    assert.ok(vectors.cases.some(c => (c.input.seq?.count ?? 0) >= 1_000_000))
  })

  for (const c of vectors.cases) {
    it(`updates: ${c.name} (lgK ${c.lgK})`, () => {
      const agg = aggFor(c.input.type, c.lgK)
      const s = build(agg, c.input)
      checkSketch(agg, s, c, c.name)
      // Java's bytes read back give the same sketch (HIP registers included) and serialize to the same bytes.
      const back = agg.denormalize(unhex(c.bytes))
      checkSketch(agg, back, c, `${c.name} (deserialized)`)
      agg.dispose(back)
      agg.dispose(s)
    })
  }

  for (const u of vectors.unions) {
    it(`union: ${u.name}`, () => {
      const agg = aggFor(u.parts[0]!.input.type, u.unionLgK)
      const ours = u.parts.map(p => build(aggFor(p.input.type, p.lgK), p.input))
      u.parts.forEach((p, i) => assert.equal(hex(agg.normalize(ours[i]!)), p.bytes, `part ${i} bytes`))
      const java = u.parts.map(p => agg.denormalize(unhex(p.bytes)))

      // Chronon merges pairwise (merge(merge(a, b), c)); mix our sketches with Java's.
      const fold = (irs: number[]): number => {
        let acc = agg.clone(irs[0]!)
        for (const ir of irs.slice(1)) acc = agg.merge(acc, ir)
        return acc
      }
      const mixed = ours.map((s, i) => (i % 2 === 1 ? java[i]! : s))
      for (const [label, irs] of [['ours', ours], ['java', java], ['mixed', mixed]] as const) {
        const r = fold(irs)
        checkSketch(agg, r, u, `${u.name} (${label})`)
        agg.dispose(r)
      }
      // And as one union over all parts (Chronon's bulkMerge).
      const un = kernel.x.cpc_union_new(u.unionLgK)
      for (const s of mixed) kernel.x.cpc_union_update(un, s)
      const r = kernel.x.cpc_union_result(un) >>> 0
      kernel.x.cpc_union_free(un)
      checkSketch(agg, r, u, `${u.name} (bulk)`)

      if (u.after !== undefined) {
        for (const v of values(u.after.input)) agg.update(r, v)
        checkSketch(agg, r, u.after, `${u.name} then updated`)
      }
      agg.dispose(r)
      for (const s of [...ours, ...java]) agg.dispose(s)
    })
  }

  for (const sw of vectors.sweeps) {
    it(`every flavour, byte code and column permutation: lgK ${sw.lgK}, ${sw.snapshots.length} snapshots`, () => {
      const agg = aggFor('long', sw.lgK)
      const s = kernel.x.cpc_new(sw.lgK) >>> 0
      let n = 0
      let next = 0
      for (const v of values(sw.input)) {
        agg.update(s, v)
        n++
        const snap = sw.snapshots[next]
        if (snap === undefined || snap.n !== n) continue
        next++
        assert.equal(hex(agg.normalize(s)), snap.bytes, `n ${n}: bytes`)
        assert.equal(agg.estimate(s), snap.estimate, `n ${n}: estimate`)
        const back = agg.denormalize(unhex(snap.bytes))
        assert.equal(hex(agg.normalize(back)), snap.bytes, `n ${n}: bytes after a round trip`)
        const c = agg.clone(back)
        assert.equal(agg.estimate(c), snap.cloneEstimate, `n ${n}: ICON estimate`)
        agg.dispose(c)
        agg.dispose(back)
      }
      assert.equal(next, sw.snapshots.length)
      agg.dispose(s)
    })
  }

  it('ICON estimates equal the library\'s for lgK 4..26', () => {
    let checked = 0
    for (const row of vectors.icon) {
      row.c.forEach((c, i) => {
        assert.equal(kernel.x.cpc_icon(row.lgK, c), row.estimate[i], `lgK ${row.lgK} C ${c}`)
        checked++
      })
    }
    assert.ok(checked > 5000)
  })
})

describe('APPROX_UNIQUE_COUNT aggregator', () => {
  it('golden row_aggregator_update_merge_delete: 3 at lgK 8 and 10', () => {
    const g = goldenCase('row_aggregator_update_merge_delete')
    const titleIndex = (g.schema as Array<[string, string]>).findIndex(([name]) => name === 'title')
    const expected = (g.expected as Array<{ op: string, argMap?: Record<string, string>, out: unknown }>)
      .filter(e => e.op === 'APPROX_UNIQUE_COUNT')
    assert.equal(expected.length, 2)
    for (const e of expected) {
      const { agg, convert } = simpleAggregator(Operation.APPROX_UNIQUE_COUNT, {
        inputType: T.string, argMap: e.argMap ?? {}, flavour: 'airbnb', path: 'aggregations[0]', groupBy: 'golden'
      })
      const col = new DirectColumn(agg, titleIndex, convert, false)
      const rows = g.rows as unknown[][]
      let ir1: unknown = null
      for (const r of rows.slice(0, 3)) ir1 = col.update(ir1, r, r[0] as number)
      let ir2: unknown = null
      for (const r of rows.slice(3)) ir2 = col.update(ir2, r, r[0] as number)
      ir1 = col.merge(ir1, ir2)
      let cloned = col.clone(ir1)
      for (const r of g.rowsToDelete as unknown[][]) cloned = col.delete(cloned, r, r[0] as number)
      assert.equal(col.finalize(cloned), e.out, `k ${e.argMap?.k ?? 'default'}`)
      for (const ir of [ir1, ir2, cloned]) agg.dispose!(ir)
    }
  })

  it('accepts Chronon\'s input types and converts them as ColumnAggregator does', () => {
    const spec = (inputType: DataType, argMap: Record<string, string> = {}) =>
      ({ inputType, argMap, flavour: 'zipline' as const, path: 'aggregations[0]', groupBy: 'g' })
    const one = (t: DataType, v: unknown): number => {
      const { agg, convert } = simpleAggregator(Operation.APPROX_UNIQUE_COUNT, spec(t))
      const ir = agg.prepare(convert(v), 0)
      const bytes = hex(agg.normalize(ir) as Uint8Array)
      agg.dispose!(ir)
      return bytes.length
    }
    for (const t of [T.int, T.short, T.long, T.float, T.double, T.string, T.binary]) {
      assert.ok(one(t, t.kind === 'string' ? 'x' : t.kind === 'binary' ? new Uint8Array([1]) : 3) > 16, t.kind)
    }
    // int 3, long 3 and short 3 are the same item; float 0.1 is hashed as the double 0.10000000149011612.
    const bytesOf = (t: DataType, v: unknown, k = '8'): string => {
      const { agg, convert } = simpleAggregator(Operation.APPROX_UNIQUE_COUNT, spec(t, { k }))
      const ir = agg.prepare(convert(v), 0)
      const b = hex(agg.normalize(ir) as Uint8Array)
      agg.dispose!(ir)
      return b
    }
    assert.equal(bytesOf(T.int, 3), bytesOf(T.long, 3))
    assert.equal(bytesOf(T.short, 3), bytesOf(T.long, 3n))
    assert.equal(bytesOf(T.float, 0.1), bytesOf(T.double, Math.fround(0.1)))
    assert.notEqual(bytesOf(T.float, 0.1), bytesOf(T.double, 0.1))
    assert.equal(bytesOf(T.string, 'ab'), bytesOf(T.binary, new Uint8Array([0x61, 0x62])))
    assert.equal(bytesOf(T.long, 1, '12').slice(6, 8), '0c')
    for (const t of [T.byte, T.boolean, T.list(T.int)]) {
      assert.throws(() => simpleAggregator(Operation.APPROX_UNIQUE_COUNT, spec(t)), UnsupportedAggregation)
    }
    assert.throws(() => simpleAggregator(Operation.APPROX_UNIQUE_COUNT, spec(T.long, { k: '3' })), UnsupportedAggregation)
  })

  it('encodes strings to UTF-8 the way Java does (unpaired surrogates become ?)', () => {
    const enc = (s: string): string => {
      const out = new Uint8Array(s.length * 3)
      return hex(out.subarray(0, encodeUtf8Java(s, out, 0)))
    }
    assert.equal(enc('aé日😀'), hex(Buffer.from('aé日😀', 'utf8')))
    assert.equal(enc('\ud800x'), '3f78')
    assert.equal(enc('x\udc00'), '783f')
    assert.equal(enc('\udbff'), '3f')
    assert.equal(enc('\ud83d\ud83d\ude00'), '3ff09f9880')
  })

  it('refuses bytes that are not a CPC sketch of seed 9001', () => {
    const agg = aggFor('long', 8)
    const good = unhex(vectors.cases.find(c => c.name === 'lgK 8 sliding 1000')!.bytes)
    assert.throws(() => agg.denormalize(good.subarray(0, 7)), CpcSketchError)
    assert.throws(() => agg.denormalize(good.subarray(0, good.length - 4)), CpcSketchError)
    const seed = good.slice()
    seed[6]! ^= 1
    assert.throws(() => agg.denormalize(seed), /seed/)
    const family = good.slice()
    family[2] = 15
    assert.throws(() => agg.denormalize(family), CpcSketchError)
    assert.throws(() => agg.denormalize('nope'), CpcSketchError)
    // Garbage streams must fail cleanly or decode to something, never corrupt the kernel.
    let rng = 12345
    for (let i = 0; i < 2000; i++) {
      const b = good.slice()
      for (let j = 0; j < 4; j++) {
        rng = (rng * 1103515245 + 12345) >>> 0
        const at = 8 + (rng % (b.length - 8))
        b[at] = (rng >>> 8) & 255
      }
      try { agg.dispose(agg.denormalize(b)) } catch (e) { assert.ok(e instanceof CpcSketchError) }
    }
    const s = build(agg, { type: 'long', seq: { kind: 'long', start: 0, count: 1000 } })
    assert.equal(hex(agg.normalize(s)), hex(good))
    agg.dispose(s)
  })
})

describe('CPC properties over random streams', () => {
  // A sketch's coupon set is a function of the distinct items alone, and a union's result is a function of its coupon
  // set and lgK; so merging sketches of A and B must give the bytes of the union-of-one of a sketch of A ∪ B.
  let rng = 987654321
  const rand = (n: number): number => { rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0; return rng % n }
  it('merge(sketch(A), sketch(B)) = clone(sketch(A ∪ B)); bytes survive a round trip', () => {
    for (let trial = 0; trial < 300; trial++) {
      const lgK = 4 + rand(11)
      const agg = aggFor('long', lgK)
      const k = 2 ** lgK
      const nA = rand(3) === 0 ? rand(8) : rand(k * (1 + rand(40)))
      const nB = rand(3) === 0 ? rand(8) : rand(k * (1 + rand(40)))
      const a = kernel.x.cpc_new(lgK) >>> 0
      const b = kernel.x.cpc_new(lgK) >>> 0
      const all = kernel.x.cpc_new(lgK) >>> 0
      const base = rand(1 << 30) * 1000
      for (let i = 0; i < nA; i++) { agg.update(a, base + i); agg.update(all, base + i) }
      for (let i = 0; i < nB; i++) { agg.update(b, base + i * 3); agg.update(all, base + i * 3) }
      const what = `trial ${trial}: lgK ${lgK}, |A| ${nA}, |B| ${nB}`
      for (const s of [a, b, all]) {
        const bytes = agg.normalize(s)
        const back = agg.denormalize(bytes)
        assert.equal(hex(agg.normalize(back)), hex(bytes), `${what}: round trip`)
        assert.equal(agg.estimate(back), agg.estimate(s), `${what}: estimate after round trip`)
        agg.dispose(back)
      }
      const m = agg.merge(agg.clone(a), b)
      const want = agg.clone(all)
      assert.equal(hex(agg.normalize(m)), hex(agg.normalize(want)), what)
      assert.equal(agg.finalize(m), agg.finalize(want), what)
      // Order does not matter either.
      const m2 = agg.merge(agg.clone(b), a)
      assert.equal(hex(agg.normalize(m2)), hex(agg.normalize(want)), `${what}: b ∪ a`)
      for (const s of [a, b, all, m, m2, want]) agg.dispose(s)
    }
  })
})

describe('CPC accuracy against DataSketches\' published error bounds', () => {
  // CPC's relative standard error is 0.589/√K with the HIP estimator (an updated sketch) and 0.693/√K with ICON (a
  // merged sketch) — DataSketches' "CPC accuracy" characterization. Check the RMS relative error over independent
  // streams, with 25 % of slack for the sampling error of 150 trials and the small-K end.
  for (const lgK of [4, 6, 8, 10, 11, 12]) {
    it(`lgK ${lgK}`, () => {
      const agg = aggFor('long', lgK)
      const k = 2 ** lgK
      const trials = 150
      for (const n of [k * 3, k * 40]) {
        let hipSq = 0
        let iconSq = 0
        for (let t = 0; t < trials; t++) {
          const s = kernel.x.cpc_new(lgK) >>> 0
          const base = (t + 1) * 2 ** 33 + n * 7919
          for (let i = 0; i < n; i++) kernel.x.cpc_update_int53(s, base + i)
          const c = agg.clone(s)
          hipSq += ((agg.estimate(s) - n) / n) ** 2
          iconSq += ((agg.estimate(c) - n) / n) ** 2
          agg.dispose(c)
          agg.dispose(s)
        }
        const hipRse = Math.sqrt(hipSq / trials)
        const iconRse = Math.sqrt(iconSq / trials)
        assert.ok(hipRse < 1.25 * 0.589 / Math.sqrt(k), `HIP RSE ${hipRse.toFixed(4)} at n=${n}`)
        assert.ok(iconRse < 1.25 * 0.693 / Math.sqrt(k), `ICON RSE ${iconRse.toFixed(4)} at n=${n}`)
      }
    })
  }
})

describe('CPC kernel memory', () => {
  it('creating and releasing 10^6 sketches keeps the heap bounded', () => {
    const k = new CpcKernel()
    const agg = new ApproxUniqueCount('long', 8, k)
    const cycle = (from: number, to: number): void => {
      const open: number[] = []
      for (let i = from; i < to; i++) {
        // A mix of sizes: mostly small (sparse), some past the window promotion, a few merged and re-serialized.
        const s = agg.prepare(i)
        const extra = i % 97 === 0 ? 60 : i % 7
        for (let j = 1; j <= extra; j++) agg.update(s, i * 131 + j)
        if (i % 101 === 0) agg.dispose(agg.denormalize(agg.normalize(s)))
        open.push(s)
        if (open.length === 64) {
          const m = agg.clone(open[0]!)
          for (const o of open) agg.merge(m, o)
          agg.dispose(m)
          for (const o of open) agg.dispose(o)
          open.length = 0
        }
      }
      for (const o of open) agg.dispose(o)
    }
    cycle(0, 100_000)
    const heapAfterWarmup = k.heapBytes()
    const liveAfterWarmup = k.liveBytes()
    cycle(100_000, 1_000_000)
    // New peaks of simultaneously live blocks may still add a block or two; growth with the count would be megabytes.
    assert.ok(k.heapBytes() <= heapAfterWarmup + 64 * 1024, `heap grew from ${heapAfterWarmup} to ${k.heapBytes()}`)
    assert.equal(k.liveBytes(), liveAfterWarmup, 'every sketch, table and window must be returned')
    assert.ok(heapAfterWarmup < 4 * 1024 * 1024, `heap ${heapAfterWarmup}`)
  })
})
