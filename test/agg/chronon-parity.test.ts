// tilekiln against vectors produced on a JVM by test/vectors/chronon/ (ParityVectors.java: the JDK's HashMap and
// Math, Apache Avro 1.8.2, Chronon's steps reproduced line for line): map IRs written in Row.to's order, and SKEW's
// Math.pow(m2, 1.5).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { Kurtosis, type Moments, Skew } from '../../src/agg/moments.ts'
import { powThreeHalves } from '../../src/agg/pow-three-halves.ts'
import { RowAggregator } from '../../src/agg/row.ts'
import { T } from '../../src/api/data-type.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { TileCodec } from '../../src/codec/tile.ts'
import { repoRoot } from '../helpers/reference.ts'
import { planOf } from './golden-helpers.ts'

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'chronon', 'chronon-parity.json'), 'utf8'))

const PLAN = planOf('parity', [
  { op: 'HISTOGRAM', col: 's' },
  { op: 'SUM', col: 'v', bucket: 'b' },
  { op: 'HISTOGRAM', col: 's', bucket: 'b' }
])
const SCHEMA = [{ name: 'ts', type: T.long }, { name: 's', type: T.string }, { name: 'v', type: T.long }, { name: 'b', type: T.string }]

test('the parity GroupBy has the tile schema the generator wrote with', () => {
  const agg = new RowAggregator(PLAN, SCHEMA)
  assert.deepEqual(new TileCodec(PLAN.cleanName, agg.irSchema).avroSchema, vectors.tileSchema)
})

test('HISTOGRAM and bucketed tiles: map entries in Row.to\'s order, bytes identical to the JVM\'s', () => {
  const agg = new RowAggregator(PLAN, SCHEMA)
  const codec = new TileCodec(PLAN.cleanName, agg.irSchema)
  let reordered = 0
  for (const c of vectors.mapTiles) {
    const irs = agg.init()
    c.events.forEach(([s, v, b]: [string, number, string], i: number) => { agg.update(irs, [1000 + i, s, v, b], 1000 + i) })
    const normalized = agg.normalize(irs) as Array<Map<string, unknown>>
    assert.deepEqual([...normalized[0]!.keys()], c.order.s_histogram, `${c.name}: s_histogram order`)
    assert.deepEqual([...normalized[1]!.keys()], c.order.v_sum_by_b, `${c.name}: v_sum_by_b order`)
    assert.deepEqual([...normalized[2]!].map(([k, m]) => [k, [...(m as Map<string, number>).keys()]]), c.order.s_histogram_by_b, `${c.name}: s_histogram_by_b order`)
    assert.equal(toHex(codec.encode(normalized, false)), c.tile, `${c.name}: tile bytes`)
    if (JSON.stringify(c.order.irOrder) !== JSON.stringify(c.order.s_histogram)) reordered++
  }
  // the vectors must exercise the copy: in many of them Row.to's copy orders keys unlike the IR map
  assert.ok(reordered >= 10, `only ${reordered} cases where Row.to reorders the histogram`)
})

// ---- SKEW / KURTOSIS ------------------------------------------------------------------------------------------------

const f64 = new Float64Array(1)
const u64 = new BigUint64Array(f64.buffer)
function fromBits (hex: string): number { u64[0] = BigInt('0x' + hex); return f64[0]! }
function bitsOf (x: number): string { f64[0] = x; return u64[0]!.toString(16).padStart(16, '0') }

/** A finite positive double as m·2^e with m an integer. */
function parts (x: number): [bigint, number] {
  f64[0] = x
  const b = u64[0]!
  const be = Number((b >> 52n) & 0x7ffn)
  const frac = b & ((1n << 52n) - 1n)
  return be === 0 ? [frac, -1074] : [frac | (1n << 52n), be - 1075]
}

