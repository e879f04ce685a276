// Running the real engine (worker threads, rings, WASM kernels, LMDB store) inside a test. `options.store` runs it
// into another store instead (which the caller then closes).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StructType } from '../../src/api/data-type.ts'
import { compilePlan, type Plan } from '../../src/config/plan.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine, type EngineOptions, type RunSummary } from '../../src/engine/engine.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import type { TileStore } from '../../src/sink/store.ts'
import type { Source } from '../../src/source/source.ts'
import type { NaiveColumn } from '../reference/naive.ts'
import { Operation } from '../../src/api/group-by.ts'
import { typeToString } from '../../src/api/data-type.ts'

export interface EngineRun {
  readonly summary: RunSummary
  readonly deadLetters: MemoryDeadLetters
  readonly store: TileStore
  readonly dir: string
  fetch (keyValues: readonly unknown[], at: number): Promise<Record<string, unknown>>
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
    deadLetters,
    store,
    dir,
    fetch: async (keyValues, at) => (await fetchFeatures(read, store, keyValues, at)).features,
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
      window: { millis: o.window.unbounded ? null : o.window.millis, hopMillis: o.window.hopMillis }
    }
  })
}

export function planOf (groupBy: unknown): Plan {
  return compilePlan(groupBy)
}
