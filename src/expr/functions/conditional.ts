// IF, COALESCE and friends (lazy: only the chosen branch is evaluated, so they are tree nodes, not calls),
// GREATEST / LEAST, NANVL, TYPEOF, and Spark's cast-named functions (int(x), string(x)…).

import { type DataType, T, isNumeric } from '../../api/data-type.ts'
import { sparkTypeName } from '../runtime/cast.ts'
import { cmpD, comparatorFor } from '../runtime/values.ts'
import type { FnSpec, ResolveCtx, TExpr } from '../typed.ts'
import { commonTypeOf, isOrderable } from '../types.ts'
import { custom } from './spec.ts'

function common (args: readonly TExpr[], ctx: ResolveCtx, what: string, stringPromotion = true): DataType {
  const t = commonTypeOf(args.map(a => a.type), stringPromotion)
  if (t === null) return ctx.fail(`${what} needs arguments of one type, got ${args.map(a => sparkTypeName(a.type).toUpperCase()).join(', ')}`)
  return t
}

function bool (e: TExpr, ctx: ResolveCtx, i: number): TExpr {
  if (e.type.kind === 'boolean') return e
  if (e.type.kind === 'null') return { ...e, type: T.boolean } as TExpr
  return ctx.fail(`expected a BOOLEAN condition, got ${sparkTypeName(e.type).toUpperCase()}`, i)
}

function ifNode (cond: TExpr, then: TExpr, otherwise: TExpr, type: DataType, pos: number): TExpr {
  return { k: 'if', type, nullable: then.nullable || otherwise.nullable, pos, cond, then, otherwise }
}

function coalesceNode (args: readonly TExpr[], type: DataType, pos: number): TExpr {
  return { k: 'coalesce', type, nullable: args.every(a => a.nullable), pos, args }
}

function nullOf (type: DataType, pos: number): TExpr {
  return { k: 'lit', type, nullable: true, pos, value: null }
}

export const conditionalFunctions: FnSpec[] = [
  custom('if', 3, 3, (args, ctx) => {
    const cond = bool(args[0]!, ctx, 0)
    const t = common(args.slice(1), ctx, 'IF')
    return ifNode(cond, ctx.coerce(args[1]!, t, 1), ctx.coerce(args[2]!, t, 2), t, ctx.pos)
  }),
  custom('coalesce', 1, Infinity, (args, ctx) => {
    const t = common(args, ctx, 'COALESCE')
    return coalesceNode(args.map((a, i) => ctx.coerce(a, t, i)), t, ctx.pos)
  }),
  custom(['nvl', 'ifnull'], 2, 2, (args, ctx) => {
    const t = common(args, ctx, 'NVL')
    return coalesceNode(args.map((a, i) => ctx.coerce(a, t, i)), t, ctx.pos)
  }),
  custom('nvl2', 3, 3, (args, ctx) => {
    const t = common(args.slice(1), ctx, 'NVL2')
    const test: TExpr = { k: 'isnull', type: T.boolean, nullable: false, pos: ctx.pos, arg: args[0]!, negated: true }
    return ifNode(test, ctx.coerce(args[1]!, t, 1), ctx.coerce(args[2]!, t, 2), t, ctx.pos)
  }),
  custom('nullif', 2, 2, (args, ctx) => {
    // NULLIF(a, b) = IF(a = b, NULL, a)
    const [a, b] = args as [TExpr, TExpr]
    const test = equality(a, b, ctx)
    return ifNode(test, nullOf(a.type, ctx.pos), a, a.type, ctx.pos)
  }),
  custom('isnull', 1, 1, (args, ctx) => ({ k: 'isnull', type: T.boolean, nullable: false, pos: ctx.pos, arg: args[0]!, negated: false })),
  custom('isnotnull', 1, 1, (args, ctx) => ({ k: 'isnull', type: T.boolean, nullable: false, pos: ctx.pos, arg: args[0]!, negated: true })),
  extremum('greatest', 1),
  extremum('least', -1),
  custom('nanvl', 2, 2, (args, ctx) => {
    const a = ctx.coerce(args[0]!, T.double, 0)
    const b = ctx.coerce(args[1]!, T.double, 1)
    return ctx.call('nanvl', T.double, [a, b], {
      impl: (x: number | null, y: number | null) => (x === null ? null : x !== x ? y : x),
      nullSafe: true,
      nullable: true
    })
  }),
  custom('typeof', 1, 1, (args, ctx) => ({ k: 'lit', type: T.string, nullable: false, pos: ctx.pos, value: sparkTypeName(args[0]!.type) })),
  // Spark registers every type name as a cast function: int('1'), bigint(x), string(x), double(x)…
  castFunction(['boolean'], T.boolean),
  castFunction(['tinyint'], T.byte),
  castFunction(['smallint'], T.short),
  castFunction(['int'], T.int),
  castFunction(['bigint'], T.long),
  castFunction(['float'], T.float),
  castFunction(['double', 'decimal'], T.double),
  castFunction(['string'], T.string),
  castFunction(['binary'], T.binary),
  castFunction(['date'], T.date),
  castFunction(['timestamp'], T.timestamp)
]

function castFunction (names: string[], to: DataType): FnSpec {
  return custom(names, 1, 1, (args, ctx) => ctx.cast(args[0]!, to))
}

/** a = b typed as a comparison (both sides cast to their common type); used by NULLIF. */
function equality (a: TExpr, b: TExpr, ctx: ResolveCtx): TExpr {
  const t = commonTypeOf([a.type, b.type])
  if (t === null) return ctx.fail(`cannot compare ${sparkTypeName(a.type).toUpperCase()} with ${sparkTypeName(b.type).toUpperCase()}`)
  const x = ctx.cast(a, t)
  const y = ctx.cast(b, t)
  const cmp = comparatorFor(t)
  return ctx.call('=', T.boolean, [x, y], { impl: (u: unknown, v: unknown) => cmp(u, v) === 0, nullable: false })
}

/** GREATEST / LEAST skip NULLs (NULL only when all are NULL); NaN is the largest double, as in Spark. */
function extremum (fn: string, sign: 1 | -1): FnSpec {
  return custom(fn, 2, Infinity, (args, ctx) => {
    const t = common(args, ctx, fn.toUpperCase(), false)
    if (!isOrderable(t)) return ctx.fail(`${fn.toUpperCase()} cannot order ${sparkTypeName(t).toUpperCase()} values`)
    const typed = args.map((a, i) => ctx.coerce(a, t, i))
    const cmp = isNumeric(t) && (t.kind === 'double' || t.kind === 'float') ? cmpD as (a: unknown, b: unknown) => number : comparatorFor(t)
    return ctx.call(fn, t, typed, {
      impl: (...vs: unknown[]) => {
        let best: unknown = null
        for (const v of vs) if (v !== null && (best === null || sign * cmp(v, best) > 0)) best = v
        return best
      },
      nullSafe: true,
      nullable: typed.every(a => a.nullable)
    })
  })
}
