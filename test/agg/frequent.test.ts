// Frequent items sketch (APPROX_FREQUENT_K / APPROX_HEAVY_HITTERS_K) against the real DataSketches libraries
// (test/vectors/frequent/frequent-cases.json: ItemsSketch of sketches-core 0.13.4 and datasketches-java 6.1.1):
// bytes, re-serialized bytes after getInstance, getFrequentItems rows for both error types, merges, Chronon finals;
// plus Chronon's own FrequentItems golden cases and error bounds.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { DataType } from '../../src/api/data-type.ts'
import { Operation } from '../../src/api/group-by.ts'
import type { AggregatorSpec } from '../../src/agg/aggregator.ts'
import { simpleAggregator, UnsupportedAggregation } from '../../src/agg/registry.ts'
import { ApproxHistogram } from '../../src/agg/sketch/approx-histogram.ts'
import { ApproxPercentile } from '../../src/agg/sketch/kll.ts'
import {
  airbnbSketchSize, type FrequentFlavour, FrequentFormatError, FrequentItems, FrequentItemsSketch,
  frequentKernel, type FrequentRow, ziplineSketchSize
} from '../../src/agg/sketch/frequent.ts'
import { doubleHashCode, type Item, type ItemType, javaDoubleToString, longHashCode, stringHashCode } from '../../src/agg/sketch/java-compat.ts'
import { goldenCase } from '../helpers/reference.ts'
import { frequentVectors as V, type JsonRow, type Result, type Spec, updates } from '../vectors/frequent/inputs.ts'

const FLAVOURS: Array<['yahoo' | 'apache', FrequentFlavour]> = [['yahoo', 'airbnb'], ['apache', 'zipline']]
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

function build (spec: Spec, maxMapSize: number, flavour: FrequentFlavour): FrequentItemsSketch {
  const s = FrequentItemsSketch.create(spec.type, maxMapSize, flavour)
  for (const u of updates(spec)) s.update(u.item, u.count)
  return s
}

const dv = new DataView(new ArrayBuffer(8))
function rowJson (type: ItemType, r: FrequentRow): JsonRow {
  let item: JsonRow[0]
  if (type === 'double') {
    dv.setFloat64(0, r.item as number)
    item = { bits: dv.getBigUint64(0).toString(16), str: javaDoubleToString(r.item as number) }
  } else {
    item = String(r.item)
  }
  return [item, r.estimate, r.upperBound, r.lowerBound]
}

function check (s: FrequentItemsSketch, want: Result, label: string, flavour: FrequentFlavour): void {
  const bytes = s.toBytes()
  assert.equal(hex(bytes), want.bytes, `${label}: bytes`)
  assert.deepEqual(s.rows('NO_FALSE_NEGATIVES').map(r => rowJson(s.type, r)), want.nfn, `${label}: NO_FALSE_NEGATIVES rows`)
  assert.deepEqual(s.rows('NO_FALSE_POSITIVES').map(r => rowJson(s.type, r)), want.nfp, `${label}: NO_FALSE_POSITIVES rows`)
  const back = FrequentItemsSketch.fromBytes(bytes, s.type, flavour)
  assert.equal(hex(back.toBytes()), want.reserialized, `${label}: bytes after getInstance`)
  back.dispose()
}

