// The tables and constants of HotSpot's x86-64 Math.pow stub (Intel LIBM, OpenJDK
// src/hotspot/cpu/x86/macroAssembler_x86_pow.cpp), for src/agg/pow-three-halves.ts.
//
// The two big tables are built here, once, from what they approximate, in BigInt fixed point (2^-160), so that
// nothing is copied: the log table holds log2(1.4453125 / B) for the 513 reciprocals B the stub can pick, split
// into a head on the 2^-24 grid and the double nearest to the rest; the exp table holds 2^(j/256), j = 0..255, as
// the nearest double and the double nearest to the rest. Built this way they equal Intel's tables bit for bit,
// except in the seven exp-table tails listed in INTEL_EXP_TAILS (Intel's are 1 ulp off the nearest, and its 2^0
// tail is 2^-72, not 0) and the sign of the last log-table tail (−0); those are set to Intel's values, since the
// JVM computes with them. test/vectors/chronon/check-pow-tables.mjs compares every entry with OpenJDK's source.
//
// The polynomial coefficients are Intel's minimax fits and cannot be derived from a definition: they are stated as
// IEEE-754 bit patterns. ln 2, the short log2(e) (1.4453125) and its correction log2(e)/1.4453125 − 1 are derived.
//
// Which of the 513 table rows the stub uses for an x depends on the CPU (see RCPPS_KEY_STARTS).

const FRAC = 160n
const ONE = 1n << FRAC

/** atanh(num/den) in fixed point, |num/den| ≤ 1/3. */
function atanh (num: bigint, den: bigint): bigint {
  let sum = 0n
  let power = (num * ONE) / den
  const num2 = num * num
  const den2 = den * den
  for (let k = 1n; power !== 0n; k += 2n) {
    sum += power / k
    power = (power * num2) / den2
  }
  return sum
}

const LN2 = 2n * atanh(1n, 3n)

/** v rounded to a multiple of 2^-bits, ties to even. */
function roundToGrid (v: bigint, bits: bigint): bigint {
  const unit = 1n << (FRAC - bits)
  const neg = v < 0n
  const a = neg ? -v : v
  let q = a / unit
  const rest = a - q * unit
  if (2n * rest > unit || (2n * rest === unit && (q & 1n) === 1n)) q++
  return neg ? -(q * unit) : q * unit
}

/** The double nearest to fixed-point v (ties to even), as a fixed-point value and as a number. */
function nearestDouble (v: bigint): [bigint, number] {
  if (v === 0n) return [0n, 0]
  const neg = v < 0n
  const a = neg ? -v : v
  const drop = BigInt(a.toString(2).length - 53)
  let m = drop > 0n ? a >> drop : a << -drop
  if (drop > 0n) {
    const rest = a - (m << drop)
    const half = 1n << (drop - 1n)
    if (rest > half || (rest === half && (m & 1n) === 1n)) m++
  }
  const exact = drop > 0n ? m << drop : m >> -drop
  const value = Number(m) * 2 ** (Number(drop) - Number(FRAC))
  return [neg ? -exact : exact, neg ? -value : value]
}

function fromBits (hex: string): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, BigInt('0x' + hex))
  return view.getFloat64(0)
}

/** The short log2(e) of the stub's reduction r = B·m − LH. */
export const LH = 1.4453125
/** log2(e)/LH − 1: the first-order coefficient of log2(1 + r/LH) is 1 plus this. */
export const LOG2E_OVER_LH_MINUS_1 = nearestDouble((ONE * ONE * 128n) / (LN2 * 185n) - ONE)[1]
export const LN_2 = nearestDouble(LN2)[1]

// Intel's fit of log2(1 + r/LH) − r·(1 + LOG2E_OVER_LH_MINUS_1), |r| < 2^-8, by power of r
export const LOG_R2 = fromBits('bfd619b6b3841d2a')
export const LOG_R3 = fromBits('3fc4635e486ececc')
export const LOG_R4 = fromBits('bfb528db9f95985a')
export const LOG_R5 = fromBits('3fa76c9bac8349bb')
export const LOG_R6 = fromBits('bf9b0301ee241472')
export const LOG_R7 = fromBits('3f9004f2518775e3')
export const LOG_R8 = fromBits('bf8365786dc96112')
// Intel's fit of 2^z − 1 − z·ln 2, |z| ≤ 2^-9, by power of z
export const EXP_Z2 = fromBits('3fcebfbdff82c58f')
export const EXP_Z3 = fromBits('3fac6b08d704a0c0')
export const EXP_Z4 = fromBits('3f83b2ab6fba4e77')
export const EXP_Z5 = fromBits('3f55d87fe78a6731')

