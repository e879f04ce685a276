// The function registry: name (lower case) → FnSpec. Each family lives in its own module and exports a list; the
// helpers the families build their FnSpecs with are in spec.ts, so no family imports the registry back.

import type { FnSpec } from '../typed.ts'
import { collectionFunctions } from './collection.ts'
import { conditionalFunctions } from './conditional.ts'
import { datetimeFunctions } from './datetime.ts'
import { mathFunctions } from './math.ts'
import { miscFunctions } from './misc.ts'
import { stringFunctions } from './string.ts'

let registry: Map<string, FnSpec> | null = null

export function lookupFunction (name: string): FnSpec | undefined {
  if (registry === null) {
    registry = new Map()
    for (const spec of [...conditionalFunctions, ...stringFunctions, ...mathFunctions, ...collectionFunctions, ...datetimeFunctions, ...miscFunctions]) {
      for (const n of spec.names) {
        if (registry.has(n)) throw new Error(`function ${n} is registered twice`)
        registry.set(n, spec)
      }
    }
  }
  return registry.get(name.toLowerCase())
}

export function functionNames (): string[] {
  lookupFunction('if')
  return [...registry!.keys()].sort()
}
