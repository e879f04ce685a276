// RowAggregator: a Plan bound to an input schema — one column aggregator per tile part (Chronon's RowAggregator
// over `unWindowed` parts) plus the expansion to the windowed output layout that TileCodec.decodeTileIr and the
// fetcher do. Both the tiling engine (update per event, normalize per tile write) and the read path (denormalize,
// expand, merge, finalize) use it.
//
//   tile layout      irs[p]   one slot per TilePart (aggregation × bucket), null = no data
//   windowed layout  out[o]   one slot per OutputColumn (aggregation × bucket × window), bucket-major
//
// IR arrays are mutated in place, as in Chronon: update/delete/merge write into their first argument; merge
// never mutates its second.

import type { DataType, StructField } from '../api/data-type.ts'
import type { OutputColumn, Plan } from '../config/plan.ts'
import { TilekilnError, configError, isTilekilnError } from '../errors.ts'
import type { ColumnAggregator } from './column.ts'
import { type ColumnOptions, type InputColumn, UnsupportedAggregation, columnAggregator } from './registry.ts'

export interface RowAggregatorOptions extends ColumnOptions {}

/** One tile IR field: the unwindowed column name and its normalized IR type (what TileCodec needs). */
export interface IrField { readonly name: string, readonly irType: DataType }

export interface OutputField { readonly name: string, readonly type: DataType }

export class RowAggregator {
  readonly plan: Plan
  /** One per tile part, in tile layout order. */
  readonly columns: readonly ColumnAggregator[]
  readonly irSchema: readonly IrField[]
  /** One per windowed output column. */
  readonly outputs: readonly OutputColumn[]
  readonly outputSchema: readonly OutputField[]
  readonly deletable: boolean
  readonly #inputNames: readonly string[]
  readonly #checked: readonly number[]
  readonly #outputPart: Int32Array

  constructor (plan: Plan, inputSchema: readonly StructField[], options: RowAggregatorOptions = {}) {
    this.plan = plan
    const columns = new Map<string, InputColumn>()
    inputSchema.forEach((f, index) => { if (!columns.has(f.name)) columns.set(f.name, { index, type: f.type }) })
    this.#inputNames = inputSchema.map(f => f.name)
    this.columns = plan.tileParts.map(part => {
      try {
        return columnAggregator(part, columns, plan.flavour, plan.name, options)
      } catch (e) {
        if (e instanceof UnsupportedAggregation || (e instanceof Error && !isTilekilnError(e))) {
          throw configError(`${part.name}: ${e.message}`, part.aggregation.path, plan.name)
        }
        throw e
      }
    })
    this.irSchema = plan.tileParts.map((p, i) => ({ name: p.name, irType: this.columns[i]!.irType }))
    this.outputs = plan.outputs
    this.outputSchema = plan.outputs.map(o => ({ name: o.name, type: this.columns[o.part.index]!.outputType }))
    this.deletable = this.columns.some(c => c.deletable)
    this.#checked = this.columns.flatMap((c, i) => (c.check === undefined ? [] : [i]))
    this.#outputPart = Int32Array.from(plan.outputs, o => o.part.index)
  }

  /** An empty tile-layout IR. */
  init (): unknown[] {
    return new Array<unknown>(this.columns.length).fill(null)
  }

  /**
   * Adds one event (`row` positional in input-schema order, `ts` its event time). Throws TilekilnError('TK_INPUT')
   * for an event Chronon cannot aggregate (e.g. a tensor of the wrong length), before changing anything.
   */
  update (irs: unknown[], row: readonly unknown[], ts: number): unknown[] {
    this.#check(irs, row)
    const cols = this.columns
    for (let i = 0; i < cols.length; i++) irs[i] = cols[i]!.update(irs[i], row, ts)
    return irs
  }

  /** Removes one event (entity mutations); operations that cannot delete ignore it, as in Chronon. */
  delete (irs: unknown[], row: readonly unknown[], ts: number): unknown[] {
    if (!this.deletable) return irs
    this.#check(irs, row)
    const cols = this.columns
    for (let i = 0; i < cols.length; i++) irs[i] = cols[i]!.delete(irs[i], row, ts)
    return irs
  }

  merge (a: unknown[], b: readonly unknown[]): unknown[] {
    const cols = this.columns
    for (let i = 0; i < cols.length; i++) a[i] = cols[i]!.merge(a[i], b[i] ?? null)
    return a
  }

  clone (irs: readonly unknown[]): unknown[] { return this.#map(irs, (c, x) => c.clone(x)) }
  /** Avro-encodable IRs (TileCodec input). The result may share structure with `irs`: encode it before mutating. */
  normalize (irs: readonly unknown[]): unknown[] { return this.#map(irs, (c, x) => c.normalize(x)) }
  /** From decoded tile IRs (TileCodec output); may adopt the decoded values. */
  denormalize (normalized: readonly unknown[]): unknown[] { return this.#map(normalized, (c, x) => c.denormalize(x ?? null)) }
  /** Finalized values in tile layout (one per tile part, i.e. as if every window were unbounded). */
  finalize (irs: readonly unknown[]): unknown[] { return this.#map(irs, (c, x) => c.finalize(x)) }

  /** Tile layout → windowed layout, one clone of a part's IR per window (Chronon's expandWindowedTileIr). */
  expand (irs: readonly unknown[]): unknown[] {
    const out = new Array<unknown>(this.#outputPart.length)
    for (let o = 0; o < out.length; o++) {
      const p = this.#outputPart[o]!
      out[o] = this.columns[p]!.clone(irs[p] ?? null)
    }
    return out
  }

  /** Merges windowed IRs column by column (a is mutated, b untouched). */
  mergeWindowed (a: unknown[], b: readonly unknown[]): unknown[] {
    for (let o = 0; o < a.length; o++) a[o] = this.columns[this.#outputPart[o]!]!.merge(a[o], b[o] ?? null)
    return a
  }

  /** Feature values, one per output column, in `outputs` order. */
  finalizeWindowed (windowed: readonly unknown[]): unknown[] {
    const out = new Array<unknown>(windowed.length)
    for (let o = 0; o < out.length; o++) out[o] = this.columns[this.#outputPart[o]!]!.finalize(windowed[o] ?? null)
    return out
  }

  /** A record keyed by column name (a JSON or Avro record) as the positional row `update` takes. */
  toRow (record: Readonly<Record<string, unknown>>): unknown[] {
    return this.#inputNames.map(n => record[n] ?? null)
  }

  #check (irs: readonly unknown[], row: readonly unknown[]): void {
    for (const i of this.#checked) {
      try {
        this.columns[i]!.check!(irs[i], row)
      } catch (e) {
        if (isTilekilnError(e)) {
          throw new TilekilnError(e.code, `${this.plan.tileParts[i]!.name}: ${e.message}`, { ...e.context, groupBy: this.plan.name, column: this.plan.tileParts[i]!.name }, { cause: e })
        }
        throw e
      }
    }
  }

  #map (irs: readonly unknown[], f: (c: ColumnAggregator, x: unknown) => unknown): unknown[] {
    const cols = this.columns
    const out = new Array<unknown>(cols.length)
    for (let i = 0; i < cols.length; i++) {
      const x = irs[i] ?? null
      out[i] = f(cols[i]!, x)
    }
    return out
  }
}
