// x^1.5 rounded to the nearest double: the Math.pow(m2, 1.5) of Chronon's Skew.finalize, as a JVM on x86-64
// computes it.
//
// Why not Math.pow: V8's pow and HotSpot's differ in the last bit on about one input in ten (1,004 of the 10,000
// random moment IRs of test/vectors/chronon/). HotSpot on x86-64 computes Math.pow with Intel's LIBM intrinsic,
// which is not fdlibm (StrictMath.pow differs from it on ~10% of those inputs too) but is nearly correctly rounded:
// it returned the nearest double on 9,971 of the 10,000 (the 29 others lie within a hair of a rounding midpoint,
// 26 of them exactly on one), and those it misses it misses by its own internal rounding, which only a port of
// Intel's code could follow. So we return the correctly rounded value. (A HotSpot without that intrinsic falls back
// to fdlibm, StrictMath.pow; we follow x86-64, where Chronon's Flink jobs and fetchers usually run.)
//
// Method: s = sqrt(x) is correctly rounded; the true root is s + (x − s²)/(2s), with s² formed exactly (Dekker's
// product). x·√x = x·s + x·(x − s²)/(2s), with x·s formed exactly as a double-double, so the one final addition
// rounds a value known to ~2^-100 relative. Exact midpoints (x = y², y³ with 54 significant bits) come out with
// s exact, a zero correction and x·s = y³ exactly as hi + lo, and round to even as IEEE addition does.
// Inputs below 2^-400 are scaled by 2^600 (an exact power of 4) so Dekker's products cannot underflow, and the
// result, which may be subnormal, is rounded once to the subnormal grid by hand.

const SPLITTER = 134217729 // 2^27 + 1

let productLo = 0
/** a·b = returned hi + `productLo`, exactly (Dekker/Veltkamp; needs |a·b| well inside the normal range). */
function twoProduct (a: number, b: number): number {
  const p = a * b
  let t = SPLITTER * a
  const ah = t - (t - a)
  const al = a - ah
  t = SPLITTER * b
  const bh = t - (t - b)
  const bl = b - bh
  productLo = ((ah * bh - p) + ah * bl + al * bh) + al * bl
  return p
}

let resultLo = 0
/** x^1.5 as returned hi + `resultLo` (|resultLo| ≤ half an ulp of hi, nearly exact), for normal-range x. */
function pow15DoubleDouble (x: number): number {
  const s = Math.sqrt(x)
  const s2hi = twoProduct(s, s)
  const s2lo = productLo
  const correction = x * (((x - s2hi) - s2lo) / (2 * s))
  const hi = twoProduct(x, s)
  if (!Number.isFinite(hi)) { resultLo = 0; return hi }
  const lo = productLo + correction
  const sum = hi + lo
  resultLo = lo - (sum - hi)
  return sum
}

const SCALE_IN = 2 ** 600 // applied to tiny x: (x·2^600)^1.5 = x^1.5·2^900
const SCALE_OUT = 2 ** 900
const TINY = 2 ** -400
const MIN_SUBNORMAL = 2 ** -1074

/** Math.pow(x, 1.5) as HotSpot x86-64 returns it: the nearest double to x·√x (see the header for the exceptions). */
export function powThreeHalves (x: number): number {
  // NaN, negatives, ±0 and +∞ follow IEEE pow (Java's and V8's agree on these).
  if (!(x > 0) || x === Infinity) return Math.pow(x, 1.5)
  if (x >= TINY) return pow15DoubleDouble(x)
  // Tiny: compute at scale, then round (hi + lo)·2^-900 once. r is hi scaled down: exact when normal, else rounded
  // to the subnormal grid; what that lost plus lo decides whether the nearest is one quantum away.
  const hi = pow15DoubleDouble(x * SCALE_IN)
  const lo = resultLo
  let r = hi / SCALE_OUT
  const residual = (hi - r * SCALE_OUT) + lo // in scaled units; exact but for lo's own rounding
  const quantum = r < 2 ** -1022 ? MIN_SUBNORMAL : 0
  if (quantum === 0) return r // a normal result: the division rounded hi, and lo is below half its ulp
  const half = (MIN_SUBNORMAL * SCALE_OUT) / 2
  if (residual > half) r += quantum
  else if (residual < -half) r -= quantum
  else if (residual === half || residual === -half) {
    const other = r + Math.sign(residual) * quantum
    if ((other / MIN_SUBNORMAL) % 2 === 0) r = other
  }
  return r
}
