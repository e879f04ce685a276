// KLL floats sketch (APPROX_PERCENTILE) against vectors from the real DataSketches libraries
// (test/vectors/kll/kll-cases.json, written by test/vectors/kll: sketches-core 0.13.4 = airbnb, datasketches-java
// 6.1.1 = Zipline). Bytes and quantiles must be identical in both coin modes; genuinely random Java sketches must
// round-trip and merge exactly; accuracy must meet DataSketches' published rank-error bound.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ApproxPercentile, type KllFlavour, KllFormatError, kllKernel, KllSketch, parsePercentiles } from '../../src/agg/sketch/kll.ts'
import { repoRoot } from '../helpers/reference.ts'

interface InputSpec { kind: string, count?: number, seed?: number, param?: number, bits?: number[] }
interface Result { n: number, bytes: string, quantileBits: number[] | null, bytesAfterQuantiles: string }
interface FlavourCase { pure: Result, stream: Result, random: string }
interface Case { id: string, k: number, input: InputSpec, yahoo: FlavourCase, apache: FlavourCase }
interface MergeFlavour { pure: Result, stream: Result, randomB: string, pureWithRandomB: Result }
interface MergeCase { id: string, kA: number, kB: number, inputA: InputSpec, inputB: InputSpec, yahoo: MergeFlavour, apache: MergeFlavour }
interface Vectors {
  ranks: number[]
  streamSeeds: { a: number, b: number, merge: number }
  cases: Case[]
  merges: MergeCase[]
  chains: Array<{ id: string, k: number, parts: number, input: InputSpec, yahoo: { pure: Result }, apache: { pure: Result } }>
}

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'kll', 'kll-cases.json'), 'utf8')) as Vectors
const FLAVOURS: Array<['yahoo' | 'apache', KllFlavour]> = [['yahoo', 'airbnb'], ['apache', 'zipline']]

// ---- the generator's inputs (same SplitMix64 streams as KllVectors.java) -------------------------------------------
const M64 = (1n << 64n) - 1n
function * splitmix (seed: number): Generator<bigint> {
  let s = BigInt(seed)
  while (true) {
    s = (s + 0x9E3779B97F4A7C15n) & M64
    let z = s
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64
    yield z ^ (z >> 31n)
  }
}

const dv = new DataView(new ArrayBuffer(4))
function bitsToFloat (b: number): number { dv.setUint32(0, b >>> 0); return dv.getFloat32(0) }
function floatBits (f: number): number { dv.setFloat32(0, f); return dv.getUint32(0) }