describe('frequent items sketch vs DataSketches (Java)', () => {
  it('has at least 20 input sets (String, Long, Double items), with empty, single item and 10^6 items', () => {
    assert.ok(V.cases.length >= 20)
    assert.ok(V.cases.some(c => c.input.count === 0))
    assert.ok(V.cases.some(c => c.input.count === 1))
    assert.ok(V.cases.some(c => c.input.count === 1_000_000))
  })

  for (const c of V.cases) {
    for (const [jf, flavour] of FLAVOURS) {
      it(`${c.id} (${jf}): bytes, rows and getInstance bytes equal Java's`, () => {
        const s = build(c.input, c.maxMapSize, flavour)
        check(s, c[jf], `${c.id}/${jf}`, flavour)
        // an exact copy behaves as the original
        const copy = s.copy()
        assert.equal(hex(copy.toBytes()), c[jf].bytes)
        copy.dispose()
        s.dispose()
      })
    }
  }

  for (const m of V.merges) {
    for (const [jf, flavour] of FLAVOURS) {
      it(`${m.id} ${m.inputA.type} (${jf}): merge equals Java's, directly and after a trip through bytes`, () => {
        const a = build(m.inputA, m.maxMapSize, flavour)
        const b = build(m.inputB, m.maxMapSize, flavour)
        const bBefore = hex(b.toBytes())
        a.merge(b)
        assert.equal(hex(b.toBytes()), bBefore, 'merge leaves the other sketch intact')
        check(a, m[jf].direct, `${m.id}/${jf}/direct`, flavour)
        const a2 = build(m.inputA, m.maxMapSize, flavour)
        const ta = FrequentItemsSketch.fromBytes(a2.toBytes(), m.inputA.type, flavour)
        const tb = FrequentItemsSketch.fromBytes(b.toBytes(), m.inputB.type, flavour)
        ta.merge(tb)
        check(ta, m[jf].viaBytes, `${m.id}/${jf}/via bytes`, flavour)
        for (const s of [a, a2, b, ta, tb]) s.dispose()
      })
    }
  }

  for (const c of V.chronon) {
    it(`Zipline k=${c.k} over ${c.input.type}: APPROX_FREQUENT_K and APPROX_HEAVY_HITTERS_K finals equal Chronon's`, () => {
      assert.equal(ziplineSketchSize(c.k), c.sketchSize)
      for (const [errorType, want] of [['NO_FALSE_NEGATIVES', c.frequentK], ['NO_FALSE_POSITIVES', c.heavyHittersK]] as const) {
        const agg = new FrequentItems(c.k, c.input.type, errorType, 'zipline')
        // the generator feeds weighted updates (ItemsSketch.update(item, count)), so build the IR the same way
        const ir = build(c.input, agg.sketchSize, 'zipline')
        if (c.input.kind !== 'weighted') {
          const ups = updates(c.input)
          let viaAgg = agg.prepare(ups[0]!.item)
          for (let u = 1; u < ups.length; u++) viaAgg = agg.update(viaAgg, ups[u]!.item)
          assert.deepEqual(agg.normalize(viaAgg), agg.normalize(ir))
          agg.dispose(viaAgg)
        }
        assert.deepEqual(Object.fromEntries(agg.finalize(ir)), want)
        // normalized = type byte + sketch bytes; denormalize gives the same final
        const norm = agg.normalize(ir)
        assert.equal(norm[0], { string: 0, long: 1, double: 2 }[c.input.type])
        const back = agg.denormalize(norm)
        assert.deepEqual(Object.fromEntries(agg.finalize(back)), want)
        agg.dispose(ir); agg.dispose(back)
      }
    })
  }
})

describe('Chronon FrequentItems golden cases (airbnb FrequentItemsTest)', () => {
  const g = goldenCase('frequent_items')
  const typeOf = (keys: string[]): ItemType => keys.some(k => k.includes('.')) ? 'double' : 'string'

  it('sketch sizes', () => {
    const sizes = g.subcases.find((s: any) => s.sketchSizeFor !== undefined).sketchSizeFor as Record<string, number>
    for (const [k, want] of Object.entries(sizes)) assert.equal(airbnbSketchSize(Number(k)), want, `k=${k}`)
    assert.equal(ziplineSketchSize(8), 32)
  })

  for (const sub of g.subcases.filter((s: any) => s.counts !== undefined)) {
    it(`mapSize ${sub.mapSize}: ${JSON.stringify(sub.counts)} → ${JSON.stringify(sub.expected)}`, () => {
      const keys = Object.keys(sub.counts)
      const type = typeOf(keys)
      const item = (k: string): Item => type === 'double' ? Number(k) : k
      const agg = new FrequentItems(sub.mapSize, type, 'NO_FALSE_POSITIVES', 'airbnb')
      const ordered = keys.sort((a, b) => sub.counts[b] - sub.counts[a])
      let ir = agg.prepare(item(ordered[0]!))
      for (const k of ordered) for (let i = k === ordered[0] ? 1 : 0; i < sub.counts[k]; i++) ir = agg.update(ir, item(k))
      const got = Object.fromEntries(agg.finalize(ir))
      const want = type === 'double' ? Object.fromEntries(Object.entries(sub.expected).map(([k, v]) => [javaDoubleToString(Number(k)), v])) : sub.expected
      assert.deepEqual(got, want)
      agg.dispose(ir)
    })
  }

  const bulk = g.subcases.find((s: any) => s.bulkMerge !== undefined)
  it('bulk merge of three single-item sketches', () => {
    const agg = new FrequentItems(bulk.mapSize, 'string', 'NO_FALSE_POSITIVES', 'airbnb')
    const maker = new FrequentItems(4, 'string', 'NO_FALSE_POSITIVES', 'airbnb')
    const irs = (bulk.bulkMerge as Array<Record<string, number>>).map(m => {
      const [k, n] = Object.entries(m)[0]!
      let ir = maker.prepare(k)
      for (let i = 1; i < n; i++) ir = maker.update(ir, k)
      return ir
    })
    let acc = irs[0]!
    for (const ir of irs.slice(1)) acc = agg.merge(acc, ir)
    assert.deepEqual(Object.fromEntries(agg.finalize(acc)), bulk.expected)
    for (const ir of irs) agg.dispose(ir)
  })
})