/** a·2^ea compared with b·2^eb, exactly. */
function cmp (a: bigint, ea: number, b: bigint, eb: number): number {
  const e = Math.min(ea, eb)
  const x = a << BigInt(ea - e)
  const y = b << BigInt(eb - e)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Whether r is the double nearest to x^1.5 (ties to even), proved with integers: r's rounding interval holds √(x³). */
function isNearestPow15 (x: number, r: number): boolean {
  if (!(x > 0) || !Number.isFinite(r) || r === 0) return false
  const [mx, ex] = parts(x)
  const [mr, er] = parts(r)
  const cube = mx * mx * mx
  const ec = 3 * ex
  // the interval's ends, doubled mantissas at exponent er − 1 (below a power of two the gap below is half as wide)
  const powerOfTwo = mr === 1n << 52n && er > -1074
  const lo: [bigint, number] = powerOfTwo ? [4n * mr - 1n, er - 2] : [2n * mr - 1n, er - 1]
  const hi: [bigint, number] = [2n * mr + 1n, er - 1]
  const below = cmp(lo[0] * lo[0], 2 * lo[1], cube, ec)
  const above = cmp(cube, ec, hi[0] * hi[0], 2 * hi[1])
  if (below > 0 || above > 0) return false
  if (below === 0 || above === 0) return (mr & 1n) === 0n // a tie: the even one
  return true
}

test('isNearestPow15 knows right from wrong', () => {
  assert.equal(isNearestPow15(4, 8), true)
  assert.equal(isNearestPow15(2, 2 * Math.SQRT2), true)
  assert.equal(isNearestPow15(2, 2 * Math.SQRT2 + 4.440892098500626e-16), false)
  // y = 2^17 + 1: y³ has 52 bits, exact; y = 262143 (18 bits): y³ has 54 bits, a midpoint between two doubles
  const y = 262143
  const cube = y * y * y // rounded to even by JS
  assert.equal(isNearestPow15(y * y, cube), true)
  assert.equal(isNearestPow15(y * y, cube + (cube % 4 === 0 ? 2 : -2)), false)
})

test('powThreeHalves is the nearest double to x^1.5, on the JVM\'s 10,000 inputs and at the edges', () => {
  for (const c of vectors.skew) {
    const m2 = fromBits(c[2])
    if (m2 === 0) continue
    const ours = powThreeHalves(m2)
    if (Number.isFinite(ours) && ours !== 0) assert.ok(isNearestPow15(m2, ours), `powThreeHalves(${m2}) = ${ours}`)
  }
  for (const x of [Number.MIN_VALUE, 2 ** -1074 * 3, 2 ** -700, 2 ** -681.5, 2 ** -400, 2 ** -400 * 0.999, 1e-300, 1, 2, 1e200, 2 ** 682, 2 ** 682.6]) {
    assert.ok(isNearestPow15(x, powThreeHalves(x)) || powThreeHalves(x) === 0, `x = ${x}`)
  }
  assert.equal(powThreeHalves(2 ** 683), Infinity)
  assert.equal(powThreeHalves(Number.MAX_VALUE), Infinity)
  assert.equal(powThreeHalves(2 ** -1074), 0)
  for (const x of [0, -0, NaN, -1, Infinity, -Infinity]) assert.ok(Object.is(powThreeHalves(x), Math.pow(x, 1.5)), `x = ${x}`)
})

test('SKEW and KURTOSIS over 10,000 random IRs: bit-identical to the JVM wherever its Math.pow is correctly rounded', () => {
  const skew = new Skew()
  const kurtosis = new Kurtosis()
  let jvmNotNearest = 0
  let jvmMidpoints = 0
  let v8Differs = 0
  for (const c of vectors.skew) {
    const ir = c.slice(0, 5).map(fromBits) as Moments
    const m2 = ir[2]
    const jvmPow = fromBits(c[5])
    assert.equal(bitsOf(kurtosis.finalize(ir)), c[7], `kurtosis of ${c.slice(0, 5)}`)
    if (!Object.is(Math.pow(m2, 1.5), jvmPow)) v8Differs++
    if (m2 > 0 && Number.isFinite(jvmPow) && jvmPow !== 0 && !isNearestPow15(m2, jvmPow)) {
      // HotSpot's intrinsic missed the nearest double (the JVM is not correctly rounded here): ours is the nearest
      jvmNotNearest++
      if (Number.isInteger(Math.sqrt(m2))) jvmMidpoints++
      continue
    }
    assert.equal(bitsOf(powThreeHalves(m2)), c[5], `Math.pow(${m2}, 1.5)`)
    assert.equal(bitsOf(skew.finalize(ir)), c[6], `skew of ${c.slice(0, 5)}`)
  }
  // what the JVM generator saw on OpenJDK 17 x86-64 (see src/agg/pow-three-halves.ts); V8's own pow is far off
  assert.ok(jvmNotNearest <= 40, `${jvmNotNearest} JVM results not correctly rounded`)
  assert.ok(v8Differs > 500, `V8's Math.pow differs from the JVM's on only ${v8Differs} inputs`)
  console.log(`JVM Math.pow not the nearest double: ${jvmNotNearest} of ${vectors.skew.length} (${jvmMidpoints} exact midpoints); V8 Math.pow differs from it: ${v8Differs}`)
})
