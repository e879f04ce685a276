// Operation → aggregator, with Chronon's input-type rules (ColumnAggregator.construct): which input types each
// operation accepts, how inputs are converted (int → long for SUM, numbers → double for AVERAGE…), and which
// column shape (direct, vector, map, bucketed, element-wise) wraps it.
//
// Type rules follow Chronon exactly, including what it leaves out: byte (tinyint) inputs are accepted only by
// COUNT and the timed operations, and a list<byte> is not exploded (Chronon's isScalar has no ByteType).
// Float inputs are rounded to float32 first, since Chronon holds them as Java Floats.
//
// To add an operation: write its SimpleAggregator in its own file and add a case to `simpleAggregator`.

import { type DataType, T, typeToString } from '../api/data-type.ts'
import { Operation } from '../api/group-by.ts'
import { isTimedOperation, type TilePart } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import type { AggregatorSpec, SimpleAggregator } from './aggregator.ts'
import { requireIntArg } from './aggregator.ts'
import { BoundedUniqueCount } from './bounded-unique-count.ts'
import { BucketedColumn, type ColumnAggregator, type Convert, DirectColumn, type InputCheck, MapColumn, type MapColumnOptions } from './column.ts'
import { ElementWiseColumn } from './element-wise.ts'
import { FirstLast } from './first-last.ts'
import { Histogram } from './histogram.ts'
import { OrderByLimit, OrderByLimitTimed, naturalOrdering } from './k-heaps.ts'
import { MinMax } from './min-max.ts'
import { Kurtosis, Skew } from './moments.ts'
import { Average, Count, Sum, Variance } from './numeric.ts'
import { ApproxUniqueCount } from './sketch/cpc.ts'
import { UniqueCount, javaKeyKind } from './unique-count.ts'
import { UniqueTopK } from './unique-top-k.ts'
import { positionalConverter, unencodableNullFinder } from './values.ts'
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

const NUMERIC = new Set(['int', 'long', 'short', 'double', 'float'])

/** Inputs Chronon widens to double (AVERAGE, VARIANCE, SKEW, KURTOSIS): a float keeps its float32 value. */
function toDoubleConvert (k: string): Convert {
  return k === 'float' ? toFloat32 : toNumber
}

/** Inputs kept as they are (MIN/MAX, TOP_K/BOTTOM_K, UNIQUE_COUNT, BOUNDED_UNIQUE_COUNT). */
function asIsConvert (k: string): Convert {
  return k === 'float' ? toFloat32 : k === 'long' ? identity : toNumber
}

/** `k` for the operations that require it; Chronon accepts any int, we refuse k < 1 (which can only misbehave). */
function requiredK (spec: AggregatorSpec): number {
  const k = requireIntArg(spec, 'k')
  if (k < 1) throw new UnsupportedAggregation(`argMap.k must be at least 1, got ${k}`)
  return k
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
      if (k === 'int' || k === 'short' || k === 'long') return { agg: new Sum(T.long), convert: toNumber }
      if (k === 'boolean') return { agg: new Sum(T.long), convert: boolToLong }
      if (k === 'double') return { agg: new Sum(T.double), convert: identity }
      if (k === 'float') return { agg: new Sum(T.double), convert: toFloat32 }
      return mismatch(spec, op)
    case Operation.AVERAGE:
      if (NUMERIC.has(k)) return { agg: new Average(countType), convert: toDoubleConvert(k) }
      return mismatch(spec, op)
    case Operation.VARIANCE:
      if (NUMERIC.has(k)) return { agg: new Variance(countType), convert: toDoubleConvert(k) }
      return mismatch(spec, op)
    case Operation.SKEW:
      if (NUMERIC.has(k)) return { agg: new Skew(), convert: toDoubleConvert(k) }
      return mismatch(spec, op)
    case Operation.KURTOSIS:
      if (NUMERIC.has(k)) return { agg: new Kurtosis(), convert: toDoubleConvert(k) }
      return mismatch(spec, op)
    case Operation.MIN: case Operation.MAX:
      if (NUMERIC.has(k) || k === 'string') return { agg: new MinMax(t, op === Operation.MAX), convert: k === 'float' ? toFloat32 : toNumber }
      return mismatch(spec, op)
    case Operation.TOP_K: case Operation.BOTTOM_K: {
      const natural = naturalOrdering(t)
      if (natural === undefined) return mismatch(spec, op)
      return { agg: new OrderByLimit(t, requiredK(spec), natural, op === Operation.TOP_K), convert: asIsConvert(k) }
    }
    case Operation.FIRST: case Operation.LAST:
      return { agg: new FirstLast(t, op === Operation.LAST), convert: positionalConverter(t) ?? identity }
    case Operation.FIRST_K: case Operation.LAST_K:
      return { agg: new OrderByLimitTimed(t, requiredK(spec), op === Operation.LAST_K), convert: positionalConverter(t) ?? identity }
    case Operation.UNIQUE_COUNT: {
      const kind = javaKeyKind(t)
      if (kind === undefined) return mismatch(spec, op)
      return { agg: new UniqueCount(t, kind), convert: k === 'binary' || k === 'string' ? identity : asIsConvert(k) }
    }
    case Operation.HISTOGRAM:
      // Chronon builds a Histogram for any input and fails on the first non-string value; we refuse up front.
      if (k !== 'string') throw new UnsupportedAggregation(`HISTOGRAM counts strings (its IR is map<string,int>); ${typeToString(t)} is not supported — cast it to a string in the selects`)
      return { agg: new Histogram(requireIntArg(spec, 'k', 0)), convert: identity }
    case Operation.BOUNDED_UNIQUE_COUNT:
      if (!NUMERIC.has(k) && k !== 'string' && k !== 'binary') return mismatch(spec, op)
      return { agg: new BoundedUniqueCount(t, requireIntArg(spec, 'k', 8)), convert: k === 'binary' || k === 'string' ? identity : asIsConvert(k) }
    case Operation.UNIQUE_TOP_K:
      if (k !== 'int' && k !== 'long' && k !== 'string' && k !== 'struct') return mismatch(spec, op)
      try {
        return { agg: new UniqueTopK(t, requiredK(spec)), convert: positionalConverter(t) ?? asIsConvert(k) }
      } catch (e) {
        if (e instanceof UnsupportedAggregation) throw e
        throw new UnsupportedAggregation((e as Error).message)
      }
    case Operation.APPROX_UNIQUE_COUNT: {
      // Chronon: int/short → long, float → double, then DataSketches' update(long | double | String | byte[]).
      const lgK = requireIntArg(spec, 'k', 8)
      if (lgK < 4 || lgK > 26) throw new UnsupportedAggregation(`APPROX_UNIQUE_COUNT k (CPC lgK) must be in [4, 26], got ${lgK}`)
      if (k === 'int' || k === 'short' || k === 'long') return { agg: new ApproxUniqueCount('long', lgK), convert: identity }
      if (k === 'float') return { agg: new ApproxUniqueCount('double', lgK), convert: toFloat32 }
      if (k === 'double') return { agg: new ApproxUniqueCount('double', lgK), convert: identity }
      if (k === 'string') return { agg: new ApproxUniqueCount('string', lgK), convert: identity }
      if (k === 'binary') return { agg: new ApproxUniqueCount('binary', lgK), convert: identity }
      return mismatch(spec, op)
    }
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
      throw new UnsupportedAggregation(`operation ${String(op)} is not supported`)
  }
}

