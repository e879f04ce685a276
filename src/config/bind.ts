// Binding a Plan to an input schema: compile the query, type the key and the aggregation inputs, and build the
// aggregators and codecs of every tile part. Done once per process (main thread, each worker, fetch).
//
// The result's `serving` part is what the read side needs without the source: it is stored beside the tiles
// (like Chronon's GroupByServingInfo) so `tilekiln fetch` can decode and finalize with the GroupBy file alone.

import type { DataType, StructType } from '../api/data-type.ts'
import { isNumeric, typeToString } from '../api/data-type.ts'
import { UnsupportedAggregation, columnAggregator, type InputColumn } from '../agg/registry.ts'
import type { ColumnAggregator } from '../agg/column.ts'
import { InputColsCodec } from '../codec/input-cols.ts'
import { KeyCodec } from '../codec/key.ts'
import { TileCodec } from '../codec/tile.ts'
import { TilekilnError, configError, isTilekilnError } from '../errors.ts'
import type { CompiledQuery, OutputColumn, QueryCompiler } from '../expr/query.ts'
import type { Plan } from './plan.ts'

/** What the read side needs to know about the columns that fed the tiles. */
export interface ServingInfo {
  readonly version: 1
  readonly groupBy: string
  readonly streamingDataset: string
  readonly tileSizeMillis: number
  /** Key columns with their types, in keyColumns order. */
  readonly keyFields: readonly { name: string, type: DataType }[]
  /** The evaluated row's columns the aggregations read (name, type), in row order. */
  readonly rowColumns: readonly { name: string, type: DataType }[]
  /**
   * The engine ran untiled (`run --untiled`): the store holds one event per evaluated row (entity key → the
   * `{cleanName}_INPUT_COLS` record, by event time) instead of tiles, and a fetch aggregates those. Absent = tiled.
   */
  readonly untiled?: boolean
}

export interface ReadSide {
  readonly plan: Plan
  readonly serving: ServingInfo
  readonly keyCodec: KeyCodec
  readonly tileCodec: TileCodec
  /** One per tile part. */
  readonly aggregators: readonly ColumnAggregator[]
  /** The untiled value: the row's aggregation inputs as `{cleanName}_INPUT_COLS` (§1.4). */
  readonly inputCols: InputColsCodec
}

export interface BoundGroupBy extends ReadSide {
  readonly query: CompiledQuery
  /** Index of the time column in the query output. */
  readonly tsIndex: number
  /** Indices of the key columns in the query output, in keyColumns order. */
  readonly keyIndices: readonly number[]
}

/** The query columns the engine needs: key columns, then every aggregation input and bucket not already listed. */
export function neededColumns (plan: Plan): string[] {
  const needed = [...plan.keyColumns]
  for (const c of plan.aggregationInputs) if (!needed.includes(c)) needed.push(c)
  return needed
}

export function bindGroupBy (plan: Plan, input: StructType, compile: QueryCompiler): BoundGroupBy {
  const needed = neededColumns(plan)
  const query = compile({
    selects: plan.source.selects,
    wheres: plan.source.wheres,
    timeColumn: plan.source.timeColumn,
    groupBy: plan.name,
    path: `${plan.source.path}.events.query`
  }, input, needed)
  const tsIndex = query.columns.length - 1
  const tsType = query.columns[tsIndex]!.type
  if (!isNumeric(tsType)) {
    throw configError(`the timeColumn '${plan.source.timeColumn}' is a ${typeToString(tsType)}; it must be epoch milliseconds (a number) — e.g. UNIX_TIMESTAMP(col) * 1000`, `${plan.source.path}.events.query.timeColumn`, plan.name)
  }
  const rowColumns = query.columns.slice(0, needed.length)
  const serving: ServingInfo = {
    version: 1,
    groupBy: plan.name,
    streamingDataset: plan.streamingDataset,
    tileSizeMillis: plan.tileSizeMillis,
    keyFields: plan.keyColumns.map((k, i) => ({ name: k, type: rowColumns[i]!.type })),
    rowColumns: rowColumns.map(c => ({ name: c.name, type: c.type }))
  }
  const read = bindReadSide(plan, serving)
  return { ...read, query, tsIndex, keyIndices: plan.keyColumns.map((_, i) => i) }
}

/** The read side from stored serving info (no source, no query). */
export function bindReadSide (plan: Plan, serving: ServingInfo): ReadSide {
  if (serving.tileSizeMillis !== plan.tileSizeMillis) {
    throw new TilekilnError('TK_CONFIG', `the store holds tiles of ${serving.tileSizeMillis} ms for ${plan.name}, but this GroupBy file implies ${plan.tileSizeMillis} ms tiles: was the GroupBy changed?`, { groupBy: plan.name })
  }
  const columns = new Map<string, InputColumn>(serving.rowColumns.map((c, i) => [c.name, { index: i, type: c.type }]))
  const aggregators = plan.tileParts.map(part => {
    try {
      // A null map key cannot be encoded in a tile (Avro map keys are strings): refuse that event, not the tile.
      return columnAggregator(part, columns, plan.flavour, plan.name, { nullMapKeys: 'reject' })
    } catch (e) {
      if (e instanceof UnsupportedAggregation) throw configError(`${part.name}: ${e.message}`, part.aggregation.path, plan.name)
      // An aggregator refusing its arguments (argMap.k 'x', percentiles out of [0, 1]) is a config error too.
      if (!isTilekilnError(e) && e instanceof Error) {
        const where = /argMap|\bk\b|percentiles/.test(e.message) ? `${part.aggregation.path}.argMap` : part.aggregation.path
        throw configError(`${part.name}: ${e.message}`, where, plan.name)
      }
      throw e
    }
  })
  const keyCodec = new KeyCodec(serving.keyFields)
  for (const f of serving.keyFields) checkKeyType(plan, f.name, f.type)
  const tileCodec = new TileCodec(plan.cleanName, plan.tileParts.map((p, i) => ({ name: p.name, irType: aggregators[i]!.irType })))
  const inputCols = new InputColsCodec(plan.cleanName, plan.aggregationInputs.map(name => {
    const c = columns.get(name)
    if (c === undefined) throw new TilekilnError('TK_CONFIG', `aggregation input '${name}' is not among the stored serving info's columns: was the GroupBy changed?`, { groupBy: plan.name })
    return { name, type: c.type, rowIndex: c.index }
  }))
  return { plan, serving, keyCodec, tileCodec, aggregators, inputCols }
}

function checkKeyType (plan: Plan, name: string, type: DataType): void {
  const ok = ['string', 'int', 'long', 'short', 'byte', 'boolean', 'double', 'float', 'binary'].includes(type.kind)
  if (!ok) throw configError(`key column '${name}' is a ${typeToString(type)}; keys must be primitive`, 'keyColumns', plan.name)
}

export type { OutputColumn }
