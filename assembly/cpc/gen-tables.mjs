// Derives the CPC compression tables (assembly/cpc/tables.ts) from their mathematical definition, so that no table is
// copied from a DataSketches source file. The definitions follow Kevin Lang's description of how the DataSketches
// tables were made (CPC paper, arXiv:1708.06839, and the published OCaml generator programs):
//
//  * Column model: K = 2^32 rows, N found by inverting the expected coupon count C(N) = K·Σ_{j=1..128} q(N,j) with
//    q(N,j) = 1 − (1 − 2^−j/K)^N (bisection to a relative width of 1e−15). Bit j of a row is 1 with probability
//    p1 = −expm1(N·log1p(−2^−j/K)), 0 with p0 = exp(N·log1p(−2^−j/K)). (Columns are 1-based in this model.)
//  * 16 steady-state byte codes: C/K = 30 + phase, phase = (2i+1)/32, window = columns 28..35 when phase < 0.380285,
//    else 29..36. 6 mid-range byte codes: C/K = 3/6, 5/6, …, 13/6, window = columns 1..8.
//    A byte's probability is the product of its 8 bits' probabilities.
//  * Each code is the optimal prefix code with codewords of at most 12 bits, found by dynamic programming over
//    contiguous intervals of the symbols sorted by (probability, symbol) — the DP and its tie-breaking (first
//    strictly cheaper split wins; depths tried from smallest) determine which of several optimal codes is chosen.
//    Codeword lengths then get canonical codewords (symbols ordered by (length, symbol)), bit-reversed because the
//    bit streams are little-endian. Table entry = (length << 12) | codeword.
//  * The 65-symbol "length-limited unary" code is the same construction for probabilities 2^−(i+1).
//  * 16 column permutations for the SLIDING flavour: canonical column c (0..55, c = (col − offset − 8) mod 64) gets
//    the rank of its probability of holding a surprising bit, in descending order (ties by c), at C/K = 30 + (2i+1)/32
//    with the window at 0-based offset 27 (phase < 3/8) or 28. Position c is read both as a surprising 1 of the late
//    zone (model column c + offset + 9; the model's late zone goes on past column 64) and, when that column exists,
//    as a surprising 0 of the early zone (model column c + offset − 55); its probability is the larger of the two.
//    The program that made DataSketches' permutations is not published: this rule is inferred (the sum instead of
//    the maximum, or fewer early columns, each break one or more phases) and it reproduces all 16.
//
// The Java vector generator (test/vectors/cpc) compares every derived table with the library's own and fails on any
// difference. The ICON polynomial coefficients are the one table that cannot be derived (they come from a numerical
// least-squares fit); they are read from test/vectors/cpc/icon-coefficients.json, which that generator extracts from
// the library at run time — see the README there.
//
//   node assembly/cpc/gen-tables.mjs            writes assembly/cpc/tables.ts
//   node assembly/cpc/gen-tables.mjs --json     prints the derived tables as JSON (for the Java cross-check)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

// ---------------------------------------------------------------------------------------------------------------
// The column model.

const KF = 2 ** 32

function couponsOfN (kf, nf) {
  let total = 0
  for (let col = 128; col >= 1; col--) total += -Math.expm1(nf * Math.log1p(-1 / (kf * 2 ** col)))
  return kf * total
}

function nOfCoupons (kf, c) {
  if (c === 0 || c === 1) return c
  let lo = c
  let hi = 2 * c
  while (couponsOfN(kf, hi) <= c) hi *= 2
  for (let depth = 1; ; depth++) {
    if (depth > 100) throw new Error('bisection did not converge')
    const mid = (hi + lo) / 2
    if ((hi - lo) / mid < 1e-15) return mid
    const got = couponsOfN(kf, mid)
    if (got === c) return mid
    if (got < c) lo = mid
    else hi = mid
  }
}

/** [p0, p1] of 1-based model column j. */
function bitProbs (kf, j, nf) {
  const logP0 = nf * Math.log1p(-(0.5 ** j) / kf)
  return [Math.exp(logP0), -Math.expm1(logP0)]
}

