// A map whose iteration order is exactly java.util.HashMap's (Java 8–18, which covers the Java 8/11 JVMs Chronon's
// Flink jobs run on; JDK 19 changed how HashSet(Collection) and putAll presize), so that what Chronon's JVM code derives from a HashMap's order — the element order of a
// normalized UNIQUE_COUNT set, the entry order of an encoded HISTOGRAM or bucket map, HISTOGRAM's top-k tie
// break — comes out the same here.
//
//   table (power-of-two length, created lazily)       nodes (parallel arrays, recycled through a free list)
//   ┌───┬───┬───┬───┐                                   keys[i], vals[i], hashes[i] = spread(hashCode)
//   │ 3 │-1 │ 0 │-1 │  bucket = spread & (length − 1)   next[i] = following node of the same bucket, or −1
//   └───┴───┴───┴───┘
//   Iteration: buckets in index order, each chain from head to tail. New keys are appended at the chain's tail;
//   replacing a value keeps its position; removal unlinks; a resize splits each chain into a "low" and a "high"
//   chain keeping relative order (HashMap.resize). Lookups go through a JS Map keyed by the KeyKind id, so the Java
//   hash is computed once per new key only.
//
// Invariants: size === index.size; every live node is on exactly one chain; threshold follows HashMap's rules
// (initial capacity parked in `threshold` until the table exists, then capacity × 0.75).
//
// Not modelled: tree bins. Java turns a chain of 9+ keys into a red-black tree when the table has ≥ 64 buckets,
// and a tree bin iterates root first. That needs 9 keys whose spread hashes agree in all low bits, which random
// keys practically never produce (p ≈ 1e-7 per bucket) but crafted colliding strings can; the order within such a
// bin then differs from the JVM's. (Below 64 buckets Java resizes instead, which *is* modelled.)

import { type KeyKind, STRING_KEYS, UTF8_KEYS } from './java-hash.ts'

const DEFAULT_CAPACITY = 16
const MAXIMUM_CAPACITY = 1 << 30
const TREEIFY_THRESHOLD = 8
const MIN_TREEIFY_CAPACITY = 64
const INT_MAX = 2147483647

/** HashMap.tableSizeFor: the smallest power of two ≥ cap (1 for cap ≤ 1). */
export function tableSizeFor (cap: number): number {
  if (cap <= 1) return 1
  if (cap >= MAXIMUM_CAPACITY) return MAXIMUM_CAPACITY
  return 1 << (32 - Math.clz32(cap - 1))
}

/** HashMap.hash: the key's hashCode with its high half folded into the low half. */
function spread (h: number): number {
  return (h ^ (h >>> 16)) | 0
}

// Java does these capacity computations in float.
/** putMapEntries: `(int) ((float) s / loadFactor + 1.0F)`. */
function presizeFor (s: number): number {
  return Math.trunc(Math.fround(Math.fround(s / 0.75) + 1))
}

/** HashSet(Collection): `Math.max((int) (c.size() / .75f) + 1, 16)`. */
function collectionCapacity (n: number): number {
  return Math.max(Math.trunc(Math.fround(n / 0.75)) + 1, DEFAULT_CAPACITY)
}

export class JavaHashMap<K, V> {
  readonly kind: KeyKind<K>
  #table: Int32Array | null = null
  #threshold: number
  #keys: K[] = []
  #vals: V[] = []
  #hashes: number[] = []
  #next: number[] = []
  #free: number[] = []
  readonly #index = new Map<unknown, number>()

  /** `new HashMap()` or, with a capacity, `new HashMap(initialCapacity)`. */
  constructor (kind: KeyKind<K>, initialCapacity?: number) {
    this.kind = kind
    this.#threshold = initialCapacity === undefined ? 0 : tableSizeFor(initialCapacity)
  }

  /** `new HashSet(collection)` / `new HashMap(map)`-style presized map: capacity max((int)(n/.75f)+1, 16). */
  static forCollection<K, V> (kind: KeyKind<K>, n: number): JavaHashMap<K, V> {
    return new JavaHashMap<K, V>(kind, collectionCapacity(n))
  }

