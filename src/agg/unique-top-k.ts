// UNIQUE_TOP_K (Zipline UniqueTopKAggregator / UniqueOrderByLimit): the k largest elements with distinct ids.
//
//   input            sort key            id (de-duplication)
//   int, long        the value           the value
//   string           the string          String.hashCode — two strings with one hash count as one element
//   struct           field `sort_key`    field `unique_id` (long); struct values are positional arrays here
//
// State: the kept elements (unsorted), the set of their ids, and a "watermark" key. While fewer than k are kept,
// every new id is added and the watermark tracks the smallest key; after that a new id enters only with a key
// strictly above the watermark. Once more than 2k are kept they are sorted descending (stably), cut to k, and
// the watermark becomes the k-th key. So for a repeated id the first occurrence wins, and among equal keys at the
// cut the earlier arrivals win. Normalized IR: list<T> of the kept elements as they lie; denormalize re-inserts
// them one by one (as Zipline's buildStateFromElems does). Finalize sorts and cuts a copy (Zipline mutates the IR).

import { type DataType, type StructType, T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { compareLong, compareString } from './aggregator.ts'
import { stringHashCode } from './java-hash.ts'

type Key = number | bigint | string

export interface UniqueTopKState<V> {
  elems: V[]
  ids: Set<unknown>
  watermark: Key | null
}

interface Accessors<V> {
  key (v: V): Key
  id (v: V): unknown
  compare (a: Key, b: Key): number
}

function longId (v: number | bigint): unknown {
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
}

/** Zipline's accepted inputs; throws with its message otherwise. */
export function uniqueTopKAccessors (t: DataType): Accessors<any> {
  switch (t.kind) {
    case 'int': case 'long':
      return { key: v => v, id: longId, compare: compareLong as (a: Key, b: Key) => number }
    case 'string':
      return { key: v => v, id: (v: string) => stringHashCode(v), compare: compareString as (a: Key, b: Key) => number }
    case 'struct': {
      const sortKey = structField(t, 'sort_key', 'string')
      const uniqueId = structField(t, 'unique_id', 'long')
      return {
        key: (v: unknown[]) => v[sortKey] as string,
        id: (v: unknown[]) => longId(v[uniqueId] as number | bigint),
        compare: compareString as (a: Key, b: Key) => number
      }
    }
    default:
      throw new Error(`Unsupported input type for UniqueTopK: ${t.kind}. Use one of Int, Long, String or Struct(... sort_key: String, unique_id: Long).`)
  }
}

function structField (t: StructType, name: string, kind: string): number {
  const i = t.fields.findIndex(f => f.name === name)
  if (i < 0 || t.fields[i]!.type.kind !== kind) throw new Error(`Struct must have '${name}' field of type ${kind === 'string' ? 'String' : 'Long'}`)
  return i
}

export class UniqueTopK<V> implements SimpleAggregator<V, UniqueTopKState<V>, V[]> {
  readonly timed = false
  readonly deletable = false
  readonly irType: DataType
  readonly outputType: DataType
  readonly #k: number
  readonly #maxSize: number
  readonly #acc: Accessors<V>
  readonly #descending: (a: V, b: V) => number

  constructor (type: DataType, k: number) {
    this.irType = T.list(type)
    this.outputType = T.list(type)
    this.#k = k
    this.#maxSize = 2 * k
    const acc = uniqueTopKAccessors(type)
    this.#acc = acc
    this.#descending = (a, b) => acc.compare(acc.key(b), acc.key(a))
  }

  prepare (input: V): UniqueTopKState<V> { return this.#insert({ elems: [], ids: new Set(), watermark: null }, input) }
  update (ir: UniqueTopKState<V>, input: V): UniqueTopKState<V> { return this.#insert(ir, input) }

  merge (a: UniqueTopKState<V>, b: UniqueTopKState<V>): UniqueTopKState<V> {
    for (let i = 0; i < b.elems.length; i++) this.#insert(a, b.elems[i]!)
    return a
  }

  finalize (ir: UniqueTopKState<V>): V[] {
    const copy = this.clone(ir)
    this.#sortAndPrune(copy)
    return copy.elems
  }

  clone (ir: UniqueTopKState<V>): UniqueTopKState<V> {
    return { elems: ir.elems.slice(), ids: new Set(ir.ids), watermark: ir.watermark }
  }

  normalize (ir: UniqueTopKState<V>): unknown { return ir.elems }

  denormalize (v: unknown): UniqueTopKState<V> {
    const state: UniqueTopKState<V> = { elems: [], ids: new Set(), watermark: null }
    for (const e of v as V[]) this.#insert(state, e)
    return state
  }

  #insert (s: UniqueTopKState<V>, elem: V): UniqueTopKState<V> {
    const acc = this.#acc
    const id = acc.id(elem)
    if (s.ids.has(id)) return s
    const key = acc.key(elem)
    if (s.elems.length < this.#k) {
      if (s.watermark === null || acc.compare(key, s.watermark) < 0) s.watermark = key
      s.elems.push(elem)
      s.ids.add(id)
    } else if (acc.compare(key, s.watermark!) > 0) {
      s.elems.push(elem)
      s.ids.add(id)
    }
    if (s.elems.length > this.#maxSize) this.#sortAndPrune(s)
    return s
  }

  #sortAndPrune (s: UniqueTopKState<V>): void {
    s.elems.sort(this.#descending)
    while (s.elems.length > this.#k) s.ids.delete(this.#acc.id(s.elems.pop()!))
    if (s.elems.length > 0) s.watermark = this.#acc.key(s.elems[s.elems.length - 1]!)
  }
}
