// Compile a Chronon GroupBy JSON into a flat Plan, once, at start-up. The Plan holds everything that does not
// depend on the input schema: windows and their hops, the tile size, the tile and output layouts, names and
// datasets. Binding it to an input schema (IR types, aggregators, codecs) happens in `bind.ts`.
//
// Anything we cannot run is refused here with the JSON path of the offending field.

import {
  type AggregationJson, type Flavour, type GroupByJson, type QueryJson, Operation, TIME_UNIT_MILLIS, TIME_UNIT_SUFFIX,
  TimeUnit, detectFlavour, resolveOperation
} from '../api/group-by.ts'
import { configError } from '../errors.ts'
import { DAY, tailHopMillis } from '../window/resolution.ts'
import { validateGroupByShape } from './validate.ts'
import { batchDataset, cleanName, opSuffix, outputColumnName, streamingDataset } from './names.ts'

/** Int.MaxValue, Chronon's marker length for an unbounded window. */
const INT_MAX = 2147483647

export interface WindowSpec {
  readonly length: number
  readonly unit: TimeUnit
  /** Window length in ms; Infinity when unbounded. */
  readonly millis: number
  /** Hop by which the window tail moves (§3.1); 0 when unbounded. */
  readonly hopMillis: number
  /** `_3d`, `_1h`; empty when unbounded. */
  readonly suffix: string
  readonly unbounded: boolean
}

export const UNBOUNDED: WindowSpec = Object.freeze({
  length: INT_MAX, unit: TimeUnit.DAYS, millis: Infinity, hopMillis: 0, suffix: '', unbounded: true
})

export interface AggregationPlan {
  readonly index: number
  /** JSON path, e.g. `aggregations[2]`. */
  readonly path: string
  readonly inputColumn: string
  readonly operation: Operation
  readonly rawOperation: number
  readonly argMap: Readonly<Record<string, string>>
  /** At least one; `[UNBOUNDED]` when the aggregation has no windows. */
  readonly windows: readonly WindowSpec[]
  /** Empty when not bucketed. */
  readonly buckets: readonly string[]
  readonly elementWise: boolean
  readonly opSuffix: string
}

/** One IR slot of a tile (§2.2): an aggregation × one of its buckets. Windows share the slot. */
export interface TilePart {
  readonly index: number
  readonly aggregation: AggregationPlan
  readonly bucket: string | null
  /** Unwindowed column name: `refund_amt_sum`, `views_average_by_title`. */
  readonly name: string
}

/** One feature column of a fetch response: a tile part seen through one window. */
export interface OutputColumn {
  readonly name: string
  readonly part: TilePart
  readonly window: WindowSpec
}

export interface SourcePlan {
  readonly path: string
  readonly kind: 'events'
  readonly table: string | null
  readonly topic: string | null
  readonly selects: Readonly<Record<string, string>> | null
  readonly wheres: readonly string[]
  readonly timeColumn: string
}

export interface Plan {
  readonly json: GroupByJson
  readonly name: string
  readonly cleanName: string
  readonly flavour: Flavour
  readonly streamingDataset: string
  readonly batchDataset: string
  readonly keyColumns: readonly string[]
  readonly source: SourcePlan
  readonly aggregations: readonly AggregationPlan[]
  readonly tileParts: readonly TilePart[]
  readonly outputs: readonly OutputColumn[]
  readonly tileSizeMillis: number
  /** Columns the aggregations read: for each aggregation its buckets then its input, de-duplicated (§1.3). */
  readonly aggregationInputs: readonly string[]
  /** Longest finite window plus its hop: how far back a fetch reads when no aggregation is unbounded. */
  readonly readSpanMillis: number
  readonly hasUnbounded: boolean
}

export interface PlanOptions {
  /** Override the detected fork (matters for operations 18..20). */
  flavour?: Flavour
  /** Which entry of `sources` to run; by default the first with a topic, else the first. */
  sourceIndex?: number
  /** Used as the GroupBy name when metaData.name is missing (e.g. the file name). */
  fallbackName?: string
}

