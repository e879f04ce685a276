// The function registry: name (lower case) → FnSpec. Each family lives in its own module and exports a list.

import type { DataType } from '../../api/data-type.ts'
import type { FnSpec, Resolution, ResolveCtx, TExpr } from '../typed.ts'
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

/**
 * A function with fixed parameter types: arguments are implicitly cast to them, a NULL argument makes the result
 * NULL. Trailing parameters past `min` are optional.
 */
export function simple (
  names: string | readonly string[],
  params: readonly DataType[],
  ret: DataType,
  impl: (...args: any[]) => unknown,
  opts: { min?: number, nullable?: boolean, inline?: Resolution['inline'] } = {}
): FnSpec {
  const list = typeof names === 'string' ? [names] : names
  return {
    names: list,
    minArgs: opts.min ?? params.length,
    maxArgs: params.length,
    resolve: (args, ctx) => {
      const typed = args.map((a, i) => ctx.coerce(a, params[i]!, i))
      const res: Resolution = { impl, nullable: opts.nullable ?? true, ...(opts.inline !== undefined && typed.length === params.length ? { inline: opts.inline } : {}) }
      return ctx.call(list[0]!, ret, typed, res)
    }
  }
}

/** A function whose resolution depends on its argument types. */
export function custom (
  names: string | readonly string[],
  minArgs: number,
  maxArgs: number,
  resolve: (args: readonly TExpr[], ctx: ResolveCtx) => TExpr
): FnSpec {
  return { names: typeof names === 'string' ? [names] : names, minArgs, maxArgs, resolve: (args, ctx) => resolve(args, ctx) }
}

/** A constant-argument requirement (a format, a regex…): its value, or a type error. */
export function constantString (arg: TExpr, ctx: ResolveCtx, i: number, what: string): string | null | undefined {
  const v = ctx.constant(arg)
  if (v === undefined) return undefined
  if (v !== null && typeof v !== 'string') return ctx.fail(`${what} must be a string`, i)
  return v as string | null
}
