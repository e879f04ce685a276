// HISTOGRAM (Chronon Histogram): counts per string value, IR map<string, int> — a java.util.HashMap on the JVM,
// reproduced here with Java's iteration order because the order is observable twice:
//   * it is the entry order of the encoded map in a tile, and
//   * finalize with k > 0 keeps, in iteration order, the first k entries whose count reaches the k-th largest
//     count — so which of several tied keys survive depends on it.
// A count that reaches 0 (deletes, or merging negative counts) removes its key.
//
// Every step copies maps the way Chronon does (clone = new HashMap + putAll, finalize = new HashMap + puts, tile
// encode = Row.to's new HashMap(n), tile decode = Avro's HashMap(n) of Utf8 keys then Row.from's new HashMap) since
// each copy can reorder a HashMap.

import { T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { STRING_KEYS } from './java-hash.ts'
import { JavaHashMap, jvmDecodedMap } from './java-hash-map.ts'
import { LONG_ORDERING, MinHeap, reverse } from './min-heap.ts'

export type Counts = JavaHashMap<string | null, number>

export class Histogram implements SimpleAggregator<string, Counts, Map<string | null, number>> {
  readonly timed = false
  readonly deletable = true
  readonly irType = T.map(T.string, T.int)
  readonly outputType = T.map(T.string, T.int)
  readonly #k: number

  constructor (k: number) {
    this.#k = k
  }

  prepare (input: string): Counts { return new JavaHashMap<string | null, number>(STRING_KEYS).set(input, 1) }
  update (ir: Counts, input: string): Counts { return increment(ir, input, 1) }
  delete (ir: Counts, input: string): Counts { return increment(ir, input, -1) }

  merge (a: Counts, b: Counts): Counts {
    b.forEach((n, key) => { increment(a, key, n) })
    return a
  }

  finalize (ir: Counts): Map<string | null, number> {
    const k = this.#k
    if (k <= 0 || ir.size <= k) return new Map(ir.entries())
    const heap = new MinHeap<number>(k, reverse(LONG_ORDERING) as never)
    const counts: number[] = []
    ir.forEach(n => { heap.insert(counts, n) })
    const cutOff = heap.sort(counts)[k - 1]!
    const kept = new JavaHashMap<string | null, number>(STRING_KEYS)
    ir.forEach((n, key) => {
      if (kept.size < k && n >= cutOff) kept.set(key, n)
    })
    return new Map(kept.entries())
  }

  clone (ir: Counts): Counts { return new JavaHashMap<string | null, number>(STRING_KEYS).putAll(ir, ir.size) }

  /**
   * A JS Map in the order the Avro encoder writes it: Chronon's normalize keeps the IR map itself, then Row.to
   * copies it into a `new HashMap(size)` before encoding, and that copy's iteration order is the one written.
   */
  normalize (ir: Counts): unknown { return new Map(ir.copyPresizedByPuts().entries()) }

  denormalize (v: unknown): Counts {
    const entries = v instanceof Map ? [...(v as Map<string, unknown>)] : Object.entries(v as Record<string, unknown>)
    return jvmDecodedMap(entries, entries.length, Number)
  }
}

function increment (ir: Counts, key: string | null, by: number): Counts {
  const old = ir.get(key)
  const next = old === undefined ? by : (old + by) | 0 // a Java Integer
  if (next === 0) ir.delete(key)
  else ir.set(key, next)
  return ir
}
