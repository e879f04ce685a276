// A plain TypeScript KLL floats update path: the same algorithm, coins (RNG_PURE) and serialized bytes as
// assembly/kll.ts, kept as the benchmark baseline for the WASM kernel (bench/sketch-kll-frequent.ts checks the bytes
// are identical). Updates and serialization only (no merge or quantiles): the engine uses the WASM kernel.

const M = 8
const MASK48 = (1n << 48n) - 1n

function capAux (k: number, depth: number): number {
  if (depth > 30) return capAux(capAux(k, depth >> 1), depth - (depth >> 1))
  const a = 2 * k * 2 ** depth // exact: < 2^48
  const b = 3 ** depth
  let q = Math.floor(a / b)
  if (q * b > a) q-- // integer division, immune to the quotient rounding up
  return (q + 1) >> 1
}

function levelCapacity (k: number, numLevels: number, height: number): number {
  return Math.max(M, capAux(k, numLevels - height - 1))
}

function mix64 (z: bigint): bigint {
  z = ((z ^ (z >> 33n)) * 0xff51afd7ed558ccdn) & 0xffffffffffffffffn
  z = ((z ^ (z >> 33n)) * 0xc4ceb9fe1a85ec53n) & 0xffffffffffffffffn
  return z ^ (z >> 33n)
}

/** java.util.Random(seedForUpdate(n)).nextInt(2), the coin of the compaction made at item count n. */
function coinForUpdate (n: number): number {
  const seed = mix64((BigInt(n) + 0x9E3779B97F4A7C15n) & 0xffffffffffffffffn)
  const s = (((seed ^ 0x5DEECE66Dn) & MASK48) * 0x5DEECE66Dn + 0xBn) & MASK48
  return Number(s >> 47n)
}

export class TsKll {
  readonly k: number
  n = 0
  numLevels = 1
  levels: Int32Array
  items: Float32Array
  min = NaN
  max = NaN
  sorted = false

  constructor (k: number) {
    this.k = k
    this.levels = new Int32Array(64)
    this.levels[0] = k
    this.levels[1] = k
    this.items = new Float32Array(k)
  }

  update (x: number): void {
    if (Number.isNaN(x)) return
    if (this.n === 0) { this.min = x; this.max = x } else {
      if (x < this.min) this.min = x
      if (x > this.max) this.max = x
    }
    if (this.levels[0] === 0) this.#compress()
    this.n++
    this.sorted = false
    const p = --this.levels[0]!
    this.items[p] = x
  }

  #compress (): void {
    const lv = this.levels
    let level = 0
    while (lv[level + 1]! - lv[level]! < levelCapacity(this.k, this.numLevels, level)) level++
    if (level === this.numLevels - 1) this.#addTopLevel()
    const items = this.items
    const rawBeg = lv[level]!
    const rawLim = lv[level + 1]!
    const popAbove = lv[level + 2]! - rawLim
    const rawPop = rawLim - rawBeg
    const odd = (rawPop & 1) === 1
    const adjBeg = odd ? rawBeg + 1 : rawBeg
    const adjPop = odd ? rawPop - 1 : rawPop
    const half = adjPop >> 1
    if (level === 0) items.subarray(adjBeg, adjBeg + adjPop).sort() // TypedArray sort orders -0 before +0
    const coin = coinForUpdate(this.n)
    if (popAbove === 0) {
      let j = adjBeg + adjPop - 1 - coin
      for (let i = adjBeg + adjPop - 1; i >= adjBeg + half; i--) { items[i] = items[j]!; j -= 2 }
    } else {
      let j = adjBeg + coin
      for (let i = adjBeg; i < adjBeg + half; i++) { items[i] = items[j]!; j += 2 }
      // merge [adjBeg, adjBeg+half) with [rawLim, rawLim+popAbove) into adjBeg+half (in place, as Java)
      let a = adjBeg; let b = rawLim
      const limA = adjBeg + half; const limB = rawLim + popAbove
      for (let c = adjBeg + half; c < adjBeg + half + half + popAbove; c++) {
        if (a === limA) items[c] = items[b++]!
        else if (b === limB) items[c] = items[a++]!
        else if (items[a]! < items[b]!) items[c] = items[a++]!
        else items[c] = items[b++]!
      }
    }
    lv[level + 1] = lv[level + 1]! - half
    if (odd) { lv[level] = lv[level + 1]! - 1; items[lv[level]!] = items[rawBeg]! } else lv[level] = lv[level + 1]!
    if (level > 0) {
      items.copyWithin(lv[0]! + half, lv[0]!, rawBeg)
      for (let l = 0; l < level; l++) lv[l] = lv[l]! + half
    }
  }

  #addTopLevel (): void {
    const lv = this.levels
    const cur = lv[this.numLevels]!
    const delta = levelCapacity(this.k, this.numLevels + 1, 0)
    const next = new Float32Array(cur + delta)
    next.set(this.items.subarray(0, cur), delta)
    this.items = next
    for (let i = 0; i <= this.numLevels; i++) lv[i] = lv[i]! + delta
    this.numLevels++
    lv[this.numLevels] = cur + delta
  }

  /** DataSketches compact bytes (see assembly/kll.ts). */
  toBytes (): Uint8Array {
    const nl = this.numLevels
    const lv = this.levels
    const single = this.n === 1
    const empty = this.n === 0
    const retained = lv[nl]! - lv[0]!
    const size = empty ? 8 : single ? 12 : 20 + nl * 4 + (retained + 2) * 4
    const out = new Uint8Array(size)
    const dv = new DataView(out.buffer)
    out[0] = empty || single ? 2 : 5
    out[1] = single ? 2 : 1
    out[2] = 15
    out[3] = (empty ? 1 : 0) | (this.sorted ? 2 : 0) | (single ? 4 : 0)
    dv.setUint16(4, this.k, true)
    out[6] = M
    if (empty) return out
    if (single) { dv.setFloat32(8, this.items[lv[0]!]!, true); return out }
    dv.setBigInt64(8, BigInt(this.n), true)
    dv.setUint16(16, this.k, true)
    out[18] = nl
    let o = 20
    for (let i = 0; i < nl; i++) { dv.setInt32(o, lv[i]!, true); o += 4 }
    dv.setFloat32(o, this.min, true); dv.setFloat32(o + 4, this.max, true); o += 8
    for (let i = lv[0]!; i < lv[nl]!; i++) { dv.setFloat32(o, this.items[i]!, true); o += 4 }
    return out
  }
}
