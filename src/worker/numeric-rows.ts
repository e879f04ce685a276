// When a worker can fold records as numbers (no record object, no row array, no boxed number per value): the
// GroupBy's every input column — key, time, aggregation inputs — is a plain reference to an int, long, float or
// double field (maybe nullable) of a flat Avro record, its one key column is integral, its time column is an int or
// a long, it has no wheres and no EXPLODE, and every aggregation runs in a WASM kernel without a JS check. That is
// most feature GroupBys (clicks, purchases, …), and there a record's values are read straight into the arrays below
// and folded from them (TileState.rowNumbers).
//
// What it must not change: the rows, the tiles, the dead letters. The decoder reads (or skips) every field exactly
// as decodeAt does, with the same refusals; a plain column reference copies the field's value (null for a null);
// and anything the numbers cannot say the same way — a null key — goes through the general path.

import type { StructType } from '../api/data-type.ts'
import type { RecordDecoder } from '../codec/record.ts'
import type { SourcePlan } from '../config/plan.ts'
import type { CompiledQuery } from '../expr/query.ts'
import type { TileState } from './tile-state.ts'

export interface NumericRows {
  /** Per schema field: 1 when its value is kept (decoder.numbersAt's `want`). */
  readonly want: Uint8Array
  /** Per schema field, the value read (when valid) and whether it was not null. */
  readonly vals: Float64Array
  readonly valid: Uint8Array
  /** Per output column of the query, the schema field it copies. */
  readonly fieldOf: Int32Array
  /** The schema fields of the key column and of the time column. */
  readonly keyField: number
  readonly tsField: number
  /** Per kernel input (TileState.kernelInputs), the schema field it reads. */
  readonly at: Int32Array
}

/** The numeric path's arrays for this GroupBy and input, or null when it does not apply (see above). */
export function numericRows (query: CompiledQuery, source: SourcePlan, input: StructType, decoder: RecordDecoder, tiles: TileState | null, keyIndices: readonly number[], tsIndex: number, fannedOut: boolean): NumericRows | null {
  if (tiles === null || !tiles.numericRows || fannedOut) return null
  if (query.multiRow || source.wheres.length > 0) return null
  const names = decoder.fieldNames
  const numeric = decoder.numericFields
  if (decoder.numbersAt === undefined || names === undefined || numeric === undefined) return null
  if (keyIndices.length !== 1) return null
  // The time field itself (the time column's type is always long: a TIMESTAMP, DATE or fractional field is converted
  // to epoch milliseconds on the way, which only an int or a long field needs not be).
  const tsKind = input.fields.find(f => f.name === query.timeField)?.type.kind
  if (tsKind !== 'long' && tsKind !== 'int') return null
  const fieldOf = new Int32Array(query.columns.length)
  for (let c = 0; c < query.columns.length; c++) {
    const name = c === tsIndex ? query.timeField : query.sourceFields[c]
    if (name === null || name === undefined) return null
    const f = names.indexOf(name)
    if (f < 0 || numeric[f] !== 1) return null
    fieldOf[c] = f
  }
  const want = new Uint8Array(names.length)
  for (const f of fieldOf) want[f] = 1
  return {
    want,
    vals: new Float64Array(names.length),
    valid: new Uint8Array(names.length),
    fieldOf,
    keyField: fieldOf[keyIndices[0]!]!,
    tsField: fieldOf[tsIndex]!,
    at: Int32Array.from(tiles.kernelInputs, c => fieldOf[c]!)
  }
}
