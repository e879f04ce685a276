// Column aggregators: one per tile part. They own Chronon's null rules and the shape of the input (§2.1):
//   Direct       one IR; null input ignored; null IR until the first value; merge clones a right IR into a null left;
//                finalized NaN/±∞ become null.
//   Vector       a list<scalar> input of a simple operation is exploded, null elements skipped (wraps the others).
//   Map          a map<string, X> input of a simple operation gets one IR per map key; null values skipped.
//   Bucketed     one IR per value of a string bucket column; a null bucket is ignored.
//   Element-wise (element-wise.ts) one IR per list position.
// A row is the positional array of the evaluated input columns; `ts` is its event time in ms.
//
// The keyed shapes hold a java.util.HashMap on the JVM; we use the same iteration order (java-hash-map.ts) and
// copy maps where Chronon copies them, so encoded bucket maps list their entries in the JVM's order. Null map keys
// (possible in map inputs) are kept like Java does, but cannot be encoded: Avro map keys are strings.

import type { DataType } from '../api/data-type.ts'
import { T } from '../api/data-type.ts'
import { TilekilnError } from '../errors.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { STRING_KEYS } from './java-hash.ts'
import { JavaHashMap, jvmDecodedMap } from './java-hash-map.ts'

export interface ColumnAggregator {
  readonly irType: DataType
  readonly outputType: DataType
  readonly deletable: boolean
  /**
   * Throws a TilekilnError('TK_INPUT') when `row` cannot be applied to `ir`. RowAggregator calls it for every
   * column before updating any, so a rejected event leaves no trace. Absent when every row is acceptable.
   */
  readonly check?: (ir: unknown, row: readonly unknown[]) => void
  update (ir: unknown, row: readonly unknown[], ts: number): unknown
  delete (ir: unknown, row: readonly unknown[], ts: number): unknown
  /** May mutate `a`; never mutates `b`. */
  merge (a: unknown, b: unknown): unknown
  finalize (ir: unknown): unknown
  clone (ir: unknown): unknown
  normalize (ir: unknown): unknown
  denormalize (v: unknown): unknown
  /**
   * Releases what the IR holds outside the JS heap (sketch IRs live in WASM memory). Call it once for every IR the
   * caller drops: a closed tile's state, a read-side merge result, a denormalized tile IR. A no-op for plain IRs.
   */
  dispose (ir: unknown): void
}

export type Convert = (v: unknown) => unknown

/** Chronon's DirectColumnAggregator.numberSanityCheck: NaN and ±∞ outputs become null. */
export function sanitizeNumber (v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v
}

/**
 * Feeds one raw input value into an IR slot (null = empty), the way Chronon's dispatchers do: a scalar is one
 * prepare/update; a vector is exploded; a delete on an empty slot starts from inversePrepare (prepare, then
 * delete twice: the "negative" of x). Returns null when nothing was fed (e.g. an empty list on an empty slot).
 */
export interface Feeder {
  feed (ir: unknown, raw: unknown, ts: number): unknown
  unfeed (ir: unknown, raw: unknown, ts: number): unknown
}

export function scalarFeeder (agg: SimpleAggregator, convert: Convert): Feeder {
  return {
    feed (ir, raw, ts) {
      const x = convert(raw)
      return ir === null ? agg.prepare(x, ts) : agg.update(ir, x, ts)
    },
    unfeed (ir, raw, ts) {
      const x = convert(raw)
      const base = ir === null ? agg.delete!(agg.prepare(x, ts), x, ts) : ir
      return agg.delete!(base, x, ts)
    }
  }
}

export function vectorFeeder (agg: SimpleAggregator, convert: Convert): Feeder {
  const one = scalarFeeder(agg, convert)
  return {
    feed (ir, raw, ts) {
      for (const e of raw as unknown[]) if (e !== null && e !== undefined) ir = one.feed(ir, e, ts)
      return ir
    },
    unfeed (ir, raw, ts) {
      for (const e of raw as unknown[]) if (e !== null && e !== undefined) ir = one.unfeed(ir, e, ts)
      return ir
    }
  }
}

/** A per-row validation of the input value alone (see ColumnAggregator.check). */
export type InputCheck = (ir: unknown, row: readonly unknown[]) => void

export class DirectColumn implements ColumnAggregator {
  readonly irType: DataType
  readonly outputType: DataType
  readonly deletable: boolean
  readonly check?: InputCheck
  readonly #agg: SimpleAggregator
  readonly #input: number
  readonly #feeder: Feeder