/** Exp-table tails where Intel's table is not the nearest double to 2^(j/256) − head: [j, Intel's bits]. */
const INTEL_EXP_TAILS: ReadonlyArray<[number, string]> = [
  [0, '3b70000000000000'], [7, '3c84c3793aa0d08c'], [20, '3c403a1727c57b52'], [159, '3c9d53954475202a'],
  [173, '3c7cabdaa24c78ec'], [205, 'bc3c262360ea5b53'], [217, 'bc7d220f86009092']
]

/** The first and last table key (bits 14..23 of the float B·2^0x3f… as the stub forms it). */
export const FIRST_KEY = 228
export const LAST_KEY = 740

/**
 * Row key − FIRST_KEY: [head, tail] of log2(LH/B) for B = the float with bits 0x3f000000 + (key << 14), i.e.
 * (1 + (key mod 512)/512)·2^(key ≥ 512 ? 0 : −1).
 */
export const LOG2_TABLE = new Float64Array(2 * (LAST_KEY - FIRST_KEY + 1))
{
  // LH/B = (185/128) / ((f/512)·2^e) = 740·2^-e / f with f = 512 + (key mod 512) and e = 0 (key ≥ 512) or −1, so
  // log2(LH/B) = −e + (ln 740 − ln f)/ln 2, ln 740 − ln f summed from steps ln((g + 1)/g) = 2 atanh(1/(2g + 1)).
  const lnFrom740 = new Map<number, bigint>([[740, 0n]])
  for (let f = 739, sum = 0n; f >= 512; f--) lnFrom740.set(f, (sum += 2n * atanh(1n, BigInt(2 * f + 1))))
  for (let f = 741, sum = 0n; f <= 1023; f++) lnFrom740.set(f, (sum -= 2n * atanh(1n, BigInt(2 * f - 1))))
  for (let key = FIRST_KEY; key <= LAST_KEY; key++) {
    const v = (key >= 512 ? 0n : ONE) + (lnFrom740.get(512 + (key & 511))! * ONE) / LN2
    const head = roundToGrid(v, 24n)
    const i = 2 * (key - FIRST_KEY)
    LOG2_TABLE[i] = nearestDouble(head)[1]
    LOG2_TABLE[i + 1] = nearestDouble(v - head)[1]
  }
}
LOG2_TABLE[LOG2_TABLE.length - 1] = -0 // Intel's: log2(LH/LH) = 0, its tail written as −0

/** j → [head, tail] of 2^(j/256). */
export const EXP2_TABLE = new Float64Array(512)
{
  // 2^(1/256) = e^(ln 2/256) by its series, then its powers
  const x = LN2 / 256n
  let step = ONE
  for (let k = 1n, term = ONE; term !== 0n; k++) step += (term = (term * x) / (ONE * k))
  for (let j = 0, v = ONE; j < 256; j++, v = (v * step) >> FRAC) {
    const [head, headValue] = nearestDouble(v)
    EXP2_TABLE[2 * j] = headValue
    EXP2_TABLE[2 * j + 1] = nearestDouble(v - head)[1]
  }
}
for (const [j, bits] of INTEL_EXP_TAILS) EXP2_TABLE[2 * j + 1] = fromBits(bits)

/**
 * The stub's table row for x is a function of the top 12 bits of x's mantissa (the "cell", 0..4095) through
 * RCPPS, which differs between CPUs: rows 740 down to 228, one per entry, start at these cells, as measured on
 * AMD EPYC by test/vectors/chronon/rcpps-keys.c (its output, rcpps-keys.json, must equal this list: a test checks).
 */
