// Flat hash tables for the worker's per-row lookups (key → keyId, (keyId, tile) → entry). A JS Map of 100,000 keys
// measured ~600 ns per lookup here (two per row), a third of a worker's time; these keep keys and values in typed
// arrays: open addressing, linear probing, power-of-two capacity, load ≤ 1/2, backward-shift deletion (no
// tombstones). A slot's key and value sit side by side in one typed array (16 bytes a slot, four to a cache line),
// so a lookup is one hash and usually one cache miss: with separate key and value arrays it was one miss per array,
// and with 100,000 keys nearly every lookup misses (the tables outgrow the caches the worker's state shares).
//
//   NumberTable  key: an integer |k| < 2^53 (a long key column's value) → value ≥ 0   slot: f64 key | f64 value
//   PairTable    key: two int32 (keyId, tile index)                     → value ≥ 0   slot: i32 a | i32 b | i32 value | unused

const EMPTY = -1

function mix32 (a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  h ^= h >>> 12
  return h
}

export class NumberTable {
  /** Slot i: key at 2i, value at 2i + 1 (EMPTY when free). */
  #s: Float64Array
  #mask: number
  size = 0

  constructor (capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)))
    this.#s = emptyNumberSlots(cap)
    this.#mask = cap - 1
  }

  #slot (k: number): number {
    const hi = Math.floor(k / 4294967296)
    return mix32(k >>> 0 === k ? k : (k - hi * 4294967296) >>> 0, hi) & this.#mask
  }

  get (k: number): number {
    const s = this.#s
    for (let i = this.#slot(k); ; i = (i + 1) & this.#mask) {
      const v = s[2 * i + 1]!
      if (v === EMPTY) return EMPTY
      if (s[2 * i] === k) return v
    }
  }

  /** Bytes of its slots. */
  get bytes (): number { return this.#s.byteLength }

  /** The value in key k's home slot (k's, or another key's, or EMPTY), without probing: a load ahead of get(). */
  peek (k: number): number { return this.#s[2 * this.#slot(k) + 1]! }

  /** Inserts or replaces. */
  set (k: number, v: number): void {
    if ((this.size + 1) * 2 > this.#mask + 1) this.#grow()
    const s = this.#s
    for (let i = this.#slot(k); ; i = (i + 1) & this.#mask) {
      if (s[2 * i + 1] === EMPTY) { s[2 * i] = k; s[2 * i + 1] = v; this.size++; return }
      if (s[2 * i] === k) { s[2 * i + 1] = v; return }
    }
  }

  delete (k: number): boolean {
    const s = this.#s
    const mask = this.#mask
    let i = this.#slot(k)
    for (;; i = (i + 1) & mask) {
      if (s[2 * i + 1] === EMPTY) return false
      if (s[2 * i] === k) break
    }
    // Backward shift: move later entries of the probe run into the hole when their home is at or before it.
    let hole = i
    for (let j = (i + 1) & mask; s[2 * j + 1] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#slot(s[2 * j]!)
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        s[2 * hole] = s[2 * j]!
        s[2 * hole + 1] = s[2 * j + 1]!
        hole = j
      }
    }
    s[2 * hole + 1] = EMPTY
    this.size--
    return true
  }

  #grow (): void {
    const old = this.#s
    const cap = (this.#mask + 1) * 2
    this.#s = emptyNumberSlots(cap)
    this.#mask = cap - 1
    this.size = 0
    for (let i = 1; i < old.length; i += 2) if (old[i] !== EMPTY) this.set(old[i - 1]!, old[i]!)
  }
}

function emptyNumberSlots (cap: number): Float64Array<ArrayBuffer> {
  const s = new Float64Array(2 * cap)
  for (let i = 1; i < s.length; i += 2) s[i] = EMPTY
  return s
}

export class PairTable {
  /** Slot i: a at 4i, b at 4i + 1, value at 4i + 2 (EMPTY when free); 4i + 3 pads the slot to 16 bytes. */
  #s: Int32Array
  #mask: number
  size = 0

  constructor (capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)))
    this.#s = emptyPairSlots(cap)
    this.#mask = cap - 1
  }

  /** Bytes of its slots. */
  get bytes (): number { return this.#s.byteLength }

  get (a: number, b: number): number {
    const s = this.#s
    for (let i = mix32(a, b) & this.#mask; ; i = (i + 1) & this.#mask) {
      const at = i << 2
      const v = s[at + 2]!
      if (v === EMPTY) return EMPTY
      if (s[at] === a && s[at + 1] === b) return v
    }
  }

  set (a: number, b: number, v: number): void {
    if ((this.size + 1) * 2 > this.#mask + 1) this.#grow()
    const s = this.#s
    for (let i = mix32(a, b) & this.#mask; ; i = (i + 1) & this.#mask) {
      const at = i << 2
      if (s[at + 2] === EMPTY) { s[at] = a; s[at + 1] = b; s[at + 2] = v; this.size++; return }
      if (s[at] === a && s[at + 1] === b) { s[at + 2] = v; return }
    }
  }

  delete (a: number, b: number): boolean {
    const s = this.#s
    const mask = this.#mask
    let i = mix32(a, b) & mask
    for (;; i = (i + 1) & mask) {
      const at = i << 2
      if (s[at + 2] === EMPTY) return false
      if (s[at] === a && s[at + 1] === b) break
    }
    let hole = i
    for (let j = (i + 1) & mask; s[(j << 2) + 2] !== EMPTY; j = (j + 1) & mask) {
      const at = j << 2
      const home = mix32(s[at]!, s[at + 1]!) & mask
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        const to = hole << 2
        s[to] = s[at]!
        s[to + 1] = s[at + 1]!
        s[to + 2] = s[at + 2]!
        hole = j
      }
    }
    s[(hole << 2) + 2] = EMPTY
    this.size--
    return true
  }

  #grow (): void {
    const old = this.#s
    const cap = (this.#mask + 1) * 2
    this.#s = emptyPairSlots(cap)
    this.#mask = cap - 1
    this.size = 0
    for (let at = 0; at < old.length; at += 4) if (old[at + 2] !== EMPTY) this.set(old[at]!, old[at + 1]!, old[at + 2]!)
  }
}

function emptyPairSlots (cap: number): Int32Array<ArrayBuffer> {
  const s = new Int32Array(4 * cap)
  for (let at = 2; at < s.length; at += 4) s[at] = EMPTY
  return s
}
