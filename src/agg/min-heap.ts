// Chronon's bounded "non-strict min-heap" (MinHeap.scala, §2.4 of chronon-semantics.md), the container behind
// TOP_K, BOTTOM_K, FIRST_K, LAST_K and HISTOGRAM's top-k cut-off. It keeps the k smallest elements under `ord`:
//
//   size < k−1   append, unsorted
//   size = k−1   append, then stable-sort descending under ord — index 0 becomes the ord-largest (the root)
//   size = k     elem ≤ root → replace the root and sift it down (children 2i+1, 2i+2; the larger child rises)
//                otherwise drop
//   merge(a, b)  |a| + |b| < k → concatenate; else insert b's elements one by one into a
//   sort         stable ascending under ord (the final order)
//
// The array layout is load-bearing: ties at equal keys keep whichever element the sift leaves in place, so the same
// inputs in the same order give the same survivors as on the JVM.

import { compareDouble, compareLong, compareString } from './aggregator.ts'

/**
 * A Scala Ordering as MinHeap uses it. `compare` drives the sorts; `lt`/`lteq`/`gteq` drive the heap decisions.
 * They differ only for Scala 2.12's Double and Float orderings (what Chronon's Flink job runs with), whose
 * comparison operators are IEEE (`NaN <= x` is false, −0.0 == 0.0) while `compare` is Double.compare.
 */
export interface Ordering<T> {
  compare (a: T, b: T): number
  lt (a: T, b: T): boolean
  lteq (a: T, b: T): boolean
  gteq (a: T, b: T): boolean
}

export function orderingFromCompare<T> (compare: (a: T, b: T) => number): Ordering<T> {
  return {
    compare,
    lt: (a, b) => compare(a, b) < 0,
    lteq: (a, b) => compare(a, b) <= 0,
    gteq: (a, b) => compare(a, b) >= 0
  }
}

/** Scala 2.12 Ordering.Double / Ordering.Float. */
export const IEEE_ORDERING: Ordering<number> = {
  compare: compareDouble,
  lt: (a, b) => a < b,
  lteq: (a, b) => a <= b,
  gteq: (a, b) => a >= b
}

export const LONG_ORDERING: Ordering<number | bigint> = orderingFromCompare(compareLong)
export const STRING_ORDERING: Ordering<string> = orderingFromCompare(compareString)

/** Ordering.reverse: every method with its arguments swapped (2.12's DoubleOrdering.reverse keeps IEEE ops too). */
export function reverse<T> (o: Ordering<T>): Ordering<T> {
  return {
    compare: (a, b) => o.compare(b, a),
    lt: (a, b) => o.lt(b, a),
    lteq: (a, b) => o.lteq(b, a),
    gteq: (a, b) => o.gteq(b, a)
  }
}

export class MinHeap<T> {
  readonly maxSize: number
  readonly #ord: Ordering<T>
  readonly #descending: (a: T, b: T) => number
  readonly #ascending: (a: T, b: T) => number

  constructor (maxSize: number, ord: Ordering<T>) {
    this.maxSize = maxSize
    this.#ord = ord
    this.#ascending = (a, b) => ord.compare(a, b)
    this.#descending = (a, b) => ord.compare(b, a)
  }

  /** Mutates and returns `arr`. */
  insert (arr: T[], elem: T): T[] {
    const k = this.maxSize
    if (arr.length < k - 1) {
      arr.push(elem)
    } else if (arr.length === k - 1) {
      arr.push(elem)
      arr.sort(this.#descending)
    } else if (arr.length === k) {
      if (this.#ord.lteq(elem, arr[0]!)) {
        arr[0] = elem
        this.#siftDownRoot(arr)
      }
    }
    return arr
  }

  /** Mutates `a`, leaves `b` intact. */
  merge (a: T[], b: readonly T[]): T[] {
    if (a.length + b.length < this.maxSize) {
      for (let i = 0; i < b.length; i++) a.push(b[i]!)
    } else {
      for (let i = 0; i < b.length; i++) this.insert(a, b[i]!)
    }
    return a
  }

  /** Sorts in place, ascending under the ordering (JS and Java sorts are both stable). */
  sort (arr: T[]): T[] {
    return arr.sort(this.#ascending)
  }

  #siftDownRoot (arr: T[]): void {
    const ord = this.#ord
    const n = arr.length
    let parent = 0
    let left = 1
    while (left < n) {
      let candidate = left
      let candidateVal = arr[left]!
      const right = left + 1
      if (right < n && ord.lt(candidateVal, arr[right]!)) {
        candidate = right
        candidateVal = arr[right]!
      }
      const parentVal = arr[parent]!
      if (ord.gteq(parentVal, candidateVal)) return
      arr[parent] = candidateVal
      arr[candidate] = parentVal
      parent = candidate
      left = (parent << 1) + 1
    }
  }
}
