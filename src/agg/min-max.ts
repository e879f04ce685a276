// MIN and MAX (Chronon `Order`). The ordering is Scala 2.12's implicit Ordering, which is what Chronon's Flink
// job runs with: for Double and Float, `max`/`min` are java.lang.Math.max/min (a NaN wins, −0.0 < 0.0), which
// JS's Math.max/min reproduce exactly; for other types a tie keeps the value already in the IR.

import type { DataType } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { compareLong, compareString } from './aggregator.ts'

type Pick2<V> = (ir: V, input: V) => V

function picker (type: DataType, max: boolean): Pick2<any> {
  switch (type.kind) {
    case 'float': case 'double':
      return max ? Math.max : Math.min
    case 'string':
      return max
        ? (ir: string, x: string) => (compareString(ir, x) >= 0 ? ir : x)
        : (ir: string, x: string) => (compareString(ir, x) <= 0 ? ir : x)
    default:
      return max
        ? (ir: number, x: number) => (compareLong(ir, x) >= 0 ? ir : x)
        : (ir: number, x: number) => (compareLong(ir, x) <= 0 ? ir : x)
  }
}

export class MinMax<V> implements SimpleAggregator<V, V, V> {
  readonly timed = false
  readonly deletable = false
  readonly irType: DataType
  readonly outputType: DataType
  readonly #pick: Pick2<V>

  constructor (type: DataType, max: boolean) {
    this.irType = type
    this.outputType = type
    this.#pick = picker(type, max)
  }

  prepare (input: V): V { return input }
  update (ir: V, input: V): V { return this.#pick(ir, input) }
  merge (a: V, b: V): V { return this.#pick(a, b) }
  finalize (ir: V): V { return ir }
  clone (ir: V): V { return ir }
  normalize (ir: V): unknown { return ir }
  denormalize (v: unknown): V { return v as V }
}
