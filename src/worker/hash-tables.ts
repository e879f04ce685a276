// Flat hash tables for the worker's per-row lookups (key → keyId, (keyId, tile) → entry). A JS Map of 100,000 keys
// measured ~600 ns per lookup here (two per row), a third of a worker's time; these keep keys and values in typed
// arrays: open addressing, linear probing, power-of-two capacity, load ≤ 1/2, backward-shift deletion (no
// tombstones), so a lookup is one hash and usually one cache line.
//
//   NumberTable  key: an integer |k| < 2^53 (a long key column's value) → value ≥ 0
//   PairTable    key: two int32 (keyId, tile index)                     → value ≥ 0

const EMPTY = -1

function mix32 (a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  h ^= h >>> 12
  return h
}

export class NumberTable {
  #keys: Float64Array
  #vals: Int32Array
  #mask: number
  size = 0

  constructor (capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)))
    this.#keys = new Float64Array(cap)
    this.#vals = new Int32Array(cap).fill(EMPTY)
    this.#mask = cap - 1
  }

  #slot (k: number): number {
    const hi = Math.floor(k / 4294967296)
    return mix32(k >>> 0 === k ? k : (k - hi * 4294967296) >>> 0, hi) & this.#mask
  }

  get (k: number): number {
    const keys = this.#keys
    const vals = this.#vals
    for (let i = this.#slot(k); ; i = (i + 1) & this.#mask) {
      const v = vals[i]!
      if (v === EMPTY) return EMPTY
      if (keys[i] === k) return v
    }
  }

  /** Inserts or replaces. */
  set (k: number, v: number): void {
    if ((this.size + 1) * 2 > this.#vals.length) this.#grow()
    const keys = this.#keys
    const vals = this.#vals
    for (let i = this.#slot(k); ; i = (i + 1) & this.#mask) {
      if (vals[i] === EMPTY) { keys[i] = k; vals[i] = v; this.size++; return }
      if (keys[i] === k) { vals[i] = v; return }
    }
  }

  delete (k: number): boolean {
    const keys = this.#keys
    const vals = this.#vals
    const mask = this.#mask
    let i = this.#slot(k)
    for (;; i = (i + 1) & mask) {
      if (vals[i] === EMPTY) return false
      if (keys[i] === k) break
    }
    // Backward shift: move later entries of the probe run into the hole when their home is at or before it.
    let hole = i
    for (let j = (i + 1) & mask; vals[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#slot(keys[j]!)
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j]!
        vals[hole] = vals[j]!
        hole = j
      }
    }
    vals[hole] = EMPTY
    this.size--
    return true
  }

  #grow (): void {
    const oldK = this.#keys
    const oldV = this.#vals
    this.#keys = new Float64Array(oldK.length * 2)
    this.#vals = new Int32Array(oldV.length * 2).fill(EMPTY)
    this.#mask = this.#vals.length - 1
    this.size = 0
    for (let i = 0; i < oldV.length; i++) if (oldV[i] !== EMPTY) this.set(oldK[i]!, oldV[i]!)
  }
}

export class PairTable {
  #a: Int32Array
  #b: Int32Array
  #vals: Int32Array
  #mask: number
  size = 0

  constructor (capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)))
    this.#a = new Int32Array(cap)
    this.#b = new Int32Array(cap)
    this.#vals = new Int32Array(cap).fill(EMPTY)
    this.#mask = cap - 1
  }

  get (a: number, b: number): number {
    const as = this.#a
    const bs = this.#b
    const vals = this.#vals
    for (let i = mix32(a, b) & this.#mask; ; i = (i + 1) & this.#mask) {
      const v = vals[i]!
      if (v === EMPTY) return EMPTY
      if (as[i] === a && bs[i] === b) return v
    }
  }

  set (a: number, b: number, v: number): void {
    if ((this.size + 1) * 2 > this.#vals.length) this.#grow()
    const as = this.#a
    const bs = this.#b
    const vals = this.#vals
    for (let i = mix32(a, b) & this.#mask; ; i = (i + 1) & this.#mask) {
      if (vals[i] === EMPTY) { as[i] = a; bs[i] = b; vals[i] = v; this.size++; return }
      if (as[i] === a && bs[i] === b) { vals[i] = v; return }
    }
  }

  delete (a: number, b: number): boolean {
    const as = this.#a
    const bs = this.#b
    const vals = this.#vals
    const mask = this.#mask
    let i = mix32(a, b) & mask
    for (;; i = (i + 1) & mask) {
      if (vals[i] === EMPTY) return false
      if (as[i] === a && bs[i] === b) break
    }
    let hole = i
    for (let j = (i + 1) & mask; vals[j] !== EMPTY; j = (j + 1) & mask) {
      const home = mix32(as[j]!, bs[j]!) & mask
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        as[hole] = as[j]!
        bs[hole] = bs[j]!
        vals[hole] = vals[j]!
        hole = j
      }
    }
    vals[hole] = EMPTY
    this.size--
    return true
  }

  #grow (): void {
    const oa = this.#a
    const ob = this.#b
    const ov = this.#vals
    const cap = ov.length * 2
    this.#a = new Int32Array(cap)
    this.#b = new Int32Array(cap)
    this.#vals = new Int32Array(cap).fill(EMPTY)
    this.#mask = cap - 1
    this.size = 0
    for (let i = 0; i < ov.length; i++) if (ov[i] !== EMPTY) this.set(oa[i]!, ob[i]!, ov[i]!)
  }
}