describe('frequent items: Java hashing and formatting', () => {
  it('hashCode of String, Long and Double as Java computes them', () => {
    assert.equal(stringHashCode('abc'), 96354)
    assert.equal(stringHashCode('\uD83D\uDE00'), 1772899) // surrogate pair: 31·0xD83D + 0xDE00
    assert.equal(stringHashCode('hello world, a longer string'), 'hello world, a longer string'.split('').reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 0))
    assert.equal(longHashCode(1), 1)
    assert.equal(longHashCode(-1), 0)
    assert.equal(longHashCode(2 ** 32), 1)
    assert.equal(longHashCode(-(2n ** 63n)), -2147483648)
    assert.equal(doubleHashCode(1.0), 1072693248)
    assert.equal(doubleHashCode(-0.0), -2147483648)
    assert.equal(doubleHashCode(NaN), 2146959360)
  })

  it('Double.toString', () => {
    const cases: Array<[number, string]> = [[1, '1.0'], [0.5, '0.5'], [-0, '-0.0'], [1e7, '1.0E7'], [9999999, '9999999.0'],
      [0.001, '0.001'], [0.0009, '9.0E-4'], [123.456, '123.456'], [1.5e300, '1.5E300'], [NaN, 'NaN'], [-Infinity, '-Infinity'],
      [100, '100.0'], [Math.fround(0.1), '0.10000000149011612']]
    for (const [d, s] of cases) assert.equal(javaDoubleToString(d), s, String(d))
  })
})

describe('frequent items: accuracy and memory', () => {
  it('estimates stay within the a-priori error 3.5/maxMapSize · n, and true heavy hitters are reported', () => {
    for (const mms of [16, 64, 256]) {
      const spec: Spec = { type: 'long', kind: 'skewed', count: 200000, seed: 900 + mms, m: 50000 }
      const truth = new Map<number, number>()
      for (const u of updates(spec)) truth.set(u.item as number, (truth.get(u.item as number) ?? 0) + u.count)
      const s = build(spec, mms, 'zipline')
      const eps = 3.5 / mms * spec.count
      assert.ok(s.maximumError <= eps, `offset ${s.maximumError} > ${eps}`)
      for (const r of s.rows('NO_FALSE_NEGATIVES')) {
        const t = truth.get(r.item as number) ?? 0
        assert.ok(r.lowerBound <= t && t <= r.upperBound, `item ${r.item}: ${t} outside [${r.lowerBound}, ${r.upperBound}]`)
      }
      const reported = new Set(s.rows('NO_FALSE_NEGATIVES').map(r => r.item))
      for (const [item, n] of truth) if (n > s.maximumError) assert.ok(reported.has(item), `heavy hitter ${item} (${n}) missing`)
      for (const r of s.rows('NO_FALSE_POSITIVES')) assert.ok((truth.get(r.item as number) ?? 0) >= s.maximumError)
      s.dispose()
    }
  })

  it('creating and releasing 1e6 string sketches keeps memory bounded', () => {
    const kern = frequentKernel()
    const warm = kern.create('string', 32)
    kern.update(warm, 'string', 'warm-up')
    kern.free(warm)
    const live0 = kern.liveBytes
    const mem0 = kern.memoryBytes
    for (let i = 0; i < 1_000_000; i++) {
      const h = kern.create('string', 32)
      kern.updateString(h, 'user-' + (i & 1023))
      kern.updateString(h, 'x')
      kern.free(h)
    }
    assert.equal(kern.liveBytes, live0)
    assert.equal(kern.memoryBytes, mem0)
  })

  it('purging, resizing, merging and copying sketches reclaims their string blocks', () => {
    const kern = frequentKernel()
    const spec: Spec = { type: 'string', kind: 'uniform', count: 3000, seed: 5, m: 2000 }
    const round = (): void => {
      const a = build(spec, 64, 'zipline')
      const b = a.copy()
      b.merge(a)
      const c = b.cloneViaBytes()
      c.rows('NO_FALSE_POSITIVES')
      for (const s of [a, b, c]) s.dispose()
    }
    round()
    const live0 = kern.liveBytes
    const mem0 = kern.memoryBytes
    for (let i = 0; i < 300; i++) round()
    assert.equal(kern.liveBytes, live0)
    assert.equal(kern.memoryBytes, mem0)
  })

  it('rejects bad sizes, bad bytes and negative counts', () => {
    assert.throws(() => FrequentItemsSketch.create('long', 12), /power of two/)
    assert.throws(() => FrequentItemsSketch.fromBytes(unhex('04010b0303000000'), 'long'), FrequentFormatError)
    assert.throws(() => FrequentItemsSketch.fromBytes(unhex('04010a0303000000'), 'long'), /empty flag|too short/)
    const s = FrequentItemsSketch.create('long', 8)
    assert.throws(() => s.update(1, -1), /non-negative/)
    s.dispose()
  })
})