/** Chronon's DataType.isScalar: the list element types a simple operation explodes. */
function isScalar (t: DataType): boolean {
  switch (t.kind) {
    case 'int': case 'long': case 'short': case 'double': case 'float': case 'string': case 'binary': case 'boolean':
      return true
    default:
      return false
  }
}

export interface InputColumn { readonly index: number, readonly type: DataType }

export interface ColumnOptions {
  /** Null keys in map inputs (MapColumnOptions): Chronon keeps them in memory; the engine rejects them. */
  readonly nullMapKeys?: MapColumnOptions['nullKeys']
}

/**
 * Builds the column aggregator of one tile part. `columns` maps the evaluated row's column names to their
 * position and type. Throws UnsupportedAggregation with a user-facing reason.
 */
export function columnAggregator (part: TilePart, columns: ReadonlyMap<string, InputColumn>, flavour: 'airbnb' | 'zipline', groupBy: string, options: ColumnOptions = {}): ColumnAggregator {
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
  const elementType = base.kind === 'map' && mapped ? base.value : base.kind === 'list' && vector ? base.elem : base
  const spec: AggregatorSpec = { inputType: elementType, argMap: agg.argMap, flavour, path: agg.path, groupBy }
  const { agg: simple, convert } = simpleAggregator(agg.operation, spec)

  // Chronon ignores elementWise for timed operations (they never look inside the value).
  if (agg.elementWise && !timed) {
    if (!vector) throw new UnsupportedAggregation(`element-wise aggregation needs a list of numbers, strings or booleans; '${agg.inputColumn}' is ${typeToString(base)}`)
    if (part.bucket !== null) throw new UnsupportedAggregation('bucketing an element-wise aggregation is unsupported (as in Chronon)')
    return new ElementWiseColumn(simple, input.index, convert)
  }
  const check = timed ? payloadCheck(base, input.index) : undefined
  if (part.bucket !== null) {
    if (mapped) throw new UnsupportedAggregation('bucketing over map columns is unsupported (as in Chronon)')
    const bucket = columns.get(part.bucket)
    if (bucket === undefined) throw new UnsupportedAggregation(`bucket column '${part.bucket}' is not among the selected columns`)
    if (bucket.type.kind !== 'string') throw new UnsupportedAggregation(`bucket column '${part.bucket}' must be a string, it is ${typeToString(bucket.type)}`)
    return new BucketedColumn(simple, input.index, bucket.index, convert, vector, check)
  }
  if (mapped) return new MapColumn(simple, input.index, convert, { nullKeys: options.nullMapKeys ?? 'keep' })
  return new DirectColumn(simple, input.index, convert, vector, check)
}

/**
 * Timed operations keep the whole value; a null list element or map value inside it could never be written to a
 * tile (Chronon's Avro writer fails the same way, for every later write of that tile), so the event is refused.
 */
function payloadCheck (t: DataType, index: number): InputCheck | undefined {
  const find = unencodableNullFinder(t)
  if (find === undefined) return undefined
  return (_ir, row) => {
    const v = row[index]
    if (v === null || v === undefined) return
    const found = find(v)
    if (found !== null) throw new TilekilnError('TK_INPUT', `${found}; Avro cannot encode it in a tile (list elements and map values are not nullable)`)
  }
}
