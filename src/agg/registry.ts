// Operation → aggregator, with Chronon's input-type rules (ColumnAggregator.construct): which input types each
// operation accepts, how inputs are converted (int → long for SUM, numbers → double for AVERAGE…), and which
// column shape (direct, vector, map, bucketed) wraps it.
//
// To add an operation: write its SimpleAggregator in its own file and add a case to `simpleAggregator`.

import { type DataType, T, isPrimitive, typeToString } from '../api/data-type.ts'
import { Operation } from '../api/group-by.ts'
import { isTimedOperation, type TilePart } from '../config/plan.ts'
import { type AggregatorSpec, requireIntArg, type SimpleAggregator } from './aggregator.ts'
import { BucketedColumn, type ColumnAggregator, type Convert, DirectColumn, MapColumn } from './column.ts'
import { FirstLast } from './first-last.ts'
import { MinMax } from './min-max.ts'
import { Average, Count, Sum, Variance } from './numeric.ts'
import { ApproxHistogram } from './sketch/approx-histogram.ts'
import { FrequentItems, frequentItemType } from './sketch/frequent.ts'
import { ApproxPercentile } from './sketch/kll.ts'

export class UnsupportedAggregation extends Error {}

const identity: Convert = v => v
const toNumber: Convert = v => (typeof v === 'bigint' ? Number(v) : v)
const boolToLong: Convert = v => (v === true ? 1 : 0)
const toFloat32: Convert = v => Math.fround(Number(v))

export interface Built { agg: SimpleAggregator, convert: Convert }

function mismatch (spec: AggregatorSpec, op: Operation): never {
  throw new UnsupportedAggregation(`${typeToString(spec.inputType)} is incompatible with ${Operation[op]}`)
}

/** The aggregator for one operation over one (element) input type. */
export function simpleAggregator (op: Operation, spec: AggregatorSpec): Built {
  const t = spec.inputType
  const k = t.kind
  const countType = spec.flavour === 'zipline' ? T.long : T.int
  switch (op) {
    case Operation.COUNT:
      return { agg: new Count(), convert: identity }
    case Operation.SUM:
      if (k === 'int' || k === 'short' || k === 'byte' || k === 'long') return { agg: new Sum(T.long), convert: toNumber }
      if (k === 'boolean') return { agg: new Sum(T.long), convert: boolToLong }
      if (k === 'double' || k === 'float') return { agg: new Sum(T.double), convert: identity }
      return mismatch(spec, op)
    case Operation.AVERAGE:
      if (isNumericKind(k)) return { agg: new Average(countType), convert: toNumber }
      return mismatch(spec, op)
    case Operation.VARIANCE:
      if (isNumericKind(k)) return { agg: new Variance(countType), convert: toNumber }
      return mismatch(spec, op)
    case Operation.MIN: case Operation.MAX:
      if (isNumericKind(k) || k === 'string') return { agg: new MinMax(t, op === Operation.MAX), convert: k === 'float' ? toFloat32 : toNumber }
      return mismatch(spec, op)
    case Operation.FIRST: case Operation.LAST:
      return { agg: new FirstLast(t, op === Operation.LAST), convert: identity }
    case Operation.APPROX_PERCENTILE:
      // Chronon: int, long, short, double → float; float as is (ColumnAggregator.construct)
      if (k === 'int' || k === 'long' || k === 'short' || k === 'double' || k === 'float') {
        return { agg: ApproxPercentile.fromSpec(spec, requireIntArg(spec, 'k', 128)), convert: toFloat32 }
      }
      return mismatch(spec, op)
    case Operation.APPROX_HISTOGRAM_K: case Operation.APPROX_FREQUENT_K: case Operation.APPROX_HEAVY_HITTERS_K: {
      // Chronon: int, short, long → Long items; float, double → Double items; string
      const itemType = frequentItemType(k)
      if (itemType === undefined) return mismatch(spec, op)
      const size = requireIntArg(spec, 'k', 8)
      if (op === Operation.APPROX_HISTOGRAM_K) return { agg: new ApproxHistogram(size, itemType), convert: identity }
      const errorType = op === Operation.APPROX_FREQUENT_K ? 'NO_FALSE_NEGATIVES' : 'NO_FALSE_POSITIVES'
      return { agg: new FrequentItems(size, itemType, errorType, spec.flavour), convert: identity }
    }
    default:
      throw new UnsupportedAggregation(`operation ${Operation[op]} is not supported yet`)
  }
}

function isNumericKind (k: string): boolean {
  return k === 'int' || k === 'long' || k === 'short' || k === 'byte' || k === 'double' || k === 'float'
}

function isScalar (t: DataType): boolean {
  return isPrimitive(t) && t.kind !== 'date' && t.kind !== 'timestamp' && t.kind !== 'null'
}

export interface InputColumn { readonly index: number, readonly type: DataType }

/**
 * Builds the column aggregator of one tile part. `columns` maps the evaluated row's column names to their
 * position and type. Throws UnsupportedAggregation with a user-facing reason.
 */
export function columnAggregator (part: TilePart, columns: ReadonlyMap<string, InputColumn>, flavour: 'airbnb' | 'zipline', groupBy: string): ColumnAggregator {
  const agg = part.aggregation
  const input = columns.get(agg.inputColumn)
  if (input === undefined) throw new UnsupportedAggregation(`input column '${agg.inputColumn}' is not among the selected columns`)
  const base = input.type
  if (base.kind === 'date' || base.kind === 'timestamp') {
    throw new UnsupportedAggregation(`'${agg.inputColumn}' is a ${base.kind}: dates and timestamps cannot be aggregated; convert them to a long in the selects`)
  }
  const timed = isTimedOperation(agg.operation)
  const vector = !timed && base.kind === 'list' && isScalar(base.elem)
  const mapped = !timed && base.kind === 'map' && base.key.kind === 'string'
  const elementType = vector ? (base as { elem: DataType }).elem : mapped ? (base as { value: DataType }).value : base
  const spec: AggregatorSpec = { inputType: elementType, argMap: agg.argMap, flavour, path: agg.path, groupBy }
  const { agg: simple, convert } = simpleAggregator(agg.operation, spec)

  if (agg.elementWise) throw new UnsupportedAggregation('element-wise aggregation is not supported yet')
  if (part.bucket !== null) {
    if (mapped) throw new UnsupportedAggregation('bucketing over map columns is unsupported (as in Chronon)')
    const bucket = columns.get(part.bucket)
    if (bucket === undefined) throw new UnsupportedAggregation(`bucket column '${part.bucket}' is not among the selected columns`)
    if (bucket.type.kind !== 'string') throw new UnsupportedAggregation(`bucket column '${part.bucket}' must be a string, it is ${typeToString(bucket.type)}`)
    return new BucketedColumn(simple, input.index, bucket.index, convert, vector)
  }
  if (mapped) return new MapColumn(simple, input.index, convert)
  return new DirectColumn(simple, input.index, convert, vector)
}
