// The contract between the engine and the expression evaluator: a GroupBy source's selects, wheres and
// timeColumn, compiled once against the input schema into a function that turns one decoded input record into
// zero or more rows (zero when a where rejects it, several when a select EXPLODEs).
//
// The engine asks only for the columns it needs (key columns, aggregation inputs, bucket columns); the time column
// is always appended as the last output column. A needed column named `ts` is the time column too (Chronon appends
// `ts` after the selects, so it overrides a select of that name).

import type { DataType, StructType } from '../api/data-type.ts'

export interface QuerySpec {
  /** alias → Spark SQL expression; null means "every input column, as is". */
  readonly selects: Readonly<Record<string, string>> | null
  readonly wheres: readonly string[]
  readonly timeColumn: string
  /** For error messages. */
  readonly groupBy: string
  /** JSON path of the query, e.g. `sources[0].events.query`. */
  readonly path: string
}

export interface OutputColumn { readonly name: string, readonly type: DataType }

export interface CompiledQuery {
  /** The needed columns in the order asked for, then the time column (named `ts`). */
  readonly columns: readonly OutputColumn[]
  /**
   * Evaluates one decoded record (a plain object by field name). For each output row it fills `out` positionally
   * (by `columns`) and calls `emit()`; `out` is reused, so `emit` must copy what it keeps. Throws a TilekilnError
   * with code TK_EXPR_EVAL when evaluation fails for this record (the engine dead-letters the record).
   */
  run (record: Readonly<Record<string, unknown>>, out: unknown[], emit: () => void): void
  /** True when one record can yield several rows (EXPLODE). */
  readonly multiRow: boolean
  /**
   * For each needed column that is a plain reference to an input field (possibly renamed), the input field name;
   * null for computed columns. Lets the router extract keys without evaluating anything.
   */
  readonly sourceFields: readonly (string | null)[]
  /**
   * The input field the time column reads when it is a plain reference to one (possibly converted to epoch
   * milliseconds), else null. Lets the main thread read a record's event time from that one field.
   */
  readonly timeField: string | null
}

export type QueryCompiler = (spec: QuerySpec, input: StructType, needed: readonly string[]) => CompiledQuery
