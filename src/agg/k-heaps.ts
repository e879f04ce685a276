// TOP_K, BOTTOM_K (Chronon OrderByLimit) and FIRST_K, LAST_K (OrderByLimitTimed): a bounded MinHeap per IR.
//
//   TOP_K     IR list<T>, ord = natural reversed      final: k largest, descending
//   BOTTOM_K  IR list<T>, ord = natural               final: k smallest, ascending
//   FIRST_K   IR list<TimePair{epochMillis, payload}>, ord = ts ascending    final: payloads, oldest first
//   LAST_K    IR list<TimePair{epochMillis, payload}>, ord = ts descending   final: payloads, newest first
//
// The in-memory IR is the heap array itself and normalizes to itself (TimePairs are already positional
// [ts, payload] structs), so a tile encode costs no copy. Chronon's finalize sorts the IR in place; ours sorts a
// copy so that an IR stays usable after a read — the finalized value is the same.

import { type DataType, T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { timePairType, type TimePair } from './first-last.ts'
import { IEEE_ORDERING, LONG_ORDERING, MinHeap, type Ordering, STRING_ORDERING, orderingFromCompare, reverse } from './min-heap.ts'

/** The natural Scala ordering Chronon picks for a TOP_K/BOTTOM_K input type; undefined when it has none. */
export function naturalOrdering (t: DataType): Ordering<any> | undefined {
  switch (t.kind) {
    case 'float': case 'double': return IEEE_ORDERING
    case 'short': case 'int': case 'long': return LONG_ORDERING
    case 'string': return STRING_ORDERING
    default: return undefined
  }
}

export class OrderByLimit<V> implements SimpleAggregator<V, V[], V[]> {
  readonly timed = false
  readonly deletable = false
  readonly irType: DataType
  readonly outputType: DataType
  readonly #heap: MinHeap<V>

  /** `top`: TOP_K (largest first) rather than BOTTOM_K. */
  constructor (type: DataType, k: number, natural: Ordering<V>, top: boolean) {
    this.irType = T.list(type)
    this.outputType = T.list(type)
    this.#heap = new MinHeap(k, top ? reverse(natural) : natural)
  }

  prepare (input: V): V[] { return [input] }
  update (ir: V[], input: V): V[] { return this.#heap.insert(ir, input) }
  merge (a: V[], b: V[]): V[] { return this.#heap.merge(a, b) }
  finalize (ir: V[]): V[] { return this.#heap.sort(ir.slice()) }
  clone (ir: V[]): V[] { return ir.slice() }
  normalize (ir: V[]): unknown { return ir }
  denormalize (v: unknown): V[] { return v as V[] }
}

const BY_TS: Ordering<TimePair> = orderingFromCompare((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

export class OrderByLimitTimed implements SimpleAggregator<unknown, TimePair[], unknown[]> {
  readonly timed = true
  readonly deletable = false
  readonly irType: DataType
  readonly outputType: DataType
  readonly #heap: MinHeap<TimePair>

  /** `last`: LAST_K (newest first) rather than FIRST_K. */
  constructor (type: DataType, k: number, last: boolean) {
    this.irType = T.list(timePairType(type))
    this.outputType = T.list(type)
    this.#heap = new MinHeap(k, last ? reverse(BY_TS) : BY_TS)
  }

  prepare (input: unknown, ts: number): TimePair[] { return [[ts, input]] }
  update (ir: TimePair[], input: unknown, ts: number): TimePair[] { return this.#heap.insert(ir, [ts, input]) }
  merge (a: TimePair[], b: TimePair[]): TimePair[] { return this.#heap.merge(a, b) }

  finalize (ir: TimePair[]): unknown[] {
    const sorted = this.#heap.sort(ir.slice())
    const out = new Array<unknown>(sorted.length)
    for (let i = 0; i < sorted.length; i++) out[i] = sorted[i]![1]
    return out
  }

  /** Pairs are never mutated once made (the heap only moves them), so sharing them is safe. */
  clone (ir: TimePair[]): TimePair[] { return ir.slice() }
  normalize (ir: TimePair[]): unknown { return ir }

  denormalize (v: unknown): TimePair[] {
    const list = v as unknown[][]
    const out = new Array<TimePair>(list.length)
    for (let i = 0; i < list.length; i++) out[i] = [Number(list[i]![0]), list[i]![1]]
    return out
  }
}