export const RCPPS_KEY_STARTS: readonly number[] = [
  0, 3, 8, 14, 19, 25, 31, 36, 43, 48, 53, 59, 65, 71, 77, 82, 88, 94, 99, 105, 111, 117, 123, 129, 135, 141, 147,
  152, 158, 164, 170, 176, 182, 188, 195, 200, 206, 213, 219, 225, 231, 237, 244, 249, 255, 262, 268, 274, 281, 287,
  293, 300, 307, 313, 320, 326, 332, 339, 345, 352, 358, 365, 371, 378, 384, 392, 398, 405, 411, 418, 425, 431, 438,
  445, 452, 459, 466, 472, 479, 486, 493, 501, 507, 514, 521, 528, 535, 543, 549, 557, 563, 571, 578, 586, 592, 600,
  607, 615, 622, 629, 637, 644, 651, 658, 666, 674, 681, 688, 697, 704, 712, 719, 727, 735, 743, 750, 758, 765, 773,
  781, 789, 797, 805, 813, 821, 829, 837, 845, 853, 861, 869, 877, 885, 893, 902, 910, 918, 927, 935, 943, 952, 960,
  969, 977, 985, 994, 1002, 1011, 1020, 1028, 1038, 1046, 1055, 1064, 1072, 1081, 1090, 1099, 1108, 1117, 1125, 1134,
  1144, 1152, 1161, 1172, 1181, 1189, 1198, 1208, 1217, 1226, 1236, 1245, 1254, 1263, 1273, 1283, 1292, 1303, 1312,
  1322, 1331, 1341, 1351, 1361, 1371, 1380, 1390, 1400, 1410, 1420, 1430, 1441, 1451, 1461, 1471, 1481, 1491, 1501,
  1512, 1523, 1532, 1543, 1553, 1564, 1575, 1586, 1597, 1607, 1618, 1629, 1640, 1650, 1661, 1672, 1683, 1694, 1705,
  1716, 1727, 1738, 1751, 1762, 1773, 1784, 1795, 1807, 1819, 1826, 1833, 1838, 1844, 1850, 1856, 1863, 1868, 1874,
  1880, 1886, 1891, 1898, 1903, 1909, 1915, 1921, 1927, 1933, 1938, 1945, 1951, 1957, 1964, 1969, 1976, 1981, 1988,
  1994, 2000, 2005, 2012, 2018, 2025, 2030, 2036, 2043, 2049, 2056, 2062, 2069, 2075, 2080, 2086, 2093, 2098, 2105,
  2111, 2119, 2126, 2132, 2139, 2144, 2151, 2157, 2164, 2169, 2177, 2183, 2190, 2196, 2203, 2208, 2215, 2222, 2229,
  2236, 2242, 2249, 2255, 2262, 2268, 2276, 2281, 2289, 2295, 2302, 2308, 2315, 2323, 2329, 2336, 2342, 2350, 2356,
  2363, 2371, 2378, 2384, 2392, 2398, 2405, 2413, 2419, 2426, 2433, 2441, 2447, 2454, 2461, 2469, 2475, 2483, 2489,
  2497, 2504, 2511, 2520, 2526, 2533, 2539, 2548, 2554, 2562, 2569, 2577, 2584, 2592, 2599, 2607, 2615, 2621, 2629,
  2636, 2644, 2651, 2658, 2665, 2674, 2681, 2689, 2696, 2704, 2711, 2719, 2728, 2735, 2743, 2749, 2759, 2765, 2773,
  2780, 2789, 2796, 2805, 2812, 2820, 2828, 2836, 2845, 2852, 2861, 2868, 2877, 2884, 2893, 2900, 2909, 2916, 2925,
  2932, 2941, 2950, 2957, 2966, 2973, 2982, 2989, 2999, 3007, 3015, 3023, 3033, 3040, 3049, 3056, 3065, 3074, 3082,
  3091, 3099, 3109, 3117, 3125, 3133, 3143, 3151, 3160, 3168, 3178, 3187, 3195, 3203, 3211, 3221, 3229, 3239, 3247,
  3256, 3266, 3275, 3283, 3293, 3301, 3311, 3320, 3328, 3338, 3347, 3357, 3365, 3375, 3383, 3394, 3402, 3411, 3420,
  3431, 3439, 3448, 3459, 3468, 3477, 3485, 3496, 3506, 3516, 3525, 3535, 3543, 3554, 3562, 3573, 3583, 3592, 3602,
  3611, 3622, 3631, 3641, 3650, 3661, 3670, 3682, 3691, 3702, 3711, 3721, 3732, 3741, 3752, 3762, 3773, 3782, 3792,
  3801, 3814, 3823, 3833, 3844, 3855, 3863, 3876, 3887, 3895, 3908, 3917, 3929, 3938, 3949, 3959, 3972, 3981, 3993,
  4002, 4013, 4025, 4036, 4047, 4057, 4070, 4079, 4091
]
