// APPROX_FREQUENT_K / APPROX_HEAVY_HITTERS_K (Zipline): DataSketches' frequent items sketch (assembly/frequent.ts),
// binary compatible with ItemsSketch<String|Long|Double> of datasketches-java 6 and sketches-core 0.13.4.
//
// Layers as in kll.ts: FrequentKernel (per-thread WASM instance, numeric handles) and FrequentItemsSketch (owning
// wrapper, the aggregator's IR).
//
// Strings live inside WASM memory as UTF-16 blocks owned by the sketch (not in a JS-side string table): the sketch's
// purges and frees then reclaim them with no cross-boundary bookkeeping, and Java's hashCode / equals over UTF-16
// code units are computed right where the probing happens. The host only copies the item's code units into a
// scratch area per update (a tight charCodeAt loop; no TextEncoder, no allocation).

import { type DataType, T } from '../../api/data-type.ts'
import type { SimpleAggregator } from '../aggregator.ts'
import { type Item, type ItemType, javaValueOf } from './java-compat.ts'
import { Scratch, WasmSketchInstance } from './wasm-instance.ts'

export type FrequentFlavour = 'airbnb' | 'zipline'
export type ErrorType = 'NO_FALSE_POSITIVES' | 'NO_FALSE_NEGATIVES'

interface FiExports {
  fi_alloc (size: number): number
  fi_dealloc (ptr: number): void
  fi_heap_live_bytes (): number
  fi_create (type: number, maxMapSize: number, flavour: number): number
  fi_free (h: number): void
  fi_copy (h: number): number
  fi_update_long (h: number, v: number, count: number): void
  fi_update_long2 (h: number, lo: number, hi: number, count: number): void
  fi_update_double (h: number, v: number, count: number): void
  fi_update_string (h: number, chars: number, n: number, count: number): void
  fi_update_string_hashed (h: number, chars: number, n: number, hashCode: number, count: number): void
  fi_iteration_order (h: number, out: number): number
  fi_merge (h: number, o: number): number
  fi_serialized_size (h: number): number
  fi_serialize (h: number, dst: number): void
  fi_check (src: number, len: number, type: number): number
  fi_deserialize (src: number, len: number, type: number, flavour: number): number
  fi_type (h: number): number
  fi_num_active (h: number): number
  fi_stream_weight (h: number): number
  fi_offset (h: number): number
  fi_lg_max (h: number): number
  fi_lg_cur (h: number): number
  fi_keys_ptr (h: number): number
  fi_values_ptr (h: number): number
  fi_value (h: number, slot: number): number
  fi_memory_bytes (h: number): number
}

const TYPE_CODE: Record<ItemType, number> = { string: 0, long: 1, double: 2 }
const TYPE_OF_CODE: ItemType[] = ['string', 'long', 'double']
const CHECK_ERRORS = ['', 'too short', 'bad preamble longs', 'bad serial version', 'not a frequent items sketch (family)',
  'empty flag inconsistent with preamble', 'bad map sizes', 'corrupt item data']

export class FrequentFormatError extends Error {}

/** One row of getFrequentItems: the item, its estimate and bounds. */
export interface FrequentRow { item: Item, estimate: number, upperBound: number, lowerBound: number }

export class FrequentKernel {
  readonly #w: WasmSketchInstance<FiExports>
  readonly #x: FiExports
  readonly #scratch: Scratch

  constructor () {
    this.#w = new WasmSketchInstance<FiExports>('frequent')
    this.#x = this.#w.exports
    this.#scratch = new Scratch(n => this.#x.fi_alloc(n), p => this.#x.fi_dealloc(p))
  }

  /** New sketch; maxMapSize must be a power of two (ItemsSketch's rule). */
  create (type: ItemType, maxMapSize: number, flavour: FrequentFlavour = 'zipline'): number {
    const h = this.#x.fi_create(TYPE_CODE[type], maxMapSize, flavour === 'airbnb' ? 0 : 1)
    if (h === 0) throw new RangeError(`maxMapSize must be a power of two, got ${maxMapSize}`)
    return h
  }

