// The aggregator contract, mirroring Chronon's SimpleAggregator / TimedAggregator (§2.1 of chronon-semantics.md).
//
// An IR ("intermediate representation") is the mergeable partial state of one aggregation over some events. Tiles
// store IRs in their *normalized* form (the Avro-encodable shape given by `irType`); in memory an aggregator may use
// any shape it likes and converts with normalize / denormalize.
//
// Null handling is not the aggregator's business: the column wrappers in `column.ts` skip null inputs, keep a null
// IR until the first value, and turn NaN/∞ finals into null, exactly as Chronon's ColumnAggregators do.

import type { DataType } from '../api/data-type.ts'

export interface SimpleAggregator<In = unknown, IR = unknown, Out = unknown> {
  /** Normalized IR type: the Avro shape of this IR inside a tile. */
  readonly irType: DataType
  readonly outputType: DataType
  /** Timed aggregators (FIRST, LAST, FIRST_K, LAST_K) take whole values (lists are not exploded) and use `ts`. */
  readonly timed: boolean
  readonly deletable: boolean
  prepare (input: In, ts: number): IR
  /** May mutate `ir`; returns the updated IR. */
  update (ir: IR, input: In, ts: number): IR
  /** May mutate `a`; must leave `b` intact. */
  merge (a: IR, b: IR): IR
  finalize (ir: IR): Out
  clone (ir: IR): IR
  normalize (ir: IR): unknown
  denormalize (normalized: unknown): IR
  /** Only when `deletable`. */
  delete? (ir: IR, input: In, ts: number): IR
  /**
   * Releases resources an IR holds outside the JS heap (WASM memory of sketches). The engine calls it when it drops
   * an IR (a tile's state is evicted, a temporary merge result is discarded); the IR must not be used afterwards.
   * Absent for aggregators whose IRs are plain JS values.
   */
  dispose? (ir: IR): void
}

/** What an aggregator factory gets to decide IR and output types and to parse its arguments. */
export interface AggregatorSpec {
  readonly inputType: DataType
  readonly argMap: Readonly<Record<string, string>>
  readonly flavour: 'airbnb' | 'zipline'
  /** For error messages: `aggregations[2]` etc. */
  readonly path: string
  readonly groupBy: string
}

/**
 * Java's Double.compare: −0.0 < 0.0 and NaN is larger than everything (and equal to itself). Chronon's MIN/MAX
 * and heap orderings on doubles follow it, so ties and signed zeros come out as on the JVM.
 */
export function compareDouble (a: number, b: number): number {
  if (a < b) return -1
  if (a > b) return 1
  if (a === b) {
    if (a !== 0) return 0
    const ia = Object.is(a, -0) ? -1 : 0
    const ib = Object.is(b, -0) ? -1 : 0
    return ia - ib
  }
  const na = Number.isNaN(a)
  const nb = Number.isNaN(b)
  return na === nb ? 0 : na ? 1 : -1
}

/** UTF-16 code-unit order, which is what Java's String.compareTo gives. */
export function compareString (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function compareLong (a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Natural ordering of a primitive Chronon type, the one MIN/MAX/TOP_K/BOTTOM_K use. */
export function orderingFor (t: DataType): ((a: any, b: any) => number) | undefined {
  switch (t.kind) {
    case 'float': case 'double': return compareDouble
    case 'byte': case 'short': case 'int': case 'long': return compareLong
    case 'string': return compareString
    default: return undefined
  }
}

export function requireIntArg (spec: AggregatorSpec, name: string, dflt?: number): number {
  const raw = spec.argMap[name]
  if (raw === undefined || raw === null || String(raw).trim() === '') {
    if (dflt !== undefined) return dflt
    throw new Error(`${name} needs to be specified in the argMap`)
  }
  const v = Number(String(raw).trim())
  if (!Number.isInteger(v)) throw new Error(`argMap.${name} must be an integer, got '${raw}'`)
  return v
}
