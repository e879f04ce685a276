// Running the real engine (worker threads, rings, WASM kernels, LMDB store) inside a test. `options.store` runs it
// into another store instead (which the caller then closes).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DataType, type StructType, T } from '../../src/api/data-type.ts'
import { interpretQuery } from '../../bench/expr-interpreter.ts'
import { parseExpression } from '../../src/expr/parser.ts'
import { TypeChecker } from '../../src/expr/typecheck.ts'
import { compilePlan, type Plan } from '../../src/config/plan.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine, type EngineOptions, type RunSummary } from '../../src/engine/engine.ts'
import type { Metrics } from '../../src/metrics/metrics.ts'
import { fetchFeatures, type HeadTileRule, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import type { TileStore } from '../../src/sink/store.ts'
import type { Source } from '../../src/source/source.ts'
import type { NaiveColumn } from '../reference/naive.ts'
import { Operation } from '../../src/api/group-by.ts'
import { typeToString } from '../../src/api/data-type.ts'

export interface EngineRun {
  readonly summary: RunSummary
  readonly metrics: Metrics
  readonly deadLetters: MemoryDeadLetters
  readonly store: TileStore
  readonly dir: string
  /** Features at `at`, by the head-tile rule given (default: the GroupBy's flavour's). */
  fetch (keyValues: readonly unknown[], at: number, headTile?: HeadTileRule): Promise<Record<string, unknown>>
  cleanup (): Promise<void>
}

export async function runEngine (groupBy: unknown, source: Source, options: Partial<EngineOptions> = {}): Promise<EngineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-test-'))
  const own = options.store === undefined
  const store = options.store ?? new EmbeddedStore(join(dir, 'store'))
  const deadLetters = new MemoryDeadLetters()
  const engine = new Engine({ groupBy, source, store, deadLetters, log: () => {}, ...options })
  const summary = await engine.run()
  const plan = engine.plan
  const read = await loadReadSide(plan, store)
  return {
    summary,
    metrics: engine.metrics,
    deadLetters,
    store,
    dir,
    fetch: async (keyValues, at, headTile) => (await fetchFeatures(read, store, keyValues, at, { headTile })).features,
    cleanup: async () => { if (own) await store.close(); rmSync(dir, { recursive: true, force: true }) }
  }
}

/** The oracle's description of every output column of a plan, given the evaluated row types. */
export function naiveColumns (plan: Plan, rowTypes: StructType): NaiveColumn[] {
  return plan.outputs.map(o => {
    const agg = o.part.aggregation
    const t = rowTypes.fields.find(f => f.name === agg.inputColumn)!.type
    return {
      name: o.name,
      op: Operation[agg.operation]!,
      argMap: agg.argMap,
      inputType: typeToString(t),
      inputColumn: agg.inputColumn,
      bucket: o.part.bucket,
      elementWise: agg.elementWise,
      window: { millis: o.window.unbounded ? null : o.window.millis, hopMillis: o.window.hopMillis }
    }
  })
}

export function planOf (groupBy: unknown): Plan {
  return compilePlan(groupBy)
}

/** One evaluated row of the oracle: its event time (ms) and its columns by name. */
export interface OracleRow { readonly ts: unknown, readonly row: Record<string, unknown> }

export interface OracleQuery {
  /** Types of the evaluated columns (keys, aggregation inputs, buckets), for `naiveColumns`. */
  readonly rowTypes: StructType
  /** The rows one input record makes (none when a where drops it, several when a select EXPLODEs). */
  rows (record: Readonly<Record<string, unknown>>): OracleRow[]
}

/**
 * A GroupBy's selects, wheres and timeColumn evaluated by the naive tree-walking interpreter the expression
 * benchmark uses as its baseline (bench/expr-interpreter.ts), not by the code the engine generates, so an oracle
 * built on these rows checks the engine's evaluation too. Only the parser and type checker are shared.
 */
export function interpretedQuery (plan: Plan, input: StructType): OracleQuery {
  const needed = [...new Set([...plan.keyColumns, ...plan.aggregationInputs])]
  const spec = { selects: plan.source.selects, wheres: plan.source.wheres, timeColumn: plan.source.timeColumn, groupBy: plan.name, path: plan.source.path }
  const run = interpretQuery(spec, input, needed)
  const checker = new TypeChecker(input)
  const typeOf = (name: string): DataType => {
    const text = plan.source.selects === null ? name : plan.source.selects[name]
    if (text === undefined) throw new Error(`no select for '${name}'`)
    return checker.check(parseExpression(text), { allowGenerator: true }).type
  }
  const rowTypes = T.struct('Row', needed.map(name => ({ name, type: typeOf(name) }))) as StructType
  const out: unknown[] = new Array(needed.length + 1).fill(null)
  return {
    rowTypes,
    rows (record) {
      const rows: OracleRow[] = []
      run(record, out, () => {
        const row: Record<string, unknown> = {}
        needed.forEach((n, i) => { row[n] = out[i] })
        rows.push({ ts: out[needed.length], row })
      })
      return rows
    }
  }
}
