// Building FnSpecs: the shapes every function family (collection, conditional, datetime, math, misc, string) uses.
// Apart from the registry, which imports the families, so that no import cycle runs through it.

import type { DataType } from '../../api/data-type.ts'
import type { FnSpec, Resolution, ResolveCtx, TExpr } from '../typed.ts'

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
