// Math.pow(x, 1.5) bit for bit as HotSpot computes it on x86-64: the Math.pow(m2, 1.5) of Chronon's Skew.finalize.
//
// Why not Math.pow, or the correctly rounded x·√x: V8's pow differs from the JVM's in the last bit on about one input
// in ten, and the JVM's is not correctly rounded either (29 of the 10,000 random moment IRs of test/vectors/chronon/
// come out one ulp from the nearest double, 26 of them exact rounding midpoints). HotSpot on x86-64 computes Math.pow
// with a stub (StubRoutines::dpow, which the interpreter and both compilers call) generated from Intel's LIBM pow:
// OpenJDK src/hotspot/cpu/x86/macroAssembler_x86_pow.cpp, © Intel Corporation, GPL version 2 only. This file is our
// own TypeScript, written from reading that algorithm and specialised to y = 1.5 and positive finite x: it performs
// the same IEEE double operations in the same order, and the same integer work on exponents and bit fields, so it
// rounds wherever the stub rounds. A packed-double SSE instruction is two scalar operations; the JVM runs with SSE's
// default rounding (to nearest even, no flush to zero), which is JavaScript's arithmetic.
//
// The algorithm, for x = 2^k·m, m in [1, 2):
//   log2 x = k + log2(LH/B) + log2(1 + r/LH), with LH = 1.4453125 a short log2(e), B ≈ LH/m a 10-bit reciprocal
//     chosen through RCPPS (below), and r = B·m − LH: B times a head of m (fewer bits the larger |k|) is exact, B
//     times the tail is rounded. log2(LH/B) is head + tail from a 513-row table, log2(1 + r/LH) a polynomial of
//     degree 8. The sum is kept as a double-double: a (k + table head + the exact part of r) and the rest.
//   x^1.5 = 2^(1.5·log2 x) = 2^(n/256)·2^z: adding 1.5·2^44 rounds 1.5·a to a multiple of 1/256 and leaves n in the
//     low word; 2^(j/256) (j = n mod 256) is head + tail from a 256-row table, multiplied by 2^(n div 256) by adding
//     to its exponent bits; 2^z is 1 + z·ln 2 + a polynomial of degree 5.
//   For |k| ≥ 255 the stub first rounds log2 x to one double and splits it (27 low bits off), and scales the result
//   by two powers of two, so that it overflows to Infinity, or underflows to 0 or to a subnormal (then rounded once,
//   from a split of the table head). Subnormal x are scaled by 2^128 first; their power always underflows to 0.
//   For x in [1 − 1/32, 1 + 1/16) the head of m is rounded instead of truncated.
// Tables and constants: src/agg/pow-tables.ts (built from their definitions, plus Intel's polynomial coefficients).
//
// The stub's one hardware-dependent step: RCPPS (an approximate 1/m whose bits the x86 manuals leave to each CPU)
// times LH in single precision, rounded to 10 bits, picks B and its table row. On about 6% of mantissas this row is
// not the one an exact reciprocal would give, and Intel's and AMD's RCPPS differ, so the JVM's Math.pow itself may
// differ between Intel and AMD hosts, on inputs whose result lies very near a rounding midpoint (rows from an exact
// reciprocal change about 1 result in 6,000 random inputs). RCPPS_KEY_STARTS holds the rows measured on the CPU the
// JVM vectors were produced on (AMD EPYC; test/vectors/chronon/rcpps-keys.c), where all 10,000 + 10,520 JVM results of
// test/vectors/chronon/ are reproduced bit for bit. A JVM on an Intel host was not available to measure.
import {
  EXP_Z2, EXP_Z3, EXP_Z4, EXP_Z5, EXP2_TABLE, FIRST_KEY, LAST_KEY, LH, LN_2, LOG2_TABLE, LOG2E_OVER_LH_MINUS_1, LOG_R2,
  LOG_R3, LOG_R4, LOG_R5, LOG_R6, LOG_R7, LOG_R8, RCPPS_KEY_STARTS
} from './pow-tables.ts'

// One double seen as two 32-bit words, for the stub's integer work on bit fields (no allocation per call).
const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const HI = LITTLE_ENDIAN ? 1 : 0
const LO = 1 - HI

