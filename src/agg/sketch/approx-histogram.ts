// APPROX_HISTOGRAM_K (airbnb Chronon, operation 18 there): an exact histogram while it has at most k distinct items,
// a frequent items sketch (NO_FALSE_POSITIVES, airbnb sizing nextPow2(k)) beyond.
//
// Chronon's IR is a Scala case class written with Java object serialization; we write and read the same bytes
// (java-serialization.ts), so a JVM fetcher reads our tiles and we read its. Results depend on orders that Chronon takes from
// java.util.HashMap (the exact map is converted into the sketch, or merged into one, by iterating it, and the
// iteration order decides which items a purge drops), so the exact map is a JavaCountMap that reproduces that order,
// including how Chronon's clone (new HashMap(map)) and a trip through Java serialization (readObject) rebuild it.

import { type DataType, T } from '../../api/data-type.ts'
import type { SimpleAggregator } from '../aggregator.ts'
import { airbnbSketchSize, chrononTopK, FrequentFormatError, FrequentItemsSketch } from './frequent.ts'
import { type Item, type ItemType, JavaCountMap, javaValueOf } from './java-compat.ts'
import { isJavaSerialization, JavaSerializationError, readChrononApproxHistogramIr, writeChrononApproxHistogramIr } from './java-serialization.ts'

/** Exactly one of hist / sketch is set. */
export class ApproxHistogramIr {
  hist: JavaCountMap | null
  sketch: FrequentItemsSketch | null
  constructor (hist: JavaCountMap | null, sketch: FrequentItemsSketch | null) {
    this.hist = hist
    this.sketch = sketch
  }

  get isApprox (): boolean { return this.sketch !== null }
}

const TYPE_CODE: Record<ItemType, number> = { string: 0, long: 1, double: 2 }
const TYPE_OF_CODE: ItemType[] = ['string', 'long', 'double']
const TAG_EXACT = 1
const TAG_SKETCH = 2

export class ApproxHistogram implements SimpleAggregator<Item, ApproxHistogramIr, Map<string, number>> {
  readonly irType: DataType = T.binary
  readonly outputType: DataType = T.map(T.string, T.long)
  readonly timed = false
  readonly deletable = false
  readonly k: number
  readonly itemType: ItemType
  readonly sketchSize: number

  constructor (k: number, itemType: ItemType) {
    this.k = k
    this.itemType = itemType
    this.sketchSize = airbnbSketchSize(k)
  }

  prepare (input: Item): ApproxHistogramIr {
    // as in Chronon, prepare does not check the size (k = 0 still starts exact)
    const hist = new JavaCountMap(this.itemType)
    hist.add(input, 1)
    return new ApproxHistogramIr(hist, null)
  }

  update (ir: ApproxHistogramIr, input: Item): ApproxHistogramIr {
    if (ir.hist !== null) {
      ir.hist.add(input, 1)
      this.#toSketchIfLarge(ir)
    } else {
      ir.sketch!.update(input)
    }
    return ir
  }

