// The bits of java.lang and java.util behaviour that the frequent-items operations depend on:
//   * hashCode of String / Long / Double (they place items in DataSketches' hash map and in java.util.HashMap),
//   * String.valueOf of a Long / Double (Chronon stringifies result keys with it),
//   * the iteration order of a java.util.HashMap of counts (APPROX_HISTOGRAM_K converts its exact map into a sketch
//     by iterating it, and the order decides which items a purge drops).

export type ItemType = 'string' | 'long' | 'double'
/** A frequent-items item as it lives in JS: string, long (number, or bigint beyond ±2^53) or double. */
export type Item = string | number | bigint

/** java.lang.String.hashCode (UTF-16 code units). */
export function stringHashCode (s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)

/** java.lang.Long.hashCode: (int)(v ^ (v >>> 32)). */
export function longHashCode (v: number | bigint): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    const lo = v >>> 0 // low 32 bits (two's complement)
    const hi = Math.floor(v / 4294967296) | 0
    return (lo ^ hi) | 0
  }
  const b = BigInt.asUintN(64, BigInt(v))
  return (Number(b & 0xffffffffn) ^ Number(b >> 32n)) | 0
}

/** java.lang.Double.hashCode (doubleToLongBits: NaN canonical, -0.0 distinct from 0.0). */
export function doubleHashCode (d: number): number {
  if (Number.isNaN(d)) return (0x7ff80000 ^ 0) | 0
  f64[0] = d
  return (u32[0]! ^ u32[1]!) | 0
}

export function hashCodeOf (type: ItemType, item: Item): number {
  switch (type) {
    case 'string': return stringHashCode(item as string)
    case 'long': return longHashCode(item as number | bigint)
    case 'double': return doubleHashCode(item as number)
  }
}

/**
 * Java's Double.toString: "NaN", "Infinity", "-0.0", "1.0", "0.001", "1.0E7", "1.234E-5". Digits are the shortest
 * that round-trip (JDK 19+; older JDKs occasionally print one more digit, e.g. 2.0E-3 style outliers such as
 * 1.0E23 vs 9.999999999999999E22 — a known JDK bug, JDK-4511638).
 */