function fromWords (hi: number, lo: number): number {
  u32[HI] = hi
  u32[LO] = lo
  return f64[0]!
}
function highWord (x: number): number {
  f64[0] = x
  return u32[HI]!
}
function lowWord (x: number): number {
  f64[0] = x
  return u32[LO]!
}
/** x with `add` added to its high word (mod 2^32): x·2^(add/2^20) if add is a multiple of 2^20 and no exponent wraps. */
function addToHighWord (x: number, add: number): number {
  f64[0] = x
  u32[HI] = u32[HI]! + add
  return f64[0]!
}

/** Cell (top 12 mantissa bits) → table key, expanded once from RCPPS_KEY_STARTS. */
const KEY_OF_CELL = new Uint16Array(4096)
RCPPS_KEY_STARTS.forEach((start, i) => { KEY_OF_CELL.fill(LAST_KEY - i, start) })

const Y = 1.5
// y split into head + tail: the stub clears its low 35 bits (27 in the wide-range tail), which leaves 1.5 whole
const Y_HEAD = fromWords(highWord(Y) & 0xfffffff8, 0)
const Y_TAIL = Y - Y_HEAD // 0
const SHIFTER = 1.5 * 2 ** 44 // adding it rounds to a multiple of 2^-8 and leaves n = 256·value in the low word
const TWO_TO_128 = 2 ** 128
/** y's exponent field << 4 − 0x3e00: with 16·⌊log2(|k| + 1)⌋ added, the stub's test for its wide-range tail. */
const Y_RANGE_BIAS = (highWord(Y) >>> 16 & 0x7ff0) - 0x3e00

/** Math.pow(x, 1.5) as HotSpot x86-64 returns it (on the CPU of RCPPS_KEY_STARTS, see the header). */
export function powThreeHalves (x: number): number {
  // NaN, negatives, ±0 and +∞ follow IEEE pow, on which Java's and V8's agree; the stub's own branches for them
  // return the same.
  if (!(x > 0) || x === Infinity) return Math.pow(x, Y)

  // ---- log2 x ---------------------------------------------------------------------------------------------------
  let word = highWord(x) >>> 16 // the top 16 bits: sign, exponent, 4 mantissa bits
  let k: number // x's unbiased exponent
  let headBits: number // how many low bits of the mantissa's high word the head of m loses
  let nearOne = false
  let scaled = x
  if (word < 0x10) {
    // subnormal: work on x·2^128, the head of m keeps 10 bits
    scaled = x * TWO_TO_128
    word = highWord(scaled) >>> 16
    k = ((word & 0x7ff0) - 0x47f0) >> 4
    headBits = 10
  } else {
    const e16 = Math.abs((word & 0x7ff0) - 0x3ff0) // 16·|k|
    headBits = 31 - Math.clz32(e16 + 16) - 4 // ⌊log2(|k| + 1)⌋
    nearOne = (word - 0x3fef) >>> 0 <= 1 // x in [1 − 1/32, 1 + 1/16)
    k = (word - 0x3ff0) >> 4
  }
  const hiWord = highWord(scaled)
  const loWord = lowWord(scaled)
  // RCPPS(m)·LH rounded to 10 bits: the row key, and B (as the stub has it, a float's bits moved into a double, so
  // that B·2^-896 meets m·2^896 below; the scales cancel exactly)
  const key = KEY_OF_CELL[(hiWord & 0xfffff) >>> 8]!
  const bFloatBits = 0x3f000000 + (key << 14)
  const b = fromWords((bFloatBits >>> 3) & 0xfffff800, 0)
  // m·2^896, and its head: the low word and `headBits` more bits dropped (rounded near 1, else truncated)
  const mBig = fromWords(hiWord & 0xfffff | 0x77f00000, loWord)
  let headHi = hiWord & 0xfffff | 0x77f00000
  if (nearOne && loWord >= 0x80000000) headHi++
  const mHead = fromWords(headHi & (0xffffffff << headBits), 0)
  const mTail = mBig - mHead
  const rHead = mHead * b - LH // exact
  const rTail = mTail * b
  const r = rTail + rHead
  const row = 2 * (key - FIRST_KEY)
  let a = rHead + LOG2_TABLE[row]!
  const rest = rTail + LOG2_TABLE[row + 1]!
  const r2 = r * r
  const p8 = LOG_R8 * r
  const p6 = LOG_R6 * r
  const p4 = LOG_R4 * r
  const p2 = LOG_R2 * r
  a = a + k
  const r3 = r * r2
  const q7 = LOG_R7 + p8
  const q5 = LOG_R5 + p6
  const r4 = r2 * r2
  const q3 = LOG_R3 + p4
  const q1 = LOG2E_OVER_LH_MINUS_1 + p2
  const s7 = r4 * (q7 * r3)
  const s5 = r4 * (q5 * r)
  const s3 = q3 * r3
  const s1 = q1 * r

  const wide = 16 * (31 - Math.clz32(Math.abs(k) + 1)) + Y_RANGE_BIAS >= 624
  if (!wide) {
    // ---- 2^(1.5·log2 x), |k| < 255 ---------------------------------------------------------------------------------
    const t = Y_HEAD * a
    const lowSum = s3 + rest
    const tTail = Y_TAIL * a
    const shifted = SHIFTER + t
    const n = lowWord(shifted) | 0
    const rounded = shifted - SHIFTER
    const polyLow = s7 + lowSum
    const polyHigh = s5 + s1
    const p = polyHigh + polyLow // log2 x = a + p
    let z = t - rounded
    z = z + tTail
    z = Y * p + z
    const exponentAdd = (n << 12) & 0xfff00000
    return exp2Tail(z, n & 255, exponentAdd, 1, false)
  }

  // ---- 2^(1.5·log2 x), |k| ≥ 255: log2 x as one double first, so that the result can over- or underflow ---------
  const lowSum = s3 + rest
  const polyLow = s7 + lowSum
  const polyHigh = s5 + s1
  const p = polyHigh + polyLow
  const log = a + p
  const lost = a - log
  const logHead = fromWords(highWord(log), lowWord(log) & 0xf8000000)
  const logTail1 = log - logHead
  const err = p + lost
  const t = Y_HEAD * logHead
  const logTail = err + logTail1
  let zTail = Y * logTail
  const tTail = Y_TAIL * logHead
  const shifted = SHIFTER + t
  const n = lowWord(shifted) | 0
  const rounded = shifted - SHIFTER
  zTail = zTail + tTail
  const z = zTail + (t - rounded)
  if ((highWord(rounded) >>> 16 & 0x7fff) > 0x4091) {
    // |1.5·log2 x| > ~1104: the stub squares a tiny number (→ +0) or multiplies two huge ones (→ +∞)
    return x < 1 ? 0 : Infinity
  }
  const whole = n >> 8
  const half = whole >> 1 // into the table entry's exponent; whole − half by a multiply at the end
  const scale = fromWords((((whole - half) << 4) + 0x3ff0 & 0xffff) << 16, 0)
  return exp2Tail(z, n & 255, half << 20, scale, true)
}

