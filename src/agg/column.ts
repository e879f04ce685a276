// Column aggregators: one per tile part. They own Chronon's null rules and the shape of the input (§2.1):
//   Direct    — one IR; null input ignored; null IR until the first value; merge clones a right IR into a null left.
//   Vector    — a list input of a simple operation is exploded, null elements skipped.
//   Map       — a map<string, X> input of a simple operation gets one IR per map key.
//   Bucketed  — one IR per value of a string bucket column (null bucket ignored).
// A row is the positional array of the evaluated input columns; `ts` is its event time in ms.

import type { DataType } from '../api/data-type.ts'
import { T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'

export interface ColumnAggregator {
  readonly irType: DataType
  readonly outputType: DataType
  readonly deletable: boolean
  update (ir: unknown, row: readonly unknown[], ts: number): unknown
  delete (ir: unknown, row: readonly unknown[], ts: number): unknown
  /** May mutate `a`; never mutates `b`. */
  merge (a: unknown, b: unknown): unknown
  finalize (ir: unknown): unknown
  clone (ir: unknown): unknown
  normalize (ir: unknown): unknown
  denormalize (v: unknown): unknown
}

export type Convert = (v: unknown) => unknown

/** Chronon's DirectColumnAggregator.numberSanityCheck: NaN and ±∞ outputs become null. */
export function sanitizeNumber (v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v
}

/** Feeds one already-typed, non-null input into an IR slot, the way every shape below needs it. */
interface Feeder {
  feed (ir: unknown, raw: unknown, ts: number): unknown
  unfeed (ir: unknown, raw: unknown, ts: number): unknown
}

function scalarFeeder (agg: SimpleAggregator, convert: Convert): Feeder {
  return {
    feed (ir, raw, ts) {
      const x = convert(raw)
      return ir === null ? agg.prepare(x, ts) : agg.update(ir, x, ts)
    },
    unfeed (ir, raw, ts) {
      const x = convert(raw)
      // Chronon's inversePrepare: prepare then delete twice gives the "negative" of x.
      const base = ir === null ? agg.delete!(agg.prepare(x, ts), x, ts) : ir
      return agg.delete!(base, x, ts)
    }
  }
}

function vectorFeeder (agg: SimpleAggregator, convert: Convert): Feeder {
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

export class DirectColumn implements ColumnAggregator {
  readonly irType: DataType
  readonly outputType: DataType
  readonly deletable: boolean
  readonly #agg: SimpleAggregator
  readonly #input: number
  readonly #feeder: Feeder

  constructor (agg: SimpleAggregator, inputIndex: number, convert: Convert, vector: boolean) {
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
}

/** In-memory IR of the keyed shapes: a Map from key to the per-key IR (insertion-ordered, like a LinkedHashMap). */
type Keyed = Map<string, unknown>

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
    if (a === null) return this.clone(b)
    const left = a as Keyed
    for (const [k, v] of b as Keyed) {
      const cur = left.get(k)
      left.set(k, cur === undefined || cur === null ? this.agg.clone(v) : this.agg.merge(cur, v))
    }
    return left
  }

  /** Bucketed/map finals are not sanitized in Chronon (only direct columns are). */
  finalize (ir: unknown): unknown {
    if (ir === null) return null
    const out = new Map<string, unknown>()
    for (const [k, v] of ir as Keyed) out.set(k, this.agg.finalize(v))
    return out
  }

  clone (ir: unknown): unknown {
    if (ir === null) return null
    const out: Keyed = new Map()
    for (const [k, v] of ir as Keyed) out.set(k, this.agg.clone(v))
    return out
  }

  normalize (ir: unknown): unknown {
    if (ir === null) return null
    const out = new Map<string, unknown>()
    for (const [k, v] of ir as Keyed) out.set(k, this.agg.normalize(v))
    return out
  }

  denormalize (v: unknown): unknown {
    if (v === null || v === undefined) return null
    const out: Keyed = new Map()
    const entries = v instanceof Map ? [...v] : Object.entries(v as Record<string, unknown>)
    for (const [k, x] of entries) out.set(String(k), this.agg.denormalize(x))
    return out
  }
}

export class BucketedColumn extends KeyedColumn {
  readonly #input: number
  readonly #bucket: number
  readonly #feeder: Feeder

  constructor (agg: SimpleAggregator, inputIndex: number, bucketIndex: number, convert: Convert, vector: boolean) {
    super(agg)
    this.#input = inputIndex
    this.#bucket = bucketIndex
    this.#feeder = vector ? vectorFeeder(agg, convert) : scalarFeeder(agg, convert)
  }

  update (ir: unknown, row: readonly unknown[], ts: number): unknown {
    const v = row[this.#input]
    const b = row[this.#bucket]
    if (v === null || v === undefined || b === null || b === undefined) return ir
    const map = (ir ?? new Map()) as Keyed
    const key = String(b)
    const next = this.#feeder.feed(map.get(key) ?? null, v, ts)
    if (next !== null) map.set(key, next)
    return map.size === 0 ? ir : map
  }

  delete (ir: unknown, row: readonly unknown[], ts: number): unknown {
    if (!this.deletable) return ir
    const v = row[this.#input]
    const b = row[this.#bucket]
    if (v === null || v === undefined || b === null || b === undefined) return ir
    const map = (ir ?? new Map()) as Keyed
    const key = String(b)
    map.set(key, this.#feeder.unfeed(map.get(key) ?? null, v, ts))
    return map
  }
}

/** map<string, X> input: an independent IR per map key; null map values are skipped. */
export class MapColumn extends KeyedColumn {
  readonly #input: number
  readonly #feeder: Feeder

  constructor (agg: SimpleAggregator, inputIndex: number, convert: Convert) {
    super(agg)
    this.#input = inputIndex
    this.#feeder = scalarFeeder(agg, convert)
  }

  update (ir: unknown, row: readonly unknown[], ts: number): unknown {
    const m = row[this.#input]
    if (m === null || m === undefined) return ir
    let map = ir as Keyed | null
    for (const [k, v] of mapEntries(m)) {
      if (v === null || v === undefined) continue
      map ??= new Map()
      map.set(k, this.#feeder.feed(map.get(k) ?? null, v, ts))
    }
    return map
  }

  delete (ir: unknown, row: readonly unknown[], ts: number): unknown {
    if (!this.deletable) return ir
    const m = row[this.#input]
    if (m === null || m === undefined) return ir
    let map = ir as Keyed | null
    for (const [k, v] of mapEntries(m)) {
      if (v === null || v === undefined) continue
      map ??= new Map()
      map.set(k, this.#feeder.unfeed(map.get(k) ?? null, v, ts))
    }
    return map
  }
}

function mapEntries (m: unknown): Iterable<[string, unknown]> {
  if (m instanceof Map) return m as Map<string, unknown>
  return Object.entries(m as Record<string, unknown>)
}