  constructor (agg: SimpleAggregator, inputIndex: number, convert: Convert, vector: boolean, check?: InputCheck) {
    if (check !== undefined) this.check = check
    this.#agg = agg
    this.#input = inputIndex
    this.#feeder = vector ? vectorFeeder(agg, convert) : scalarFeeder(agg, convert)
    this.irType = agg.irType
    this.outputType = agg.outputType
    this.deletable = agg.deletable
  }

  update (ir: unknown, row: readonly unknown[], ts: number): unknown {
    const v = row[this.#input]
    if (v === null || v === undefined) return ir
    return this.#feeder.feed(ir, v, ts)
  }

  delete (ir: unknown, row: readonly unknown[], ts: number): unknown {
    if (!this.deletable) return ir
    const v = row[this.#input]
    if (v === null || v === undefined) return ir
    return this.#feeder.unfeed(ir, v, ts)
  }

  merge (a: unknown, b: unknown): unknown {
    if (b === null) return a
    if (a === null) return this.#agg.clone(b)
    return this.#agg.merge(a, b)
  }

  finalize (ir: unknown): unknown { return ir === null ? null : sanitizeNumber(this.#agg.finalize(ir)) }
  clone (ir: unknown): unknown { return ir === null ? null : this.#agg.clone(ir) }
  normalize (ir: unknown): unknown { return ir === null ? null : this.#agg.normalize(ir) }
  denormalize (v: unknown): unknown { return v === null || v === undefined ? null : this.#agg.denormalize(v) }
  dispose (ir: unknown): void { if (ir !== null && ir !== undefined) this.#agg.dispose?.(ir) }
}

/** In-memory IR of the keyed shapes: Chronon's `HashMap[String, IR]`, in Java's iteration order. */
export type Keyed = JavaHashMap<string | null, unknown>

function newKeyed (): Keyed {
  return new JavaHashMap<string | null, unknown>(STRING_KEYS)
}

/** Chronon MapColumnAggregatorBase: what bucketed and map-input columns share. */
abstract class KeyedColumn implements ColumnAggregator {
  readonly irType: DataType
  readonly outputType: DataType
  readonly deletable: boolean
  protected readonly agg: SimpleAggregator

  constructor (agg: SimpleAggregator) {
    this.agg = agg
    this.irType = T.map(T.string, agg.irType)
    this.outputType = T.map(T.string, agg.outputType)
    this.deletable = agg.deletable
  }

  abstract update (ir: unknown, row: readonly unknown[], ts: number): unknown
  abstract delete (ir: unknown, row: readonly unknown[], ts: number): unknown

  merge (a: unknown, b: unknown): unknown {
    if (b === null) return a
    const right = b as Keyed
    if (a === null) return right.copyByPuts(v => (v === null ? null : this.agg.clone(v)))
    const left = a as Keyed
    right.forEach((r, key) => {
      if (r === null) return
      const l = left.get(key)
      left.set(key, l === undefined || l === null ? this.agg.clone(r) : this.agg.merge(l, r))
    })
    return left
  }

  /** Map-shaped finals are not sanitized in Chronon (only direct columns are). A JS Map in Java's order. */
  finalize (ir: unknown): unknown {
    if (ir === null) return null
    const out = new Map<string | null, unknown>()
    ;(ir as Keyed).forEach((v, k) => { out.set(k, this.agg.finalize(v)) })
    return out
  }

  clone (ir: unknown): unknown {
    return ir === null ? null : (ir as Keyed).copyByPuts(v => this.agg.clone(v))
  }

  /**
   * A JS Map in the order the Avro encoder writes the entries: Chronon's normalize copies the IR map into a
   * `new HashMap()` (a put per entry, values normalized), then Row.to copies that into a `new HashMap(size)` before
   * encoding. Both copies can reorder keys; the second one's iteration order is what is written.
   */
  normalize (ir: unknown): unknown {
    if (ir === null) return null
    const normalized = (ir as Keyed).copyByPuts((v, k) => {
      if (k === null) throw new TilekilnError('TK_INPUT', 'a map IR has a null key, which Avro cannot encode (map keys are strings)')
      return this.agg.normalize(v)
    })
    return new Map(normalized.copyPresizedByPuts().entries())
  }

  dispose (ir: unknown): void {
    const d = this.agg.dispose
    if (d === undefined || ir === null || ir === undefined) return
    ;(ir as Keyed).forEach(v => { if (v !== null) d.call(this.agg, v) })
  }

  /** As a JVM decodes the map (Avro's HashMap, then Row.from's copy), then Chronon's denormalize copy. */
  denormalize (v: unknown): unknown {
    if (v === null || v === undefined) return null
    const entries = v instanceof Map ? [...(v as Map<string, unknown>)] : Object.entries(v as Record<string, unknown>)
    return jvmDecodedMap(entries, entries.length, x => x).copyByPuts(x => this.agg.denormalize(x))
  }
}

/** Chronon BucketedColumnAggregator. */
export class BucketedColumn extends KeyedColumn {
  readonly check?: InputCheck
  readonly #input: number
  readonly #bucket: number
  readonly #feeder: Feeder

  constructor (agg: SimpleAggregator, inputIndex: number, bucketIndex: number, convert: Convert, vector: boolean, check?: InputCheck) {
    super(agg)
    if (check !== undefined) this.check = check
    this.#input = inputIndex
    this.#bucket = bucketIndex
    this.#feeder = vector ? vectorFeeder(agg, convert) : scalarFeeder(agg, convert)
  }

  update (ir: unknown, row: readonly unknown[], ts: number): unknown {
    const v = row[this.#input]
    const b = row[this.#bucket]
    if (v === null || v === undefined || b === null || b === undefined) return ir
    return this.#apply(ir, String(b), v, ts, false)
  }

  delete (ir: unknown, row: readonly unknown[], ts: number): unknown {
    if (!this.deletable) return ir
    const v = row[this.#input]
    const b = row[this.#bucket]
    if (v === null || v === undefined || b === null || b === undefined) return ir
    return this.#apply(ir, String(b), v, ts, true)
  }

  /** A bucket (or the whole map) only comes into being when the feed produced an IR. */
  #apply (ir: unknown, bucket: string, v: unknown, ts: number, remove: boolean): unknown {
    const map = ir as Keyed | null
    const current = map === null ? null : (map.get(bucket) ?? null)
    const next = remove ? this.#feeder.unfeed(current, v, ts) : this.#feeder.feed(current, v, ts)
    if (next === null) return ir
    const out = map ?? newKeyed()
    out.set(bucket, next)
    return out
  }
}

export interface MapColumnOptions {
  /**
   * A null key in an input map: 'keep' it as an entry of its own (Chronon's in-memory behaviour; such an IR cannot
   * be encoded into a tile), or 'reject' the event (check() throws TK_INPUT, so the engine dead-letters it).
   */
  readonly nullKeys: 'keep' | 'reject'
}

/** Chronon MapColumnAggregator: map<string, X> input, an independent IR per map key; null map values skipped. */
export class MapColumn extends KeyedColumn {
  readonly check?: InputCheck
  readonly #input: number
  readonly #feeder: Feeder

  constructor (agg: SimpleAggregator, inputIndex: number, convert: Convert, options: MapColumnOptions = { nullKeys: 'keep' }) {
    super(agg)
    this.#input = inputIndex
    this.#feeder = scalarFeeder(agg, convert)
    if (options.nullKeys === 'reject') {
      this.check = (_ir, row) => {
        const m = row[inputIndex]
        if (m instanceof Map && m.has(null)) throw new TilekilnError('TK_INPUT', 'an input map has a null key, which no tile can hold (Avro map keys are strings)')
      }
    }
  }

  update (ir: unknown, row: readonly unknown[], ts: number): unknown {
    return this.#apply(ir, row, ts, false)
  }

  /** Chronon applies map deletes whatever the operation; a non-deletable one would throw there, here it is a no-op. */
  delete (ir: unknown, row: readonly unknown[], ts: number): unknown {
    if (!this.deletable) return ir
    return this.#apply(ir, row, ts, true)
  }

  /** The IR map is created as soon as a non-null input map arrives, even one with no usable entries. */
  #apply (ir: unknown, row: readonly unknown[], ts: number, remove: boolean): unknown {
    const m = row[this.#input]
    if (m === null || m === undefined) return ir
    const map = (ir as Keyed | null) ?? newKeyed()
    for (const [k, v] of mapEntries(m)) {
      if (v === null || v === undefined) continue
      const current = map.get(k) ?? null
      map.set(k, remove ? this.#feeder.unfeed(current, v, ts) : this.#feeder.feed(current, v, ts))
    }
    return map
  }
}

function mapEntries (m: unknown): Iterable<[string | null, unknown]> {
  if (m instanceof Map) return m as Map<string | null, unknown>
  return Object.entries(m as Record<string, unknown>)
}
