// UNIQUE_COUNT (Chronon UniqueCount): the exact set of values, a java.util.HashSet on the JVM, normalized to a
// list<T> in the set's iteration order. The set here reproduces that order (java-hash-map.ts), so a tile's list
// has the same elements in the same order as the JVM would write.
//
// Equality is Java's: Double/Float tell −0.0 from 0.0 and count all NaNs as one. Binary values are Java byte
// arrays, which compare by identity: Chronon never de-duplicates them, so UNIQUE_COUNT over a binary column counts
// every non-null value. We do the same on purpose — a JVM reading our tiles (or merging its batch IRs with them)
// counts list elements one by one, so de-duplicating by content here would make our fetches disagree with its.

import { type DataType, T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { DOUBLE_KEYS, FLOAT_KEYS, IDENTITY_KEYS, INT_KEYS, LONG_KEYS, STRING_KEYS, type KeyKind } from './java-hash.ts'
import { hashSetByAdds, type JavaHashSet, newHashSet } from './java-hash-map.ts'

/** The Java key semantics of a boxed value of this Chronon type; undefined when Chronon has no such set. */
export function javaKeyKind (t: DataType): KeyKind<any> | undefined {
  switch (t.kind) {
    case 'short': case 'int': return INT_KEYS
    case 'long': return LONG_KEYS
    case 'double': return DOUBLE_KEYS
    case 'float': return FLOAT_KEYS
    case 'string': return STRING_KEYS
    case 'binary': return IDENTITY_KEYS
    default: return undefined
  }
}

export class UniqueCount<V> implements SimpleAggregator<V, JavaHashSet<V>, number> {
  readonly timed = false
  readonly deletable = false
  readonly irType: DataType
  readonly outputType = T.long
  readonly #kind: KeyKind<V>

  constructor (type: DataType, kind: KeyKind<V>) {
    this.irType = T.list(type)
    this.#kind = kind
  }

  prepare (input: V): JavaHashSet<V> { return newHashSet(this.#kind).set(input, true) }
  update (ir: JavaHashSet<V>, input: V): JavaHashSet<V> { return ir.set(input, true) }

  merge (a: JavaHashSet<V>, b: JavaHashSet<V>): JavaHashSet<V> {
    b.forEach((_, x) => { a.set(x, true) })
    return a
  }

  finalize (ir: JavaHashSet<V>): number { return ir.size }
  clone (ir: JavaHashSet<V>): JavaHashSet<V> { return hashSetByAdds(this.#kind, ir.keysArray()) }
  normalize (ir: JavaHashSet<V>): unknown { return ir.keysArray() }
  denormalize (v: unknown): JavaHashSet<V> { return hashSetByAdds(this.#kind, v as V[]) }
}