describe('registry: sketch operations with Chronon input-type rules', () => {
  const spec = (kind: string, flavour: 'airbnb' | 'zipline', argMap: Record<string, string> = {}): AggregatorSpec =>
    ({ inputType: { kind } as DataType, argMap, flavour, path: 'aggregations[0]', groupBy: 'test' })

  it('APPROX_PERCENTILE: int/long/short/double → float, float as is; k default 128; percentiles parsed', () => {
    for (const kind of ['int', 'long', 'short', 'double', 'float']) {
      const { agg, convert } = simpleAggregator(Operation.APPROX_PERCENTILE, spec(kind, 'zipline', { percentiles: '[0.1, 0.9]' }))
      assert.ok(agg instanceof ApproxPercentile)
      assert.equal((agg as ApproxPercentile).k, 128)
      assert.deepEqual((agg as ApproxPercentile).percentiles, [0.1, 0.9])
      assert.equal(convert(0.1), Math.fround(0.1))
    }
    assert.equal((simpleAggregator(Operation.APPROX_PERCENTILE, spec('int', 'airbnb', { k: '200' })).agg as ApproxPercentile).k, 200)
    for (const kind of ['string', 'boolean', 'byte']) {
      assert.throws(() => simpleAggregator(Operation.APPROX_PERCENTILE, spec(kind, 'airbnb')), UnsupportedAggregation)
    }
  })

  it('APPROX_FREQUENT_K / APPROX_HEAVY_HITTERS_K (Zipline) and APPROX_HISTOGRAM_K (airbnb): item types and k', () => {
    const f = simpleAggregator(Operation.APPROX_FREQUENT_K, spec('float', 'zipline')).agg as FrequentItems
    assert.deepEqual([f.itemType, f.errorType, f.k, f.sketchSize], ['double', 'NO_FALSE_NEGATIVES', 8, 32])
    const h = simpleAggregator(Operation.APPROX_HEAVY_HITTERS_K, spec('int', 'zipline', { k: '20' })).agg as FrequentItems
    assert.deepEqual([h.itemType, h.errorType, h.k, h.sketchSize], ['long', 'NO_FALSE_POSITIVES', 20, 64])
    const a = simpleAggregator(Operation.APPROX_HISTOGRAM_K, spec('string', 'airbnb')).agg as ApproxHistogram
    assert.deepEqual([a.itemType, a.k, a.sketchSize], ['string', 8, 8])
    for (const op of [Operation.APPROX_FREQUENT_K, Operation.APPROX_HEAVY_HITTERS_K, Operation.APPROX_HISTOGRAM_K]) {
      assert.throws(() => simpleAggregator(op, spec('boolean', 'zipline')), UnsupportedAggregation)
      assert.throws(() => simpleAggregator(op, spec('binary', 'airbnb')), UnsupportedAggregation)
    }
  })
})