export function javaDoubleToString (d: number): string {
  if (Number.isNaN(d)) return 'NaN'
  if (d === Infinity) return 'Infinity'
  if (d === -Infinity) return '-Infinity'
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0'
  const sign = d < 0 ? '-' : ''
  const a = Math.abs(d)
  const [mant, expStr] = a.toExponential().split('e') as [string, string]
  const digits = mant.replace('.', '')
  const e = Number(expStr)
  if (a >= 1e-3 && a < 1e7) {
    if (e >= 0) {
      const int = digits.length > e + 1 ? digits.slice(0, e + 1) : digits + '0'.repeat(e + 1 - digits.length)
      const frac = digits.length > e + 1 ? digits.slice(e + 1) : '0'
      return `${sign}${int}.${frac}`
    }
    return `${sign}0.${'0'.repeat(-e - 1)}${digits}`
  }
  return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${e}`
}

/** String.valueOf(item) as Chronon applies it to result keys. */
export function javaValueOf (type: ItemType, item: Item): string {
  if (type === 'double') return javaDoubleToString(item as number)
  return String(item)
}

/** JS Map key for an item with Java equals semantics (-0.0 ≠ 0.0 for doubles; longs beyond ±2^53 as bigint). */
export function itemKey (type: ItemType, item: Item): string | number | bigint {
  if (type === 'double') return Object.is(item, -0) ? '-0' : item
  if (type === 'long' && typeof item === 'bigint' && item >= -(2n ** 53n) && item <= 2n ** 53n) return Number(item)
  return item
}

// ---- java.util.HashMap<T, Long> iteration order -------------------------------------------------------------------

const MAX_CAP = 1 << 30

function tableSizeFor (c: number): number {
  let n = 1
  while (n < c) n *= 2
  return Math.min(n, MAX_CAP)
}

interface Entry { item: Item, count: number, bucketHash: number, seq: number }

/**
 * A map of counts that knows the order in which a java.util.HashMap holding the same entries would iterate them:
 * buckets by index (spread hash & (capacity − 1)), and inside a bucket by insertion order (new keys are appended to
 * the bucket's chain; resizes split chains keeping relative order). Capacity follows HashMap: 16 at the first put,
 * doubling when size exceeds 0.75·capacity, or when a chain would reach 9 entries while capacity < 64 (where Java
 * would treeify it instead). Tree bins (9+ colliding keys with capacity ≥ 64) are not modelled; random keys
 * essentially never produce them.
 */
export class JavaCountMap {
  readonly type: ItemType
  #entries = new Map<string | number | bigint, Entry>()
  #capacity = 0
  #threshold = 0
  #seq = 0
  #bucketSizes: Int32Array = new Int32Array(0)

  constructor (type: ItemType, initialCapacity = 0) {
    this.type = type
    if (initialCapacity > 0) this.#threshold = initialCapacity // HashMap parks the initial capacity in threshold
  }

  /** new HashMap(m): capacity tableSizeFor(size / 0.75f + 1), entries inserted in m's iteration order. */
  static copyOf (m: JavaCountMap): JavaCountMap {
    const s = m.size
    const out = new JavaCountMap(m.type, s > 0 ? tableSizeFor(Math.trunc(Math.fround(Math.fround(s / 0.75) + 1))) : 0)
    for (const [item, count] of m.entries()) out.add(item, count)
    return out
  }

  /** A HashMap as ObjectInputStream rebuilds it (readObject): capacity from the size, entries in stream order. */
  static deserialized (type: ItemType, entries: Iterable<readonly [Item, number]>): JavaCountMap {
    const list = [...entries]
    const fc = Math.fround(Math.fround(list.length / 0.75) + 1)
    const cap = fc < 16 ? 16 : tableSizeFor(Math.trunc(fc))
    const out = new JavaCountMap(type, list.length > 0 ? cap : 0)
    for (const [item, count] of list) out.add(item, count)
    return out
  }

  get size (): number { return this.#entries.size }
  /** What HashMap.writeObject writes as its capacity: the table length (before the table exists: the parked initial capacity, or 16). */
  get capacity (): number { return this.#capacity > 0 ? this.#capacity : this.#threshold > 0 ? this.#threshold : 16 }
  /** HashMap's threshold field (the parked initial capacity before the table exists). */
  get threshold (): number { return this.#threshold }

  get (item: Item): number | undefined { return this.#entries.get(itemKey(this.type, item))?.count }

  /** map.put(item, map.getOrDefault(item, 0) + count) */
  add (item: Item, count: number): void {
    const key = itemKey(this.type, item)
    const e = this.#entries.get(key)
    if (e !== undefined) { e.count += count; return }
    if (this.#capacity === 0) this.#resize()
    const h = hashCodeOf(this.type, item)
    const bucketHash = h ^ (h >>> 16)
    const entry: Entry = { item, count, bucketHash, seq: this.#seq++ }
    this.#entries.set(key, entry)
    const b = bucketHash & (this.#capacity - 1)
    const chain = ++this.#bucketSizes[b]!
    if (chain >= 9 && this.#capacity < 64) this.#resize() // treeifyBin on a small table resizes instead
    if (this.#entries.size > this.#threshold) this.#resize()
  }

  #resize (): void {
    if (this.#capacity === 0) {
      this.#capacity = this.#threshold > 0 ? this.#threshold : 16
    } else {
      this.#capacity = Math.min(this.#capacity * 2, MAX_CAP)
    }
    this.#threshold = Math.trunc(Math.fround(this.#capacity * 0.75))
    this.#bucketSizes = new Int32Array(this.#capacity)
    const mask = this.#capacity - 1
    for (const e of this.#entries.values()) this.#bucketSizes[e.bucketHash & mask]!++
  }

  /** Entries in java.util.HashMap iteration order. */
  entries (): Array<[Item, number]> {
    const mask = this.#capacity - 1
    const list = [...this.#entries.values()]
    list.sort((a, b) => ((a.bucketHash & mask) - (b.bucketHash & mask)) || (a.seq - b.seq))
    return list.map(e => [e.item, e.count])
  }
}