  get size (): number { return this.#index.size }
  /** Current table length (0 before the first insertion). */
  get capacity (): number { return this.#table === null ? 0 : this.#table.length }

  has (key: K): boolean { return this.#index.has(this.kind.id(key)) }

  get (key: K): V | undefined {
    const n = this.#index.get(this.kind.id(key))
    return n === undefined ? undefined : this.#vals[n]
  }

  /** HashMap.put. */
  set (key: K, value: V): this {
    const id = this.kind.id(key)
    const n = this.#index.get(id)
    if (n !== undefined) this.#vals[n] = value
    else this.#insert(id, key, value)
    return this
  }

  /** HashMap.remove; returns whether the key was present. */
  delete (key: K): boolean {
    const id = this.kind.id(key)
    const n = this.#index.get(id)
    if (n === undefined) return false
    const table = this.#table!
    const b = this.#hashes[n]! & (table.length - 1)
    if (table[b] === n) {
      table[b] = this.#next[n]!
    } else {
      let p = table[b]!
      while (this.#next[p] !== n) p = this.#next[p]!
      this.#next[p] = this.#next[n]!
    }
    this.#index.delete(id)
    this.#keys[n] = undefined as K
    this.#vals[n] = undefined as V
    this.#free.push(n)
    return true
  }

  /**
   * HashMap.putAll (putMapEntries, Java 8–18): presizes an empty table from the incoming count, or resizes once
   * when the count alone exceeds the threshold, then puts each entry in the given order.
   */
  putAll (entries: Iterable<readonly [K, V]>, count: number): this {
    if (count > 0) {
      if (this.#table === null) {
        const t = Math.min(presizeFor(count), MAXIMUM_CAPACITY)
        if (t > this.#threshold) this.#threshold = tableSizeFor(t)
      } else if (count > this.#threshold) {
        this.#resize()
      }
    }
    for (const [k, v] of entries) this.set(k, v)
    return this
  }

  /** Entries in Java iteration order. */
  forEach (fn: (value: V, key: K) => void): void {
    const table = this.#table
    if (table === null) return
    for (let b = 0; b < table.length; b++) {
      for (let n = table[b]!; n !== -1; n = this.#next[n]!) fn(this.#vals[n]!, this.#keys[n]!)
    }
  }

  * entries (): IterableIterator<[K, V]> {
    const table = this.#table
    if (table === null) return
    for (let b = 0; b < table.length; b++) {
      for (let n = table[b]!; n !== -1; n = this.#next[n]!) yield [this.#keys[n]!, this.#vals[n]!]
    }
  }

  [Symbol.iterator] (): IterableIterator<[K, V]> { return this.entries() }

  keysArray (): K[] {
    const out: K[] = []
    this.forEach((_, k) => { out.push(k) })
    return out
  }

  valuesArray (): V[] {
    const out: V[] = []
    this.forEach(v => { out.push(v) })
    return out
  }

  /** `new HashMap()` followed by one put per entry of this map, in iteration order (what most Chronon copies do). */
  copyByPuts<W = V> (map?: (v: V, k: K) => W): JavaHashMap<K, W> {
    const out = new JavaHashMap<K, W>(this.kind)
    this.forEach((v, k) => { out.set(k, map === undefined ? v as unknown as W : map(v, k)) })
    return out
  }

  /**
   * `new HashMap(size())` followed by one put per entry, in iteration order: the copy Chronon's Row.to makes of every
   * map just before Avro encodes it, so its order is the entry order of a map in tile bytes. The smaller table it
   * starts from (tableSizeFor(size), growing past 0.75 of it) can order keys unlike the map it copies.
   */
  copyPresizedByPuts (): JavaHashMap<K, V> {
    const out = new JavaHashMap<K, V>(this.kind, this.size)
    this.forEach((v, k) => { out.set(k, v) })
    return out
  }

  #insert (id: unknown, key: K, value: V): void {
    if (this.#table === null) this.#resize()
    const h = spread(this.kind.hash(key))
    const n = this.#free.length > 0 ? this.#free.pop()! : this.#keys.length
    this.#keys[n] = key
    this.#vals[n] = value
    this.#hashes[n] = h
    this.#next[n] = -1
    this.#index.set(id, n)
    const table = this.#table!
    const b = h & (table.length - 1)
    if (table[b] === -1) {
      table[b] = n
    } else {
      let p = table[b]!
      let chain = 1
      while (this.#next[p] !== -1) { p = this.#next[p]!; chain++ }
      this.#next[p] = n
      // putVal: appending to a chain that already had TREEIFY_THRESHOLD nodes calls treeifyBin, which resizes
      // instead while the table is small.
      if (chain >= TREEIFY_THRESHOLD && table.length < MIN_TREEIFY_CAPACITY) this.#resize()
    }
    if (this.#index.size > this.#threshold) this.#resize()
  }

  #resize (): void {
    const old = this.#table
    const oldCap = old === null ? 0 : old.length
    const oldThr = this.#threshold
    let newCap: number
    let newThr = 0
    if (oldCap > 0) {
      if (oldCap >= MAXIMUM_CAPACITY) { this.#threshold = INT_MAX; return }
      newCap = oldCap * 2
      if (newCap < MAXIMUM_CAPACITY && oldCap >= DEFAULT_CAPACITY) newThr = oldThr * 2
    } else if (oldThr > 0) {
      newCap = oldThr
    } else {
      newCap = DEFAULT_CAPACITY
      newThr = 12
    }
    if (newThr === 0) {
      const ft = Math.fround(newCap * 0.75)
      newThr = newCap < MAXIMUM_CAPACITY && ft < MAXIMUM_CAPACITY ? Math.trunc(ft) : INT_MAX
    }
    this.#threshold = newThr
    const table = new Int32Array(newCap).fill(-1)
    this.#table = table
    if (old === null) return
    for (let b = 0; b < oldCap; b++) this.#split(old[b]!, b, oldCap, table)
  }

  /** Splits one old chain into the low (same index) and high (index + oldCap) chains, preserving order. */
  #split (head: number, b: number, oldCap: number, table: Int32Array): void {
    let loHead = -1; let loTail = -1; let hiHead = -1; let hiTail = -1
    for (let n = head; n !== -1;) {
      const following = this.#next[n]!
      this.#next[n] = -1
      if ((this.#hashes[n]! & oldCap) === 0) {
        if (loTail === -1) loHead = n; else this.#next[loTail] = n
        loTail = n
      } else {
        if (hiTail === -1) hiHead = n; else this.#next[hiTail] = n
        hiTail = n
      }
      n = following
    }
    table[b] = loHead
    table[b + oldCap] = hiHead
  }
}

/** HashSet<K>: a JavaHashMap with no values (HashSet is backed by a HashMap). */
export type JavaHashSet<K> = JavaHashMap<K, true>

export function newHashSet<K> (kind: KeyKind<K>, initialCapacity?: number): JavaHashSet<K> {
  return new JavaHashMap<K, true>(kind, initialCapacity)
}

/** `new HashSet(collection)`: presized, then the elements added in the collection's order. */
export function hashSetOf<K> (kind: KeyKind<K>, items: readonly K[]): JavaHashSet<K> {
  const s = JavaHashMap.forCollection<K, true>(kind, items.length)
  for (const x of items) s.set(x, true)
  return s
}

/** `new HashSet()` then `addAll(items)` (AbstractCollection.addAll: one add each, no presizing). */
export function hashSetByAdds<K> (kind: KeyKind<K>, items: Iterable<K>): JavaHashSet<K> {
  const s = newHashSet(kind)
  for (const x of items) s.set(x, true)
  return s
}

/**
 * The String-keyed HashMap a JVM ends up with after decoding an Avro map: Avro's GenericDatumReader first fills a
 * `new HashMap(blockCount)` keyed by Utf8 (whose hash is String.hashCode only for ASCII), then Chronon's
 * Row.from copies that, in its iteration order, into a `new HashMap()` with String keys. `entries` are in encoded
 * order (one block, as both Java's and our encoders write maps).
 */
export function jvmDecodedMap<V, W> (entries: Iterable<readonly [string | null, V]>, count: number, value: (v: V) => W): JavaHashMap<string | null, W> {
  const avro = new JavaHashMap<string | null, V>(UTF8_KEYS, count)
  for (const [k, v] of entries) avro.set(k, v)
  const out = new JavaHashMap<string | null, W>(STRING_KEYS)
  avro.forEach((v, k) => { out.set(k, value(v)) })
  return out
}