export function compilePlan (json: unknown, options: PlanOptions = {}): Plan {
  validateGroupByShape(json, options.fallbackName)
  const gb = json as GroupByJson
  const name = gb.metaData?.name ?? options.fallbackName
  if (typeof name !== 'string' || name.length === 0) throw configError('metaData.name is required', 'metaData.name')
  const flavour = options.flavour ?? detectFlavour(gb)

  const keyColumns = gb.keyColumns
  if (!Array.isArray(keyColumns) || keyColumns.length === 0) {
    throw configError('keyColumns must list at least one column', 'keyColumns', name)
  }
  keyColumns.forEach((k, i) => {
    if (typeof k !== 'string' || k.length === 0) throw configError('key column names must be non-empty strings', `keyColumns[${i}]`, name)
  })

  const source = compileSource(gb, name, options.sourceIndex)
  const aggregations = compileAggregations(gb, name, flavour)

  const tileParts: TilePart[] = []
  const outputs: OutputColumn[] = []
  for (const agg of aggregations) {
    const buckets: (string | null)[] = agg.buckets.length > 0 ? [...agg.buckets] : [null]
    // bucket-major, window-minor: the order of Chronon's `unpack`, which fixes IR and output positions.
    for (const bucket of buckets) {
      const part: TilePart = {
        index: tileParts.length,
        aggregation: agg,
        bucket,
        name: outputColumnName(agg.inputColumn, agg.opSuffix, '', bucket)
      }
      tileParts.push(part)
      for (const window of agg.windows) {
        outputs.push({ name: outputColumnName(agg.inputColumn, agg.opSuffix, window.suffix, bucket), part, window })
      }
    }
  }
  checkUniqueOutputs(outputs, name)

  const finite = aggregations.flatMap(a => a.windows).filter(w => !w.unbounded)
  // Chronon (airbnb) cannot tile a GroupBy without windows; Zipline uses 1-day tiles. We do as Zipline.
  const tileSizeMillis = finite.length === 0 ? DAY : Math.min(...finite.map(w => w.hopMillis))
  const readSpanMillis = finite.length === 0 ? 0 : Math.max(...finite.map(w => w.millis + w.hopMillis))

  const aggregationInputs: string[] = []
  for (const agg of aggregations) {
    for (const col of [...agg.buckets, agg.inputColumn]) if (!aggregationInputs.includes(col)) aggregationInputs.push(col)
  }

  return {
    json: gb,
    name,
    cleanName: cleanName(name),
    flavour,
    streamingDataset: streamingDataset(name),
    batchDataset: batchDataset(name),
    keyColumns: [...keyColumns],
    source,
    aggregations,
    tileParts,
    outputs,
    tileSizeMillis,
    aggregationInputs,
    readSpanMillis,
    hasUnbounded: aggregations.some(a => a.windows.some(w => w.unbounded))
  }
}

function compileSource (gb: GroupByJson, name: string, sourceIndex?: number): SourcePlan {
  const sources = gb.sources
  if (!Array.isArray(sources) || sources.length === 0) throw configError('sources must list at least one source', 'sources', name)
  let index = sourceIndex
  if (index === undefined) {
    index = sources.findIndex(s => typeof s?.events?.topic === 'string' || typeof s?.entities?.mutationTopic === 'string')
    if (index < 0) index = 0
  }
  const s = sources[index]
  const path = `sources[${index}]`
  if (s === undefined) throw configError(`there is no source ${index}`, path, name)
  if (s.entities !== undefined) {
    throw configError('entity sources are not supported by the tiled pipeline (Chronon does not tile them either); use an events source', `${path}.entities`, name)
  }
  if (s.joinSource !== undefined) {
    throw configError('join sources (chained GroupBys) are not supported yet', `${path}.joinSource`, name)
  }
  if (s.events === undefined) throw configError('the source must be an events source', path, name)
  const q: QueryJson = s.events.query ?? {}
  const qpath = `${path}.events.query`
  if (q.selects != null && (typeof q.selects !== 'object' || Array.isArray(q.selects))) {
    throw configError('selects must be an object of alias → expression', `${qpath}.selects`, name)
  }
  for (const [alias, expr] of Object.entries(q.selects ?? {})) {
    if (typeof expr !== 'string' || expr.trim().length === 0) throw configError(`select '${alias}' must be a non-empty expression`, `${qpath}.selects.${alias}`, name)
  }
  if (q.wheres != null && !Array.isArray(q.wheres)) throw configError('wheres must be a list of expressions', `${qpath}.wheres`, name)
  const timeColumn = q.timeColumn ?? 'ts'
  if (typeof timeColumn !== 'string' || timeColumn.trim().length === 0) throw configError('timeColumn must be a non-empty expression', `${qpath}.timeColumn`, name)
  return {
    path,
    kind: 'events',
    table: s.events.table ?? null,
    topic: s.events.topic ?? null,
    selects: q.selects ?? null,
    wheres: q.wheres ?? [],
    timeColumn
  }
}