const inputCache = new Map<string, Float32Array>()
export function kllInput (spec: InputSpec): Float32Array {
  const key = JSON.stringify(spec)
  const hit = inputCache.get(key)
  if (hit !== undefined) return hit
  let out: Float32Array
  if (spec.kind === 'explicit') {
    out = Float32Array.from(spec.bits!, bitsToFloat)
  } else {
    const n = spec.count!
    const p = spec.param!
    out = new Float32Array(n)
    const g = splitmix(spec.seed!)
    const next = (): bigint => g.next().value as bigint
    for (let i = 0; i < n; i++) {
      switch (spec.kind) {
        case 'uniform': out[i] = Number(next() >> 40n) * p / 16777216; break
        case 'ints': out[i] = Number(next() % BigInt(p)); break
        case 'bits': out[i] = bitsToFloat(Number(next() >> 32n)); break
        case 'ascending': out[i] = i; break
        case 'descending': out[i] = n - i; break
        case 'constant': out[i] = p; break
        case 'signed': out[i] = (Number(next() >> 40n) - 8388608) * p / 8388608; break
        default: throw new Error(spec.kind)
      }
    }
  }
  inputCache.set(key, out)
  return out
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

function build (k: number, flavour: KllFlavour, mode: 'pure' | 'stream', items: Float32Array, seed: number): KllSketch {
  const s = KllSketch.create(k, flavour, mode, BigInt(seed))
  s.updateMany(items)
  return s
}

/** bytes, then quantiles (which sort level 0 and flip the flag), then bytes again: exactly as the generator. */
function checkResult (s: KllSketch, want: Result, label: string): void {
  assert.equal(s.n, want.n, `${label}: n`)
  assert.equal(hex(s.toBytes()), want.bytes, `${label}: bytes`)
  const q = s.quantiles(vectors.ranks)
  assert.deepEqual(q === null ? null : Array.from(q, floatBits), want.quantileBits, `${label}: quantiles`)
  assert.equal(hex(s.toBytes()), want.bytesAfterQuantiles, `${label}: bytes after quantiles`)
}

describe('KLL floats sketch vs DataSketches (Java)', () => {
  it('has at least 20 input sets, with empty, single item and 10^6 items', () => {
    assert.ok(vectors.cases.length >= 20)
    assert.ok(vectors.cases.some(c => c.yahoo.pure.n === 0))
    assert.ok(vectors.cases.some(c => c.yahoo.pure.n === 1))
    assert.ok(vectors.cases.some(c => c.yahoo.pure.n === 1_000_000))
  })

  for (const c of vectors.cases) {
    for (const [jf, flavour] of FLAVOURS) {
      it(`${c.id} (${jf}): bytes and quantiles equal Java's in pure and stream coin modes`, () => {
        const items = kllInput(c.input)
        const pure = build(c.k, flavour, 'pure', items, 0)
        checkResult(pure, c[jf].pure, `${c.id}/${jf}/pure`)
        pure.dispose()
        const stream = build(c.k, flavour, 'stream', items, vectors.streamSeeds.a)
        checkResult(stream, c[jf].stream, `${c.id}/${jf}/stream`)
        stream.dispose()
      })
    }
    it(`${c.id}: a genuinely random Java sketch round-trips through our bytes`, () => {
      for (const [jf, flavour] of FLAVOURS) {
        const s = KllSketch.fromBytes(unhex(c[jf].random), flavour)
        assert.equal(hex(s.toBytes()), c[jf].random)
        const copy = s.clone()
        assert.equal(hex(copy.toBytes()), c[jf].random)
        copy.dispose()
        s.dispose()
      }
    })
  }

  for (const m of vectors.merges) {
    for (const [jf, flavour] of FLAVOURS) {
      it(`merge ${m.id} (${jf}): equals Java's merge, also with a random Java sketch`, () => {
        const a = kllInput(m.inputA)
        const b = kllInput(m.inputB)
        let sa = build(m.kA, flavour, 'pure', a, 0)
        let sb = build(m.kB, flavour, 'pure', b, 0)
        sa.merge(sb)
        checkResult(sa, m[jf].pure, `${m.id}/${jf}/pure`)
        sa.dispose(); sb.dispose()

        sa = build(m.kA, flavour, 'stream', a, vectors.streamSeeds.a)
        sb = build(m.kB, flavour, 'stream', b, vectors.streamSeeds.b)
        sa.setSeed(BigInt(vectors.streamSeeds.merge))
        sa.merge(sb)
        checkResult(sa, m[jf].stream, `${m.id}/${jf}/stream`)
        sa.dispose(); sb.dispose()

        sa = build(m.kA, flavour, 'pure', a, 0)
        sb = KllSketch.fromBytes(unhex(m[jf].randomB), flavour)
        sa.merge(sb)
        assert.equal(hex(sb.toBytes()), m[jf].randomB, 'merge leaves the other sketch intact')
        checkResult(sa, m[jf].pureWithRandomB, `${m.id}/${jf}/random B`)
        sa.dispose(); sb.dispose()
      })
    }
  }

  for (const c of vectors.chains) {
    for (const [jf, flavour] of FLAVOURS) {
      it(`${c.id} (${jf}): tile-like bulk merge of ${c.parts} serialized sketches equals Java's`, () => {
        const all = kllInput(c.input)
        const per = all.length / c.parts
        const acc = KllSketch.create(c.k, flavour)
        for (let p = 0; p < c.parts; p++) {
          const part = build(c.k, flavour, 'pure', all.subarray(p * per, (p + 1) * per), 0)
          const back = KllSketch.fromBytes(part.toBytes(), flavour)
          acc.merge(back)
          part.dispose(); back.dispose()
        }
        checkResult(acc, c[jf].pure, `${c.id}/${jf}`)
        acc.dispose()
      })
    }
  }
})

describe('KLL accuracy', () => {
  // DataSketches' published single-rank error at 99% confidence: 2.296 / k^0.9723 (KllSketch.getNormalizedRankError)
  const eps = (k: number): number => 2.296 / k ** 0.9723
  const specs: InputSpec[] = [
    { kind: 'uniform', count: 300000, seed: 101, param: 1 },
    { kind: 'signed', count: 200000, seed: 102, param: 1e4 },
    { kind: 'ints', count: 200000, seed: 103, param: 100000 },
    { kind: 'bits', count: 100000, seed: 104, param: 0 }
  ]
  for (const k of [8, 32, 128, 200, 400]) {
    for (const flavour of ['airbnb', 'zipline'] as const) {
      it(`k=${k} (${flavour}): every quantile's true rank is within ±${(eps(k) * 100).toFixed(2)}%`, () => {
        for (const spec of specs) {
          const items = kllInput(spec).filter(x => !Number.isNaN(x))
          const sorted = Float32Array.from(items).sort()
          const s = build(k, flavour, 'pure', items, 0)
          const ranks = Array.from({ length: 99 }, (_, i) => (i + 1) / 100)
          const q = s.quantiles(ranks)!
          for (let i = 0; i < ranks.length; i++) {
            const r = ranks[i]!
            // true rank interval of the answer: [#items < q, #items ≤ q] / n
            const lo = lowerBound(sorted, q[i]!) / sorted.length
            const hi = upperBound(sorted, q[i]!) / sorted.length
            const err = r < lo ? lo - r : r > hi ? r - hi : 0
            assert.ok(err <= eps(k), `k=${k} ${spec.kind} rank ${r}: answer ${q[i]} has true rank [${lo}, ${hi}]`)
          }
          // and the merge of many small sketches
          const acc = KllSketch.create(k, flavour)
          const parts = 50
          const per = Math.floor(items.length / parts)
          for (let p = 0; p < parts; p++) {
            const part = build(k, flavour, 'pure', items.subarray(p * per, (p + 1) * per), 0)
            acc.merge(part)
            part.dispose()
          }
          const used = Float32Array.from(items.subarray(0, parts * per)).sort()
          const qm = acc.quantiles(ranks)!
          for (let i = 0; i < ranks.length; i++) {
            const r = ranks[i]!
            const lo = lowerBound(used, qm[i]!) / used.length
            const hi = upperBound(used, qm[i]!) / used.length
            const err = r < lo ? lo - r : r > hi ? r - hi : 0
            assert.ok(err <= eps(k), `merged k=${k} ${spec.kind} rank ${r}: true rank [${lo}, ${hi}]`)
          }
          s.dispose(); acc.dispose()
        }
      })
    }
  }
})

function lowerBound (a: Float32Array, x: number): number {
  let lo = 0; let hi = a.length
  while (lo < hi) { const m = (lo + hi) >>> 1; if (a[m]! < x) lo = m + 1; else hi = m }
  return lo
}
function upperBound (a: Float32Array, x: number): number {
  let lo = 0; let hi = a.length
  while (lo < hi) { const m = (lo + hi) >>> 1; if (a[m]! <= x) lo = m + 1; else hi = m }
  return lo
}

describe('KLL memory', () => {
  it('creating and releasing 1e6 sketches keeps memory bounded', () => {
    const kern = kllKernel()
    const warm = kern.create(128)
    kern.free(warm)
    const live0 = kern.liveBytes
    const mem0 = kern.memoryBytes
    for (let i = 0; i < 1_000_000; i++) {
      const h = kern.create(128)
      kern.update(h, i)
      kern.update(h, -i)
      kern.free(h)
    }
    assert.equal(kern.liveBytes, live0)
    assert.equal(kern.memoryBytes, mem0)
  })

  it('sketches that grow levels, merge and serialize are reclaimed too', () => {
    const kern = kllKernel()
    const items = kllInput({ kind: 'uniform', count: 5000, seed: 7, param: 1 })
    const round = (): void => {
      const a = kern.create(64); const b = kern.create(64)
      kern.updateMany(a, items)
      kern.updateMany(b, items.subarray(0, 3000))
      kern.merge(a, b)
      const c = kern.deserialize(kern.serialize(a))
      kern.quantiles(c, [0.1, 0.5, 0.9])
      const d = kern.clone(c)
      for (const h of [a, b, c, d]) kern.free(h)
    }
    round()
    const live0 = kern.liveBytes
    const mem0 = kern.memoryBytes
    for (let i = 0; i < 2000; i++) round()
    assert.equal(kern.liveBytes, live0)
    assert.equal(kern.memoryBytes, mem0)
  })

  it('dispose() is idempotent and a disposed sketch refuses further use', () => {
    const s = KllSketch.create(128)
    s.update(1)
    s.dispose()
    s.dispose()
    assert.throws(() => s.update(2), /after dispose/)
  })
})

describe('APPROX_PERCENTILE aggregator', () => {
  it('prepare/update/finalize/normalize through the SimpleAggregator API equals Java', () => {
    const c = vectors.cases.find(x => x.id === 'k8-100')!
    const items = kllInput(c.input)
    for (const [jf, flavour] of FLAVOURS) {
      const agg = new ApproxPercentile(c.k, vectors.ranks, flavour)
      let ir = agg.prepare(items[0]!)
      for (let i = 1; i < items.length; i++) ir = agg.update(ir, items[i]!)
      assert.equal(hex(agg.normalize(ir)), c[jf].pure.bytes)
      const back = agg.denormalize(agg.normalize(ir))
      const copy = agg.clone(back)
      assert.deepEqual(agg.finalize(copy)!.map(floatBits), c[jf].pure.quantileBits)
      const merged = agg.merge(agg.prepare(items[0]!), back)
      assert.equal(merged.n, 101)
      for (const x of [ir, back, copy, merged]) agg.dispose(x)
    }
  })

  it('parses percentiles like Chronon (JSON array, default [0.5]) and rejects bad ones', () => {
    assert.deepEqual(parsePercentiles(undefined), [0.5])
    assert.deepEqual(parsePercentiles('[0.5, 0.9, 0.99]'), [0.5, 0.9, 0.99])
    assert.throws(() => parsePercentiles('[1.5]'), /within \[0, 1\]/)
    assert.throws(() => parsePercentiles('0.5'), /JSON array/)
  })

  it('only-NaN input gives an empty sketch whose final is null', () => {
    const agg = new ApproxPercentile(128, [0.5], 'zipline')
    const ir = agg.prepare(NaN)
    assert.equal(agg.finalize(ir), null)
    assert.equal(hex(agg.normalize(ir)), '02010f0180000800')
    agg.dispose(ir)
  })

  it('rejects corrupt bytes with a reason', () => {
    assert.throws(() => KllSketch.fromBytes(new Uint8Array([5, 1, 15, 0])), KllFormatError)
    assert.throws(() => KllSketch.fromBytes(unhex('02010f0180000700')), /m is not 8/)
    assert.throws(() => KllSketch.fromBytes(unhex('02010e0180000800')), /family/)
  })
})
