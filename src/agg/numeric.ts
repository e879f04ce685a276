// COUNT, SUM, AVERAGE and VARIANCE (Chronon SimpleAggregators.scala). Inputs arrive already converted by the
// registry (ints/shorts/booleans to long for SUM, everything to double for AVERAGE/VARIANCE).
//
// Longs are JS numbers: exact up to ±2^53. The worker's WASM kernels keep exact 64-bit sums; the TS path (read side
// merges and the object fallback) is exact only within ±2^53.

import { T, type DataType } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'

export class Count implements SimpleAggregator<unknown, number, number> {
  readonly irType = T.long
  readonly outputType = T.long
  readonly timed = false
  readonly deletable = true
  prepare (): number { return 1 }
  update (ir: number): number { return ir + 1 }
  merge (a: number, b: number): number { return a + b }
  finalize (ir: number): number { return ir }
  clone (ir: number): number { return ir }
  normalize (ir: number): unknown { return ir }
  denormalize (v: unknown): number { return Number(v) }
  delete (ir: number): number { return ir - 1 }
}

export class Sum implements SimpleAggregator<number, number, number> {
  readonly timed = false
  readonly deletable = true
  readonly irType: DataType
  readonly outputType: DataType
  constructor (type: DataType) {
    this.irType = type
    this.outputType = type
  }

  prepare (input: number): number { return input }
  update (ir: number, input: number): number { return ir + input }
  merge (a: number, b: number): number { return a + b }
  finalize (ir: number): number { return ir }
  clone (ir: number): number { return ir }
  normalize (ir: number): unknown { return ir }
  denormalize (v: unknown): number { return Number(v) }
  delete (ir: number, input: number): number { return ir - input }
}

/** IR: [sum: double, count: int (airbnb) | long (zipline)], mutated in place. */
export class Average implements SimpleAggregator<number, [number, number], number> {
  readonly timed = false
  readonly deletable = true
  readonly irType: DataType
  readonly outputType = T.double
  constructor (countType: DataType) {
    this.irType = T.struct('AvgIr', [{ name: 'sum', type: T.double }, { name: 'count', type: countType }])
  }

  prepare (input: number): [number, number] { return [input, 1] }
  update (ir: [number, number], input: number): [number, number] { ir[0] += input; ir[1] += 1; return ir }
  merge (a: [number, number], b: [number, number]): [number, number] { a[0] += b[0]; a[1] += b[1]; return a }
  finalize (ir: [number, number]): number { return ir[0] / ir[1] }
  clone (ir: [number, number]): [number, number] { return [ir[0], ir[1]] }
  normalize (ir: [number, number]): unknown { return [ir[0], ir[1]] }
  denormalize (v: unknown): [number, number] { const a = v as unknown[]; return [Number(a[0]), Number(a[1])] }
  delete (ir: [number, number], input: number): [number, number] { ir[0] -= input; ir[1] -= 1; return ir }
}

/** Welford's online variance; IR: [count, mean, m2]. Operation order copies Chronon's so results match bit for bit. */
export class Variance implements SimpleAggregator<number, [number, number, number], number> {
  readonly timed = false
  readonly deletable = false
  readonly irType: DataType
  readonly outputType = T.double
  constructor (countType: DataType) {
    this.irType = T.struct('VarianceIr', [
      { name: 'count', type: countType }, { name: 'mean', type: T.double }, { name: 'm2', type: T.double }
    ])
  }

  prepare (input: number): [number, number, number] { return welfordUpdate([0, 0, 0], input) }
  update (ir: [number, number, number], input: number): [number, number, number] { return welfordUpdate(ir, input) }
  merge (a: [number, number, number], b: [number, number, number]): [number, number, number] {
    const count = a[0] + b[0]
    const delta = b[1] - a[1]
    const deltaN = delta / count
    const mean = combinedMean(a[0], a[1], b[0], b[1])
    const m2 = a[2] + b[2] + (delta * deltaN * a[0] * b[0])
    a[0] = count; a[1] = mean; a[2] = m2
    return a
  }

  finalize (ir: [number, number, number]): number { return ir[2] / ir[0] }
  clone (ir: [number, number, number]): [number, number, number] { return [ir[0], ir[1], ir[2]] }
  normalize (ir: [number, number, number]): unknown { return [ir[0], ir[1], ir[2]] }
  denormalize (v: unknown): [number, number, number] {
    const a = v as unknown[]
    return [Number(a[0]), Number(a[1]), Number(a[2])]
  }
}

export function welfordUpdate (ir: [number, number, number], x: number): [number, number, number] {
  ir[0] += 1
  const delta = x - ir[1]
  ir[1] = ir[1] + delta / ir[0]
  const delta2 = x - ir[1]
  ir[2] = ir[2] + delta * delta2
  return ir
}

/** Mean of two weighted means, computed from the heavier side to stay stable (Chronon's getCombinedMeanDouble). */
export function combinedMean (wn: number, an: number, wk: number, ak: number): number {
  if (wn < wk) return combinedMean(wk, ak, wn, an)
  const n = wn + wk
  if (n === 0) return 0
  if (n === wn) return an
  const scaling = wk / n
  return scaling < 0.1 ? an + (ak - an) * scaling : (wn * an + wk * ak) / n
}