  free (h: number): void { this.#x.fi_free(h) }
  /** Exact copy (same internal layout). */
  copy (h: number): number { return this.#x.fi_copy(h) }
  type (h: number): ItemType { return TYPE_OF_CODE[this.#x.fi_type(h)]! }

  updateLong (h: number, v: number | bigint, count = 1): void {
    if (typeof v === 'number' && Number.isSafeInteger(v)) { this.#x.fi_update_long(h, v, count); return }
    const b = BigInt.asUintN(64, BigInt(typeof v === 'number' ? Math.trunc(v) : v))
    this.#x.fi_update_long2(h, Number(b & 0xffffffffn), Number(b >> 32n), count)
  }

  updateDouble (h: number, v: number, count = 1): void { this.#x.fi_update_double(h, v, count) }

  updateString (h: number, s: string, count = 1): void {
    const n = s.length
    const p = this.#scratch.get(n * 2 + 2)
    const u16 = this.#w.u16Upto(p + n * 2)
    const base = p >>> 1
    let hash = 0 // String.hashCode, computed during the copy to spare the kernel a pass
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      u16[base + i] = c
      hash = (Math.imul(31, hash) + c) | 0
    }
    this.#x.fi_update_string_hashed(h, p, n, hash, count)
  }

  /** Update with an item of the sketch's type, `count` times (count ≥ 0; 0 is ignored, as in Java). */
  update (h: number, type: ItemType, item: Item, count = 1): void {
    if (count < 0 || !Number.isSafeInteger(count)) throw new RangeError(`count must be a non-negative integer, got ${count}`)
    switch (type) {
      case 'string': this.updateString(h, item as string, count); break
      case 'long': this.updateLong(h, item as number | bigint, count); break
      case 'double': this.updateDouble(h, item as number, count); break
    }
  }

  merge (h: number, o: number): void {
    if (this.#x.fi_merge(h, o) !== 0) throw new FrequentFormatError('cannot merge frequent items sketches of different item types (or a sketch into itself)')
  }

  serialize (h: number): Uint8Array {
    const len = this.#x.fi_serialized_size(h)
    const p = this.#scratch.get(len)
    this.#x.fi_serialize(h, p)
    return this.#w.u8.slice(p, p + len)
  }

  /** ItemsSketch.getInstance: items re-inserted in serialized order (so the layout may differ from the writer's). */
  deserialize (bytes: Uint8Array, type: ItemType, flavour: FrequentFlavour = 'zipline'): number {
    const p = this.#scratch.get(bytes.length)
    this.#w.u8.set(bytes, p)
    const h = this.#x.fi_deserialize(p, bytes.length, TYPE_CODE[type], flavour === 'airbnb' ? 0 : 1)
    if (h === 0) {
      const code = this.#x.fi_check(p, bytes.length, TYPE_CODE[type])
      throw new FrequentFormatError(`not a valid frequent items sketch: ${CHECK_ERRORS[code] ?? 'memory exhausted'}`)
    }
    return h
  }

  /** Chronon's clone: through the bytes (toByteArray + getInstance). */
  cloneViaBytes (h: number, flavour: FrequentFlavour): number {
    return this.deserialize(this.serialize(h), this.type(h), flavour)
  }

  #item (h: number, type: ItemType, slot: number): Item {
    const keys = this.#x.fi_keys_ptr(h)
    if (type === 'double') return this.#w.f64[(keys >>> 3) + slot]!
    const u32 = this.#w.u32
    const lo = u32[(keys >>> 2) + slot * 2]!
    if (type === 'long') {
      const hi = u32[(keys >>> 2) + slot * 2 + 1]! | 0
      if (hi >= -0x200000 && hi < 0x200000) return hi * 4294967296 + lo
      return (BigInt(hi) << 32n) | BigInt(lo)
    }
    const block = lo
    const n = u32[block >>> 2]!
    const u16 = this.#w.u16
    const start = (block + 4) >>> 1
    let s = ''
    for (let i = 0; i < n; i += 8192) {
      s += String.fromCharCode.apply(null, u16.subarray(start + i, start + Math.min(n, i + 8192)) as unknown as number[])
    }
    return s
  }

  /**
   * getFrequentItems(errorType): rows whose upper (NO_FALSE_NEGATIVES) or lower (NO_FALSE_POSITIVES) bound reaches
   * the maximum error, sorted by estimate descending; ties keep the sketch's iteration order (Java's sort is stable).
   */
  rows (h: number, errorType: ErrorType): FrequentRow[] {
    const active = this.#x.fi_num_active(h)
    if (active === 0) return []
    const type = this.type(h)
    const p = this.#scratch.get(active * 4)
    const n = this.#x.fi_iteration_order(h, p)
    const offset = this.#x.fi_offset(h)
    const order = this.#w.u32.slice(p >>> 2, (p >>> 2) + n)
    const nfp = errorType === 'NO_FALSE_POSITIVES'
    const rows: FrequentRow[] = []
    for (const slot of order) {
      const lb = this.#x.fi_value(h, slot)
      const ub = lb + offset
      if (nfp ? lb >= offset : ub >= offset) rows.push({ item: this.#item(h, type, slot), estimate: ub, upperBound: ub, lowerBound: lb })
    }
    rows.sort((a, b) => b.estimate - a.estimate)
    return rows
  }

  numActive (h: number): number { return this.#x.fi_num_active(h) }
  streamWeight (h: number): number { return this.#x.fi_stream_weight(h) }
  maximumError (h: number): number { return this.#x.fi_offset(h) }
  lgMaxMapSize (h: number): number { return this.#x.fi_lg_max(h) }
  lgCurMapSize (h: number): number { return this.#x.fi_lg_cur(h) }
  sketchBytes (h: number): number { return this.#x.fi_memory_bytes(h) }
  get liveBytes (): number { return this.#x.fi_heap_live_bytes() }
  get memoryBytes (): number { return this.#w.memoryBytes }
}

let kernel: FrequentKernel | undefined
/** This thread's frequent-items kernel (instantiated on first use). */
export function frequentKernel (): FrequentKernel {
  kernel ??= new FrequentKernel()
  return kernel
}

// ---- owning wrapper ---------------------------------------------------------------------------------------------

const registry = new FinalizationRegistry<number>(h => { kernel?.free(h) })

/** A frequent items sketch owned by JS: call dispose() when done; a forgotten one is freed when collected. */
export class FrequentItemsSketch {
  readonly type: ItemType
  readonly flavour: FrequentFlavour
  #h: number

  constructor (h: number, type: ItemType, flavour: FrequentFlavour) {
    this.#h = h
    this.type = type
    this.flavour = flavour
    registry.register(this, h, this)
  }

  static create (type: ItemType, maxMapSize: number, flavour: FrequentFlavour = 'zipline'): FrequentItemsSketch {
    return new FrequentItemsSketch(frequentKernel().create(type, maxMapSize, flavour), type, flavour)
  }

  static fromBytes (bytes: Uint8Array, type: ItemType, flavour: FrequentFlavour = 'zipline'): FrequentItemsSketch {
    return new FrequentItemsSketch(frequentKernel().deserialize(bytes, type, flavour), type, flavour)
  }

  get handle (): number {
    if (this.#h === 0) throw new Error('frequent items sketch used after dispose()')
    return this.#h
  }

  update (item: Item, count = 1): void { frequentKernel().update(this.handle, this.type, item, count) }
  merge (other: FrequentItemsSketch): void { frequentKernel().merge(this.handle, other.handle) }
  /** Exact copy, same layout. */
  copy (): FrequentItemsSketch { return new FrequentItemsSketch(frequentKernel().copy(this.handle), this.type, this.flavour) }
  /** Chronon's clone (toByteArray + getInstance). */
  cloneViaBytes (): FrequentItemsSketch {
    return new FrequentItemsSketch(frequentKernel().cloneViaBytes(this.handle, this.flavour), this.type, this.flavour)
  }

  toBytes (): Uint8Array { return frequentKernel().serialize(this.handle) }
  rows (errorType: ErrorType): FrequentRow[] { return frequentKernel().rows(this.handle, errorType) }
  get numActive (): number { return frequentKernel().numActive(this.handle) }
  get streamWeight (): number { return frequentKernel().streamWeight(this.handle) }
  get maximumError (): number { return frequentKernel().maximumError(this.handle) }
  get disposed (): boolean { return this.#h === 0 }

  dispose (): void {
    if (this.#h === 0) return
    registry.unregister(this)
    frequentKernel().free(this.#h)
    this.#h = 0
  }
}

// ---- sizing and finalize rules of Chronon -------------------------------------------------------------------------

/** Smallest power of two ≥ n, as Chronon computes it (n ≤ 1 → 2). */
function nextPowerOfTwo (n: number): number {
  if (n <= 1) return 2
  let p = 1
  while (p < n) p *= 2
  return p
}

/** airbnb FrequentItems.sketchSize: next power of two ≥ k (k ≤ 1 → 2). */
export function airbnbSketchSize (k: number): number { return nextPowerOfTwo(k) }

/**
 * Zipline FrequentItems.sketchSize: next power of two ≥ ceil(k / 0.375), so that k items survive a purge (which drops
 * at least half of a map loaded to 0.75). k = 8 → 32.
 */
export function ziplineSketchSize (k: number): number { return nextPowerOfTwo(Math.ceil(k / (0.75 * 0.5))) }

/**
 * Chronon's FrequentItems.finalize: k ≤ 0 → empty; else the rows of getFrequentItems(errorType) fed to a max-heap
 * bounded to k, which keeps exactly the first k rows (rows come sorted by estimate, descending); keys stringified
 * with String.valueOf.
 */
export function chrononTopK (sketch: FrequentItemsSketch, k: number, errorType: ErrorType): Map<string, number> {
  const out = new Map<string, number>()
  if (k <= 0) return out
  const rows = sketch.rows(errorType)
  for (let i = 0; i < rows.length && i < k; i++) out.set(javaValueOf(sketch.type, rows[i]!.item), rows[i]!.estimate)
  return out
}

// ---- the aggregators ----------------------------------------------------------------------------------------------

/**
 * Chronon's FrequentItems aggregator: APPROX_FREQUENT_K (NO_FALSE_NEGATIVES) and APPROX_HEAVY_HITTERS_K
 * (NO_FALSE_POSITIVES) in Zipline. IR = FrequentItemsSketch; normalized IR = 1 type byte (0 String, 1 Long,
 * 2 Double) + the sketch's DataSketches bytes; final = map<string,long> of up to k items.
 */
export class FrequentItems implements SimpleAggregator<Item, FrequentItemsSketch, Map<string, number>> {
  readonly irType: DataType = T.binary
  readonly outputType: DataType = T.map(T.string, T.long)
  readonly timed = false
  readonly deletable = false
  readonly k: number
  readonly itemType: ItemType
  readonly errorType: ErrorType
  readonly flavour: FrequentFlavour
  readonly sketchSize: number

  constructor (k: number, itemType: ItemType, errorType: ErrorType, flavour: FrequentFlavour) {
    this.k = k
    this.itemType = itemType
    this.errorType = errorType
    this.flavour = flavour
    this.sketchSize = flavour === 'zipline' ? ziplineSketchSize(k) : airbnbSketchSize(k)
  }

  prepare (input: Item): FrequentItemsSketch {
    const s = FrequentItemsSketch.create(this.itemType, this.sketchSize, this.flavour)
    s.update(input)
    return s
  }

  update (ir: FrequentItemsSketch, input: Item): FrequentItemsSketch { ir.update(input); return ir }
  merge (a: FrequentItemsSketch, b: FrequentItemsSketch): FrequentItemsSketch { a.merge(b); return a }
  finalize (ir: FrequentItemsSketch): Map<string, number> { return chrononTopK(ir, this.k, this.errorType) }
  clone (ir: FrequentItemsSketch): FrequentItemsSketch { return ir.cloneViaBytes() }

  /*
   * Normalized bytes: byte 0 = item type (0 String, 1 Long, 2 Double: Chronon's FrequentItemType ids), then the
   * ItemsSketch bytes (see assembly/frequent.ts for their layout).
   */
  normalize (ir: FrequentItemsSketch): Uint8Array {
    const b = ir.toBytes()
    const out = new Uint8Array(b.length + 1)
    out[0] = TYPE_CODE[ir.type]
    out.set(b, 1)
    return out
  }

  denormalize (normalized: unknown): FrequentItemsSketch {
    const bytes = normalized as Uint8Array
    if (bytes.length < 1) throw new FrequentFormatError('empty frequent items IR')
    // Chronon reads the sketch with the serializer of its configured type; the type byte is informational
    return FrequentItemsSketch.fromBytes(bytes.subarray(1), this.itemType, this.flavour)
  }

  dispose (ir: FrequentItemsSketch): void { ir.dispose() }
}

/** Item type of a frequent-items operation for a Chronon input type (int/short/long → Long, float/double → Double). */
export function frequentItemType (inputKind: string): ItemType | undefined {
  switch (inputKind) {
    case 'int': case 'short': case 'long': return 'long'
    case 'float': case 'double': return 'double'
    case 'string': return 'string'
    default: return undefined
  }
}
