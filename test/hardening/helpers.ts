// Shared by the hardening tests (one file per class of attack, issue 12): run the real engine over a file twice —
// the clean records alone, then the same records with the attack mixed in — and compare. The attack must change
// nothing but the dead letters: the store of the attacked run is byte for byte the store of the clean run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EngineOptions } from '../../src/engine/engine.ts'
import { openFileSource, type FileSourceOptions } from '../../src/source/file.ts'
import { runEngine } from '../helpers/engine.ts'
import { storeLines } from '../helpers/store-dump.ts'

export const T0 = 1_700_000_000_000

export interface DeadLetterSeen { readonly position: number, readonly code: string, readonly reason: string }

export interface FileRun {
  /** The whole store, as sorted hex lines. */
  readonly lines: string[]
  /** Dead letters by source position (line number, header included; or record index). */
  readonly dead: DeadLetterSeen[]
  /** Feature values at `T0 + 1 day` for each key asked for. */
  readonly features: Record<string, unknown>[]
}

/** A temporary directory, removed by the returned function. */
export function tempDir (prefix: string): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tilekiln-${prefix}-`))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Runs the engine over `path` (format from the extension) into a fresh embedded store. */
export async function runFile (groupBy: unknown, path: string, o: { source?: Partial<FileSourceOptions>, engine?: Partial<EngineOptions>, keys?: unknown[][] } = {}): Promise<FileRun> {
  const run = await runEngine(groupBy, await openFileSource({ path, ...o.source }), { workers: 2, ...o.engine })
  try {
    const features: Record<string, unknown>[] = []
    for (const k of o.keys ?? []) features.push(await run.fetch(k, T0 + 86_400_000))
    return {
      lines: await storeLines(run.store),
      dead: run.deadLetters.records.map(d => ({ position: d.position, code: d.code, reason: d.reason })).sort((a, b) => a.position - b.position),
      features
    }
  } finally {
    await run.cleanup()
  }
}

export function writeLines (path: string, lines: readonly string[]): string {
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

/** A GroupBy over plain columns: key `k`, COUNT and SUM of `v`, time column `ts`. */
export function groupBy (name: string, aggregations: readonly { inputColumn: string, operation: number }[] = [{ inputColumn: 'v', operation: 6 }, { inputColumn: 'v', operation: 7 }], extra: { wheres?: string[], selects?: Record<string, string> } = {}): unknown {
  return {
    metaData: { name },
    sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: extra.selects ?? { k: 'k', v: 'v' }, wheres: extra.wheres, timeColumn: 'ts' } } }],
    keyColumns: ['k'],
    aggregations
  }
}