const SHIFT_PHASE = 0.380285

function windowProbs (firstCol, nf) {
  const cols = []
  for (let col = firstCol; col < firstCol + 8; col++) cols.push(bitProbs(KF, col, nf))
  return cols
}

function byteProbs (cols) {
  const out = []
  for (let byte = 0; byte < 256; byte++) {
    let p = 1.0
    for (let i = 0; i < 8; i++) p *= cols[i][(byte >>> i) & 1]
    out.push([p, byte])
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Optimal length-limited prefix code by interval dynamic programming.

function lengthLimitedCode (probItems, limit) {
  const total = probItems.reduce((t, [p]) => t + p, 0)
  if (!(Math.abs(1 - total) < 1e-14)) throw new Error(`probabilities sum to ${total}`)
  const items = probItems.slice().sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]))
  const n = items.length
  const D = limit + 1
  const stride = (n + 1) * D
  const at = (start, len, d) => start * stride + len * D + d
  const size = n * stride
  const treeCost = new Float64Array(size).fill(1e100)
  const leafCost = new Float64Array(size).fill(1e100)
  const depth = new Int32Array(size).fill(0x7fffffff)
  const split = new Int32Array(size).fill(-1) // length of the left part; 0 for a leaf
  const splitDepth = new Int32Array(size)

  for (let pos = 0; pos < n; pos++) {
    for (let d = 0; d <= limit; d++) {
      const i = at(pos, 1, d)
      treeCost[i] = 0
      leafCost[i] = items[pos][0]
      depth[i] = 0
      split[i] = 0
    }
  }
  for (let len = 2; len <= n; len++) {
    let lo = 0
    while ((1 << lo) < len) lo++
    const hi = Math.min(len - 1, limit)
    if (lo > limit) throw new Error('too many symbols for the depth limit')
    for (let td = lo; td <= hi; td++) {
      for (let start = 0; start <= n - len; start++) {
        let bestCost = 1e100
        let bestLeaf = 0
        let bestDepth = 0x7fffffff
        let bestSplit = -1
        for (let la = 1; la < len; la++) {
          const a = at(start, la, td - 1)
          const b = at(start + la, len - la, td - 1)
          const cost = treeCost[a] + treeCost[b] + (leafCost[a] + leafCost[b])
          if (cost < bestCost) {
            bestCost = cost
            bestLeaf = leafCost[a] + leafCost[b]
            bestDepth = 1 + Math.max(depth[a], depth[b])
            bestSplit = la
          }
        }
        if (bestSplit < 0 || bestDepth > td) throw new Error('no feasible tree')
        for (let d = bestDepth; d <= limit; d++) {
          const i = at(start, len, d)
          if (bestCost < treeCost[i]) {
            treeCost[i] = bestCost
            leafCost[i] = bestLeaf
            depth[i] = bestDepth
            split[i] = bestSplit
            splitDepth[i] = td - 1
          }
        }
      }
    }
  }

  const lengths = [] // [codeLength, symbol]
  const walk = (start, len, d, level) => {
    const i = at(start, len, d)
    if (len === 1) { lengths.push([level, items[start][1]]); return }
    const la = split[i]
    walk(start, la, splitDepth[i], level + 1)
    walk(start + la, len - la, splitDepth[i], level + 1)
  }
  walk(0, n, limit, 0)
  const avgLength = treeCost[at(0, n, limit)]
  lengths.sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]))

  const table = new Array(n)
  let next = 0
  let prevLen = lengths[0][0]
  for (const [len, sym] of lengths) {
    if (len !== prevLen) { next <<= (len - prevLen); prevLen = len }
    let rev = 0
    for (let b = 0; b < len; b++) rev |= ((next >>> b) & 1) << (len - 1 - b)
    table[sym] = (len << 12) | rev
    next++
  }
  return { table, avgLength }
}

// ---------------------------------------------------------------------------------------------------------------