  #toSketchIfLarge (ir: ApproxHistogramIr): void {
    const hist = ir.hist!
    if (hist.size <= this.k) return
    const sketch = FrequentItemsSketch.create(this.itemType, this.sketchSize, 'airbnb')
    for (const [item, count] of hist.entries()) sketch.update(item, count)
    ir.hist = null
    ir.sketch = sketch
  }

  /** Mutates a (never b). */
  merge (a: ApproxHistogramIr, b: ApproxHistogramIr): ApproxHistogramIr {
    if (a.hist !== null && b.hist !== null) {
      const h = new JavaCountMap(this.itemType)
      for (const [item, n] of a.hist.entries()) h.add(item, n)
      for (const [item, n] of b.hist.entries()) h.add(item, n)
      a.hist = h
      this.#toSketchIfLarge(a)
    } else if (a.sketch !== null && b.sketch !== null) {
      a.sketch.merge(b.sketch)
    } else if (a.hist !== null) {
      // Chronon updates b's sketch in place with a's counts and returns it; we do that on an exact copy of b's
      // sketch (same layout, so the same purges) to leave b intact
      const s = b.sketch!.copy()
      for (const [item, n] of a.hist.entries()) s.update(item, n)
      a.hist = null
      a.sketch = s
    } else {
      for (const [item, n] of b.hist!.entries()) a.sketch!.update(item, n)
    }
    return a
  }

  finalize (ir: ApproxHistogramIr): Map<string, number> {
    if (ir.sketch !== null) return chrononTopK(ir.sketch, this.k, 'NO_FALSE_POSITIVES')
    const out = new Map<string, number>()
    for (const [item, n] of ir.hist!.entries()) out.set(javaValueOf(this.itemType, item), n)
    return out
  }

  /** Chronon's clone: new HashMap(hist), or the sketch through its bytes. */
  clone (ir: ApproxHistogramIr): ApproxHistogramIr {
    if (ir.hist !== null) return new ApproxHistogramIr(JavaCountMap.copyOf(ir.hist), null)
    return new ApproxHistogramIr(null, ir.sketch!.cloneViaBytes())
  }

  /**
   * Chronon's normalized IR: ObjectOutputStream of ApproxHistogramIrSerializable(isApprox, sketch = item type id ‖
   * ItemsSketch bytes, histogram = the HashMap as it is), byte for byte what the JVM writes (java-serialization.ts).
   */
  normalize (ir: ApproxHistogramIr): Uint8Array {
    if (ir.sketch !== null) {
      const b = ir.sketch.toBytes()
      const sketch = new Uint8Array(b.length + 1)
      sketch[0] = TYPE_CODE[this.itemType]
      sketch.set(b, 1)
      return writeChrononApproxHistogramIr({ isApprox: true, hist: null, sketch }, this.itemType)
    }
    const h = ir.hist!
    return writeChrononApproxHistogramIr({ isApprox: false, hist: { capacity: h.capacity, threshold: h.threshold, entries: h.entries() }, sketch: null }, this.itemType)
  }

  /**
   * Chronon's IR as ObjectInputStream reads it: the HashMap rebuilt from its entries in stream order (readObject),
   * the sketch with ItemsSketch.getInstance. Also reads tilekiln's earlier encoding (below) of stores written before.
   */
  denormalize (normalized: unknown): ApproxHistogramIr {
    const b = normalized as Uint8Array
    if (!isJavaSerialization(b)) return this.#denormalizeLegacy(b)
    let ir
    try {
      ir = readChrononApproxHistogramIr(b, this.itemType)
    } catch (e) {
      if (e instanceof JavaSerializationError) throw new FrequentFormatError(e.message, { cause: e })
      throw e
    }
    if (ir.sketch !== null) {
      if (TYPE_OF_CODE[ir.sketch[0]!] !== this.itemType) {
        throw new FrequentFormatError(`APPROX_HISTOGRAM_K IR holds ${TYPE_OF_CODE[ir.sketch[0]!] ?? 'unknown'} items, expected ${this.itemType}`)
      }
      return new ApproxHistogramIr(null, FrequentItemsSketch.fromBytes(ir.sketch.subarray(1), this.itemType, 'airbnb'))
    }
    return new ApproxHistogramIr(JavaCountMap.deserialized(this.itemType, ir.hist!.entries), null)
  }

  /*
   * tilekiln's earlier encoding of this IR (read only), little endian:
   *
   *   byte 0   1 = exact histogram, 2 = sketch
   *   byte 1   item type: 0 String, 1 Long, 2 Double
   *   exact:   u32 N, then N entries in java.util.HashMap iteration order, each:
   *              item   String: u32 number of UTF-16 code units, then the code units (u16 each: any JS string,
   *                             lone surrogates included, round-trips)
   *                     Long: i64; Double: f64
   *              count  i64
   *   sketch:  the DataSketches ItemsSketch bytes (see assembly/frequent.ts)
   *
   * Decoding rebuilds the map the way ObjectInputStream rebuilds a HashMap (capacity from the size, entries inserted
   * in the stored order) and the sketch with ItemsSketch.getInstance, so a round trip behaves as Chronon's.
   */
  normalizeLegacy (ir: ApproxHistogramIr): Uint8Array {
    const type = TYPE_CODE[this.itemType]
    if (ir.sketch !== null) {
      const b = ir.sketch.toBytes()
      const out = new Uint8Array(b.length + 2)
      out[0] = TAG_SKETCH
      out[1] = type
      out.set(b, 2)
      return out
    }
    const entries = ir.hist!.entries()
    let size = 6
    for (const [item] of entries) size += 8 + (this.itemType === 'string' ? 4 + (item as string).length * 2 : 8)
    const out = new Uint8Array(size)
    const dv = new DataView(out.buffer)
    out[0] = TAG_EXACT
    out[1] = type
    dv.setUint32(2, entries.length, true)
    let o = 6
    for (const [item, n] of entries) {
      switch (this.itemType) {
        case 'string': {
          const s = item as string
          dv.setUint32(o, s.length, true); o += 4
          for (let i = 0; i < s.length; i++) { dv.setUint16(o, s.charCodeAt(i), true); o += 2 }
          break
        }
        case 'long': dv.setBigInt64(o, BigInt(item as number | bigint), true); o += 8; break
        case 'double': dv.setFloat64(o, item as number, true); o += 8; break
      }
      dv.setBigInt64(o, BigInt(n), true); o += 8
    }
    return out
  }

  #denormalizeLegacy (b: Uint8Array): ApproxHistogramIr {
    if (b.length < 2 || (b[0] !== TAG_EXACT && b[0] !== TAG_SKETCH)) throw new FrequentFormatError('not an APPROX_HISTOGRAM_K IR')
    if (TYPE_OF_CODE[b[1]!] !== this.itemType) {
      throw new FrequentFormatError(`APPROX_HISTOGRAM_K IR holds ${TYPE_OF_CODE[b[1]!] ?? 'unknown'} items, expected ${this.itemType}`)
    }
    if (b[0] === TAG_SKETCH) return new ApproxHistogramIr(null, FrequentItemsSketch.fromBytes(b.subarray(2), this.itemType, 'airbnb'))
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    const n = dv.getUint32(2, true)
    const entries: Array<[Item, number]> = []
    let o = 6
    try {
      for (let e = 0; e < n; e++) {
        let item: Item
        switch (this.itemType) {
          case 'string': {
            const len = dv.getUint32(o, true); o += 4
            const codes = new Array<number>(len)
            for (let i = 0; i < len; i++) { codes[i] = dv.getUint16(o, true); o += 2 }
            let s = ''
            for (let i = 0; i < len; i += 8192) s += String.fromCharCode(...codes.slice(i, i + 8192))
            item = s
            break
          }
          case 'long': {
            const v = dv.getBigInt64(o, true); o += 8
            item = v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v
            break
          }
          case 'double': item = dv.getFloat64(o, true); o += 8; break
        }
        entries.push([item, Number(dv.getBigInt64(o, true))]); o += 8
      }
    } catch (e) {
      throw new FrequentFormatError('truncated APPROX_HISTOGRAM_K IR', { cause: e })
    }
    return new ApproxHistogramIr(JavaCountMap.deserialized(this.itemType, entries), null)
  }

  dispose (ir: ApproxHistogramIr): void {
    ir.sketch?.dispose()
    ir.sketch = null
    ir.hist = null
  }
}
