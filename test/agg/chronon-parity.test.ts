// tilekiln against vectors produced on a JVM by test/vectors/chronon/ (ParityVectors.java: the JDK's HashMap and
// Math, Apache Avro 1.8.2, Chronon's steps reproduced line for line): map IRs written in Row.to's order, and SKEW's
// Math.pow(m2, 1.5), bit for bit (with test/vectors/chronon/pow-edges.json, from PowEdgeVectors.java).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { Kurtosis, type Moments, Skew } from '../../src/agg/moments.ts'
import { powThreeHalves } from '../../src/agg/pow-three-halves.ts'
import * as powTables from '../../src/agg/pow-tables.ts'
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

const edges = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'chronon', 'pow-edges.json'), 'utf8'))

/** Bit-identical, except that any NaN matches any NaN (JavaScript does not keep NaN payloads or signs). */
function sameDouble (ours: number, jvmHex: string): boolean {
  const jvm = fromBits(jvmHex)
  return Number.isNaN(ours) ? Number.isNaN(jvm) : bitsOf(ours) === jvmHex
}

test('the RCPPS table rows are those measured by test/vectors/chronon/rcpps-keys.c', () => {
  const measured = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'chronon', 'rcpps-keys.json'), 'utf8'))
  assert.equal(measured.firstKey, powTables.LAST_KEY)
  assert.deepEqual(powTables.RCPPS_KEY_STARTS, measured.starts)
})

test('the pow tables and constants are the ones checked equal to OpenJDK\'s (check-pow-tables.mjs)', () => {
  // Some entries (an exp-table tail is ~2^-55) are too small to change any result a test could find: this digest
  // of every bit pattern, taken when test/vectors/chronon/check-pow-tables.mjs found them all equal to the stub's,
  // guards them.
  const t = powTables
  const all = [...t.LOG2_TABLE, ...t.EXP2_TABLE, t.LOG_R2, t.LOG_R3, t.LOG_R4, t.LOG_R5, t.LOG_R6, t.LOG_R7, t.LOG_R8,
    t.EXP_Z2, t.EXP_Z3, t.EXP_Z4, t.EXP_Z5, t.LN_2, t.LH, t.LOG2E_OVER_LH_MINUS_1]
  const digest = createHash('sha256').update(all.map(bitsOf).join('')).digest('hex')
  assert.equal(digest, '4e9bbdb07029424937ab11ffa873c875107087d9038b5ea919e5a54815f1c68f')
})

test('powThreeHalves is the JVM\'s Math.pow(x, 1.5) bit for bit: 10,000 moment IRs and 10,520 edge inputs', () => {
  for (const c of vectors.skew) {
    const m2 = fromBits(c[2])
    assert.ok(sameDouble(powThreeHalves(m2), c[5]), `Math.pow(${m2} = 0x${c[2]}, 1.5): ours ${bitsOf(powThreeHalves(m2))}, the JVM's ${c[5]}`)
  }
  let subnormal = 0
  let overflow = 0
  let notNearest = 0
  for (const [xHex, powHex] of edges.pow as Array<[string, string]>) {
    const x = fromBits(xHex)
    const ours = powThreeHalves(x)
    assert.ok(sameDouble(ours, powHex), `Math.pow(${x} = 0x${xHex}, 1.5): ours ${bitsOf(ours)}, the JVM's ${powHex}`)
    if (ours > 0 && ours < 2 ** -1022) subnormal++
    if (ours === Infinity && x !== Infinity) overflow++
    if (x > 0 && ours > 0 && Number.isFinite(ours) && !isNearestPow15(x, ours)) notNearest++
  }
  // the edge vectors reach the stub's subnormal-result, overflow and not-correctly-rounded cases
  assert.ok(subnormal >= 50 && overflow >= 50 && notNearest >= 5, `${subnormal} subnormal, ${overflow} overflowing, ${notNearest} not nearest`)
  assert.equal(powThreeHalves(Number.MIN_VALUE), 0)
  assert.equal(powThreeHalves(Number.MAX_VALUE), Infinity)
  for (const x of [0, -0, NaN, -1, Infinity, -Infinity]) assert.ok(Object.is(powThreeHalves(x), Math.pow(x, 1.5)), `x = ${x}`)
})

test('SKEW and KURTOSIS over 10,000 random IRs: bit-identical to the JVM', () => {
  const skew = new Skew()
  const kurtosis = new Kurtosis()
  let jvmNotNearest = 0
  let jvmMidpoints = 0
  let v8Differs = 0
  for (const c of vectors.skew) {
    const ir = c.slice(0, 5).map(fromBits) as Moments
    const m2 = ir[2]
    const jvmPow = fromBits(c[5])
    if (!Object.is(Math.pow(m2, 1.5), jvmPow)) v8Differs++
    if (m2 > 0 && Number.isFinite(jvmPow) && jvmPow !== 0 && !isNearestPow15(m2, jvmPow)) {
      jvmNotNearest++
      if (Number.isInteger(Math.sqrt(m2))) jvmMidpoints++
    }
    assert.ok(sameDouble(skew.finalize(ir), c[6]), `skew of ${c.slice(0, 5)}: ours ${bitsOf(skew.finalize(ir))}, the JVM's ${c[6]}`)
    assert.ok(sameDouble(kurtosis.finalize(ir), c[7]), `kurtosis of ${c.slice(0, 5)}`)
  }
  // the vectors hold the inputs where the JVM is not correctly rounded (what a correctly rounded pow gets wrong),
  // and V8's own pow is not the JVM's (it differs on 1,004 of them in Node 20's V8, on 49 in Node 24's: V8 changed
  // its pow, which is why ours does not use it)
  assert.ok(jvmNotNearest >= 20, `only ${jvmNotNearest} JVM results not correctly rounded`)
  assert.ok(v8Differs > 0, 'V8\'s Math.pow equals the JVM\'s on every input: the vectors no longer tell them apart')
  console.log(`JVM Math.pow not the nearest double: ${jvmNotNearest} of ${vectors.skew.length} (${jvmMidpoints} exact midpoints); V8 Math.pow differs from it: ${v8Differs}`)
})