/**
 * 2^(j/256)·2^z with `exponentAdd` added to the table entry's high words, times `scale` if `scaled` (the wide-range
 * tail, which also handles a subnormal result).
 */
function exp2Tail (z: number, j: number, exponentAdd: number, scale: number, scaled: boolean): number {
  const zz = z * z
  let q5 = EXP_Z5 * z
  let q3 = EXP_Z3 * z
  let w = LN_2 * z
  const head = addToHighWord(EXP2_TABLE[2 * j]!, exponentAdd)
  const tail = addToHighWord(EXP2_TABLE[2 * j + 1]!, exponentAdd)
  const z4 = zz * zz
  q5 = EXP_Z4 + q5
  q3 = EXP_Z2 + q3
  w = w * head
  w = w + tail
  const high = (z4 * q5) * head
  const low = (zz * q3) * head
  let sum = high + w
  sum = sum + low
  if (!scaled) return sum + head
  const res = (sum + head) * scale
  if ((highWord(res) >>> 16 & 0x7ff0) !== 0) return res // normal, or +∞
  // A subnormal result (or 0): the stub redoes the last multiply from a head of the table entry short enough that
  // head·scale is exact, so the result is rounded once.
  const exponent = ((highWord(head) >>> 16 & 0x7ff0) - 0x3ff0 + (highWord(scale) >>> 16 & 0x7ff0)) >> 4
  const drop = -31 - exponent
  if (drop > 20) return res
  const headHead = fromWords(highWord(head) & (drop <= 0 ? 0xffffffff : 0xffffffff << drop), 0)
  const headTail = (head - headHead) + sum
  return headHead * scale + headTail * scale
}
