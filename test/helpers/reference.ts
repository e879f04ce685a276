// Locates the Chronon reference material in test/fixtures/ (golden vectors, compiled GroupBys, quickstart events the
// tests check against; test/fixtures/README.md says where each file comes from).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root (tests run from dist/test/…). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export function referencePath (...parts: string[]): string {
  const base = process.env.TILEKILN_REFERENCE ?? join(repoRoot, 'test', 'fixtures')
  const p = join(base, ...parts)
  if (!existsSync(p)) throw new Error(`reference file ${p} is missing (test/fixtures/ holds the reference material; TILEKILN_REFERENCE overrides it)`)
  return p
}

export function readReferenceJson<T = any> (...parts: string[]): T {
  return JSON.parse(readFileSync(referencePath(...parts), 'utf8')) as T
}

export interface GoldenCase { id: string, [k: string]: any }

export function goldenCase (id: string): GoldenCase {
  const all = readReferenceJson<{ cases: GoldenCase[] }>('chronon', 'golden', 'chronon_golden_vectors.json')
  const c = all.cases.find(x => x.id === id)
  if (c === undefined) throw new Error(`golden case ${id} not found`)
  return c
}

export function groupByPath (relative: string): string {
  return referencePath('chronon', 'group_bys', relative)
}
