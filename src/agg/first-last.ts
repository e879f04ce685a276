// FIRST and LAST (Chronon TimedAggregators.scala). IR = TimePair [epochMillis, payload].
// FIRST replaces only on a strictly smaller ts, LAST only on a strictly larger one, so among equal timestamps the
// first one seen wins; merge keeps the left IR on ties.

import { T, type DataType } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { chrononTypeName } from './type-names.ts'
import { cloneValue } from './values.ts'

export type TimePair = [number, unknown]

export function timePairType (payload: DataType): DataType {
  return T.struct(`TimePair_${chrononTypeName(payload)}`, [
    { name: 'epochMillis', type: T.long }, { name: 'payload', type: payload }
  ])
}

export class FirstLast implements SimpleAggregator<unknown, TimePair, unknown> {
  readonly timed = true
  readonly deletable = false
  readonly irType: DataType
  readonly outputType: DataType
  readonly #last: boolean

  constructor (type: DataType, last: boolean) {
    this.irType = timePairType(type)
    this.outputType = type
    this.#last = last
  }

  prepare (input: unknown, ts: number): TimePair { return [ts, input] }

  update (ir: TimePair, input: unknown, ts: number): TimePair {
    if (this.#last ? ts > ir[0] : ts < ir[0]) { ir[0] = ts; ir[1] = input }
    return ir
  }

  merge (a: TimePair, b: TimePair): TimePair {
    // Scala Ordering.max/min keep the left argument on ties; return `a` itself so the caller's slot stays valid.
    if (this.#last ? b[0] > a[0] : b[0] < a[0]) { a[0] = b[0]; a[1] = b[1] }
    return a
  }

  finalize (ir: TimePair): unknown { return ir[1] }
  clone (ir: TimePair): TimePair { return [ir[0], cloneValue(ir[1])] }
  normalize (ir: TimePair): unknown { return [ir[0], ir[1]] }
  denormalize (v: unknown): TimePair { const a = v as unknown[]; return [Number(a[0]), a[1]] }
}