function compileAggregations (gb: GroupByJson, name: string, flavour: Flavour): AggregationPlan[] {
  const aggs = gb.aggregations
  if (aggs == null) {
    throw configError('a GroupBy without aggregations has nothing to tile (Chronon writes such GroupBys untiled)', 'aggregations', name)
  }
  if (!Array.isArray(aggs) || aggs.length === 0) throw configError('aggregations must be a non-empty list', 'aggregations', name)
  return aggs.map((a, i) => compileAggregation(a, i, name, flavour))
}

function compileAggregation (a: AggregationJson, index: number, name: string, flavour: Flavour): AggregationPlan {
  const path = `aggregations[${index}]`
  if (typeof a?.inputColumn !== 'string' || a.inputColumn.length === 0) throw configError('inputColumn is required', `${path}.inputColumn`, name)
  if (typeof a.operation !== 'number') throw configError('operation is required (a number)', `${path}.operation`, name)
  const op = resolveOperation(a.operation, flavour)
  if (op === undefined) throw configError(`operation ${a.operation} is not a ${flavour} Chronon operation`, `${path}.operation`, name)
  const argMap: Record<string, string> = {}
  for (const [k, v] of Object.entries(a.argMap ?? {})) argMap[k] = String(v)
  const windows = (a.windows ?? []).map((w, j) => compileWindow(w, `${path}.windows[${j}]`, name))
  const buckets = a.buckets ?? []
  buckets.forEach((b, j) => {
    if (typeof b !== 'string' || b.length === 0) throw configError('bucket columns must be non-empty strings', `${path}.buckets[${j}]`, name)
  })
  return {
    index,
    path,
    inputColumn: a.inputColumn,
    operation: op,
    rawOperation: a.operation,
    argMap,
    windows: windows.length > 0 ? windows : [UNBOUNDED],
    buckets,
    elementWise: a.elementWise === true,
    opSuffix: opSuffix(op, argMap)
  }
}

/** The longest finite window: beyond it, millisecond arithmetic on window bounds would stop being exact. */
const MAX_WINDOW_MILLIS = 10_000 * 365 * DAY

function compileWindow (w: unknown, path: string, name: string): WindowSpec {
  const win = w as { length?: unknown, timeUnit?: unknown }
  // Chronon's Window.length is an Int; Int.MaxValue marks an unbounded window. 0 or less is no window at all: an
  // error, not silently unbounded.
  if (typeof win?.length !== 'number' || !Number.isInteger(win.length) || win.length <= 0 || win.length > INT_MAX) {
    throw configError(`window length must be a positive integer (at most ${INT_MAX}, Chronon's unbounded marker), got ${JSON.stringify(win?.length) ?? 'nothing'}`, `${path}.length`, name)
  }
  const unit = win.timeUnit ?? TimeUnit.DAYS
  if (unit !== TimeUnit.HOURS && unit !== TimeUnit.DAYS && unit !== TimeUnit.MINUTES) {
    throw configError(`unknown timeUnit ${String(unit)} (0 = hours, 1 = days, 2 = minutes)`, `${path}.timeUnit`, name)
  }
  if (win.length === INT_MAX) return UNBOUNDED
  const millis = win.length * TIME_UNIT_MILLIS[unit as TimeUnit]
  if (millis > MAX_WINDOW_MILLIS) throw configError('a window longer than 10,000 years cannot be tiled; for all of history leave the aggregation without windows', `${path}.length`, name)
  return {
    length: win.length,
    unit: unit as TimeUnit,
    millis,
    hopMillis: tailHopMillis(millis),
    suffix: `_${win.length}${TIME_UNIT_SUFFIX[unit as TimeUnit]}`,
    unbounded: false
  }
}

function checkUniqueOutputs (outputs: OutputColumn[], name: string): void {
  const seen = new Map<string, OutputColumn>()
  for (const o of outputs) {
    const prev = seen.get(o.name)
    if (prev !== undefined) {
      throw configError(`output column '${o.name}' is produced twice (by ${prev.part.aggregation.path} and ${o.part.aggregation.path})`, o.part.aggregation.path, name)
    }
    seen.set(o.name, o)
  }
}

export function isTimedOperation (op: Operation): boolean {
  return op === Operation.FIRST || op === Operation.LAST || op === Operation.FIRST_K || op === Operation.LAST_K
}