function unaryCode () {
  const probs = []
  for (let i = 0; i < 65; i++) probs.push([0.5 ** (i + 1), i])
  return lengthLimitedCode(probs, 12).table
}

function steadyStateCode (index) {
  const phase = (1 + 2 * index) / 32
  const nf = nOfCoupons(KF, KF * (30 + phase))
  return lengthLimitedCode(byteProbs(windowProbs(phase < SHIFT_PHASE ? 28 : 29, nf)), 12).table
}

function midrangeCode (index) {
  const cOverK = [3, 5, 7, 9, 11, 13][index] / 6
  const nf = nOfCoupons(KF, KF * cOverK)
  return lengthLimitedCode(byteProbs(windowProbs(1, nf)), 12).table
}

function permutation (index) {
  const phase = (1 + 2 * index) / 32
  const nf = nOfCoupons(KF, KF * (30 + phase))
  const offset = phase < 0.375 ? 27 : 28 // 0-based window offset at C/K = 30 + phase
  const probs = []
  for (let c = 0; c < 56; c++) {
    const late = c + offset + 9 // 1-based model column of the late-zone reading
    const early = c + offset + 9 - 64
    let p = bitProbs(KF, late, nf)[1]
    if (early >= 1) p = Math.max(p, bitProbs(KF, early, nf)[0])
    probs.push([p, c])
  }
  const order = probs.slice().sort((a, b) => (b[0] - a[0]) || (a[1] - b[1]))
  const perm = new Array(56)
  order.forEach(([, c], rank) => { perm[c] = rank })
  return perm
}

const unary65 = unaryCode()
const byteTables = []
for (let i = 0; i < 16; i++) byteTables.push(steadyStateCode(i))
for (let i = 0; i < 6; i++) byteTables.push(midrangeCode(i))
const permutations = []
for (let i = 0; i < 16; i++) permutations.push(permutation(i))

if (process.argv.includes('--json')) {
  const out = { unary65 }
  byteTables.forEach((t, i) => { out[`byteTable${i}`] = t })
  permutations.forEach((p, i) => { out[`permutation${i}`] = p })
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exit(0)
}

const icon = JSON.parse(readFileSync(join(root, 'test', 'vectors', 'cpc', 'icon-coefficients.json'), 'utf8'))
if (icon.coefficients.length !== 20 * 23) throw new Error('expected 20 ICON coefficients for each lgK 4..26')

const rows = (arr, per) => {
  const lines = []
  for (let i = 0; i < arr.length; i += per) lines.push('  ' + arr.slice(i, i + per).join(', '))
  return lines.join(',\n')
}

const ts = `// GENERATED by \`node assembly/cpc/gen-tables.mjs\` — do not edit. See that file for how each table is derived.

/** Length-limited "unary" code for the column deltas of surprising values: (length << 12) | codeword, 65 symbols. */
export const UNARY65_ENCODING: StaticArray<u16> = [
${rows(unary65, 16)}
]

/**
 * 22 codes for the sliding-window bytes, 256 entries each: 16 steady-state codes indexed by the phase of C/K, then
 * 6 mid-range codes. Entry = (length << 12) | codeword, codewords at most 12 bits, written least significant bit first.
 */
export const BYTE_ENCODING: StaticArray<u16> = [
${rows(byteTables.flat(), 16)}
]

/** 16 permutations of the 56 canonical columns outside the window (SLIDING flavour), indexed by phase. */
export const COLUMN_PERMUTATIONS: StaticArray<u8> = [
${rows(permutations.flat(), 28)}
]

/**
 * ICON estimator: degree-19 polynomial per lgK 4..26 (20 coefficients each, lowest degree first), as used by
 * DataSketches. Not derivable (a least-squares fit); extracted from datasketches-java 6.1.1 at run time by
 * test/vectors/cpc (${icon.source}).
 */
export const ICON_COEFFICIENTS: StaticArray<f64> = [
${rows(icon.coefficients.map(x => String(x)), 5)}
]
`
writeFileSync(join(here, 'tables.ts'), ts)
console.log('wrote assembly/cpc/tables.ts')
