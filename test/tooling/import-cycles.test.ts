// No import cycles in src/ (a module that imports, at run time, one that imports it back sees it half-initialised
// depending on which was loaded first). Type-only imports vanish when compiled and do not count.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { repoRoot } from '../helpers/reference.ts'

function sources (dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) sources(p, out)
    else if (p.endsWith('.ts')) out.push(resolve(p))
  }
  return out
}

/** Module → the modules it imports at run time (relative imports; `import type` and `export type` excluded). */
export function importGraph (files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const f of files) {
    const deps: string[] = []
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
      if (m[1] === undefined) deps.push(resolve(dirname(f), m[2]!))
    }
    graph.set(f, deps)
  }
  return graph
}

export function cycles (graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = []
  const done = new Set<string>()
  const stack: string[] = []
  const visit = (n: string): void => {
    stack.push(n)
    for (const d of graph.get(n) ?? []) {
      const at = stack.indexOf(d)
      if (at >= 0) found.push([...stack.slice(at), d])
      else if (!done.has(d)) visit(d)
    }
    stack.pop()
    done.add(n)
  }
  for (const n of graph.keys()) if (!done.has(n)) visit(n)
  return found
}

test('src/ has no import cycle', () => {
  const found = cycles(importGraph(sources(join(repoRoot, 'src')))).map(c => c.map(f => relative(repoRoot, f)).join(' → '))
  assert.deepEqual(found, [])
})

test('the cycle finder finds a cycle', () => {
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c', 'a']])
})
