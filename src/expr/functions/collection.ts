// Arrays, maps and structs: constructors, accessors, and the higher-order functions that take lambdas.
//
// Maps are plain objects with own string keys (the engine's value model), so a map built by MAP(1, 'a') stores
// the key as '1'; functions that hand keys back (map_keys, map_entries) convert them to the declared key type.
// Object key order puts integer-like keys first, so the order of map_keys may differ from Spark's insertion order.

import { type DataType, T } from '../../api/data-type.ts'
import { evalError } from '../errors.ts'
import { sparkTypeName } from '../runtime/cast.ts'
import { type Long, addL, normLong } from '../runtime/numbers.ts'
import { RegexCache, splitLiteral, splitRegex, isLiteralPattern } from '../runtime/regex.ts'
import { comparatorFor, equalsFor, keyText, mapEntries, mapGet, mapSize, setOwn } from '../runtime/values.ts'
import type { FnSpec, ResolveCtx, TExpr } from '../typed.ts'
import { commonTypeOf, isOrderable } from '../types.ts'
import { custom } from './spec.ts'

const name = (t: DataType): string => sparkTypeName(t).toUpperCase()

function arrayArg (a: TExpr, ctx: ResolveCtx, i: number, fn: string): DataType {
  if (a.type.kind === 'list') return a.type.elem
  if (a.type.kind === 'null') return T.null
  return ctx.fail(`${fn.toUpperCase()} needs an array, got ${name(a.type)}`, i)
}

function mapArg (a: TExpr, ctx: ResolveCtx, i: number, fn: string): Extract<DataType, { kind: 'map' }> {
  if (a.type.kind === 'map') return a.type
  return ctx.fail(`${fn.toUpperCase()} needs a map, got ${name(a.type)}`, i)
}

/** Turns a stored (string) map key back into a value of the key type. */
export function keyFromText (t: DataType): (k: string) => unknown {
  switch (t.kind) {
    case 'string': return k => k
    case 'boolean': return k => k === 'true'
    case 'long': case 'timestamp': return k => { const n = Number(k); return Number.isSafeInteger(n) ? n : normLong(BigInt(k)) }
    case 'byte': case 'short': case 'int': case 'date': case 'float': case 'double': return k => Number(k)
    default: return k => k
  }
}

/** Element search with Spark's NULL rules: true if found, NULL if not found but the array holds a NULL, else false. */
function contains (a: unknown[], v: unknown, eq: (x: unknown, y: unknown) => boolean): boolean | null {
  let sawNull = false
  for (const x of a) {
    if (x === null || x === undefined) { sawNull = true; continue }
    if (eq(x, v)) return true
  }
  return sawNull ? null : false
}

function dedupe (a: readonly unknown[], eq: (x: unknown, y: unknown) => boolean): unknown[] {
  const out: unknown[] = []
  let hasNull = false
  for (const x of a) {
    if (x === null || x === undefined) { if (!hasNull) { hasNull = true; out.push(null) } continue }
    if (!out.some(y => y !== null && eq(x, y))) out.push(x)
  }
  return out
}

function sortWithNulls (a: readonly unknown[], cmp: (x: unknown, y: unknown) => number, asc: boolean, nullsFirst: boolean): unknown[] {
  const nulls = a.filter(x => x === null || x === undefined).map(() => null)
  const vals = a.filter(x => x !== null && x !== undefined).sort((x, y) => (asc ? cmp(x, y) : cmp(y, x)))
  return nullsFirst ? [...nulls, ...vals] : [...vals, ...nulls]
}

function buildMap (keys: readonly unknown[], values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    if (k === null || k === undefined) evalError('cannot use NULL as a map key')
    const text = keyText(k)
    // spark.sql.mapKeyDedupPolicy defaults to EXCEPTION
    if (Object.hasOwn(out, text)) evalError(`duplicate map key ${text} (Spark's default mapKeyDedupPolicy is EXCEPTION)`)
    setOwn(out, text, values[i] ?? null)
  }
  return out
}

/** TRANSFORM / FILTER / EXISTS / FORALL: the lambda sees the element and, optionally, its index. */
function hof (fn: 'transform' | 'filter' | 'exists' | 'forall'): FnSpec {
  return {
    names: [fn],
    minArgs: 2,
    maxArgs: 2,
    rawArgs: true,
    resolve: (_args, ctx, raw) => {
      const arr = ctx.check(raw[0]!)
      const elem = arrayArg(arr, ctx, 0, fn)
      const lambda = ctx.lambda(raw[1]!, fn === 'transform' || fn === 'filter' ? [elem, T.int] : [elem], 1)
      if (fn !== 'transform' && lambda.body.type.kind !== 'boolean' && lambda.body.type.kind !== 'null') {
        ctx.fail(`the lambda of ${fn.toUpperCase()} must return a BOOLEAN, not ${name(lambda.body.type)}`, 1)
      }
      const type = fn === 'transform' ? T.list(lambda.body.type) : fn === 'filter' ? arr.type : T.boolean
      const nullable = arr.nullable || ((fn === 'exists' || fn === 'forall') && lambda.body.nullable)
      return { k: 'hof', type, nullable, pos: ctx.pos, fn, arr, lambda }
    }
  }
}

const aggregate: FnSpec = {
  names: ['aggregate', 'reduce'],
  minArgs: 3,
  maxArgs: 4,
  rawArgs: true,
  resolve: (_args, ctx, raw) => {
    const arr = ctx.check(raw[0]!)
    const elem = arrayArg(arr, ctx, 0, 'aggregate')
    const zero = ctx.check(raw[1]!)
    const merge = ctx.lambda(raw[2]!, [zero.type, elem], 2)
    if (merge.body.type.kind !== zero.type.kind || name(merge.body.type) !== name(zero.type)) {
      ctx.fail(`the merge lambda of AGGREGATE returns ${name(merge.body.type)} but the start value is ${name(zero.type)}; give a start value of the result type (e.g. 0L, 0D, CAST(0 AS …))`, 2)
    }
    const finish = raw[3] === undefined ? null : ctx.lambda(raw[3], [zero.type], 3)
    const type = finish === null ? zero.type : finish.body.type
    return { k: 'aggregate', type, nullable: true, pos: ctx.pos, arr, zero, merge, finish }
  }
}

const generatorRefusal = (fn: string): FnSpec => custom(fn, 1, 1, (_a, ctx) => ctx.fail(`${fn.toUpperCase()} is only allowed as a whole select expression`))

export const collectionFunctions: FnSpec[] = [
  custom(['size', 'cardinality'], 1, 1, (args, ctx) => {
    const a = args[0]!
    if (a.type.kind !== 'list' && a.type.kind !== 'map' && a.type.kind !== 'null') return ctx.fail(`SIZE needs an array or a map, got ${name(a.type)}`, 0)
    // with the default spark.sql.legacy.sizeOfNull, SIZE(NULL) is -1
    const isMap = a.type.kind === 'map'
    return ctx.call('size', T.int, [a], { impl: (v: unknown) => (v === null ? -1 : isMap ? mapSize(v) : (v as unknown[]).length), nullSafe: true, nullable: false })
  }),
  custom('array_size', 1, 1, (args, ctx) => {
    arrayArg(args[0]!, ctx, 0, 'array_size')
    return ctx.call('array_size', T.int, args, { impl: (v: unknown[]) => v.length, nullable: false })
  }),
  custom('element_at', 2, 2, (args, ctx) => {
    const [c, k] = args as [TExpr, TExpr]
    if (c.type.kind === 'map') {
      const key = ctx.coerce(k, c.type.key, 1)
      return ctx.call('element_at', c.type.value, [c, key], { impl: mapGet, nullable: true })
    }
    const elem = arrayArg(c, ctx, 0, 'element_at')
    const i = ctx.coerce(k, T.int, 1)
    if (ctx.constant(i) === 0) return ctx.fail('SQL array indices start at 1 (element_at with index 0)', 1)
    return ctx.call('element_at', elem, [c, i], {
      impl: (a: unknown[], idx: number) => {
        if (idx === 0) evalError('SQL array indices start at 1 (element_at with index 0)')
        const j = idx > 0 ? idx - 1 : a.length + idx
        return j >= 0 && j < a.length ? a[j] ?? null : null
      },
      nullable: true
    })
  }),
  custom('get', 2, 2, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'get')
    const i = ctx.coerce(args[1]!, T.int, 1)
    return ctx.call('get', elem, [args[0]!, i], { impl: (a: unknown[], idx: number) => (idx >= 0 && idx < a.length ? a[idx] ?? null : null), nullable: true })
  }),
  custom('array_contains', 2, 2, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'array_contains')
    const t = commonTypeOf([elem, args[1]!.type], false)
    if (t === null) return ctx.fail(`ARRAY_CONTAINS cannot look for ${name(args[1]!.type)} in an array of ${name(elem)}`, 1)
    const arr = ctx.coerce(args[0]!, T.list(t), 0)
    const v = ctx.coerce(args[1]!, t, 1)
    const eq = equalsFor(t)
    return ctx.call('array_contains', T.boolean, [arr, v], { impl: (a: unknown[], x: unknown) => contains(a, x, eq), nullable: true })
  }),
  custom('array', 0, Infinity, (args, ctx) => {
    const t = commonTypeOf(args.map(a => a.type))
    if (t === null) return ctx.fail(`ARRAY needs elements of one type, got ${args.map(a => name(a.type)).join(', ')}`)
    const typed = args.map((a, i) => ctx.coerce(a, t, i))
    return ctx.call('array', T.list(t), typed, { impl: (...xs: unknown[]) => xs, nullSafe: true, nullable: false })
  }),
  minMax('array_min', -1),
  minMax('array_max', 1),
  custom('array_repeat', 2, 2, (args, ctx) => {
    const n = ctx.coerce(args[1]!, T.int, 1)
    return ctx.call('array_repeat', T.list(args[0]!.type), [args[0]!, n], {
      impl: (v: unknown, count: number | null) => (count === null ? null : new Array(Math.max(0, count)).fill(v)),
      nullSafe: true,
      nullable: n.nullable
    })
  }),
  custom('array_join', 2, 3, (args, ctx) => {
    const arr = ctx.coerce(args[0]!, T.list(T.string), 0)
    const rest = args.slice(1).map((a, i) => ctx.coerce(a, T.string, i + 1))
    return ctx.call('array_join', T.string, [arr, ...rest], {
      impl: (a: (string | null)[], d: string, nullRep?: string) => a.flatMap(x => (x === null || x === undefined ? (nullRep === undefined ? [] : [nullRep]) : [x])).join(d),
      nullable: false
    })
  }),
  custom('array_distinct', 1, 1, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'array_distinct')
    const eq = equalsFor(elem)
    return ctx.call('array_distinct', args[0]!.type, args, { impl: (a: unknown[]) => dedupe(a, eq), nullable: false })
  }),
  custom('array_remove', 2, 2, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'array_remove')
    const v = ctx.coerce(args[1]!, elem, 1)
    const eq = equalsFor(elem)
    return ctx.call('array_remove', args[0]!.type, [args[0]!, v], { impl: (a: unknown[], x: unknown) => a.filter(e => e === null || e === undefined || !eq(e, x)), nullable: false })
  }),
  custom('array_position', 2, 2, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'array_position')
    const v = ctx.coerce(args[1]!, elem, 1)
    const eq = equalsFor(elem)
    return ctx.call('array_position', T.long, [args[0]!, v], { impl: (a: unknown[], x: unknown) => a.findIndex(e => e !== null && e !== undefined && eq(e, x)) + 1, nullable: false })
  }),
  custom('arrays_overlap', 2, 2, (args, ctx) => {
    const t = commonTypeOf([args[0]!.type, args[1]!.type])
    if (t === null || t.kind !== 'list') return ctx.fail('ARRAYS_OVERLAP needs two arrays of one type')
    const eq = equalsFor(t.elem)
    return ctx.call('arrays_overlap', T.boolean, [ctx.coerce(args[0]!, t, 0), ctx.coerce(args[1]!, t, 1)], {
      impl: (a: unknown[], b: unknown[]) => {
        let sawNull = false
        for (const x of a) {
          if (x === null || x === undefined) { sawNull = true; continue }
          const r = contains(b, x, eq)
          if (r === true) return true
          if (r === null) sawNull = true
        }
        return sawNull && a.length > 0 && b.length > 0 ? null : false
      },
      nullable: true
    })
  }),
  setOp('array_union', (a, b, eq) => dedupe([...a, ...b], eq)),
  setOp('array_intersect', (a, b, eq) => dedupe(a.filter(x => (x === null || x === undefined) ? b.some(y => y === null || y === undefined) : b.some(y => y !== null && y !== undefined && eq(x, y))), eq)),
  setOp('array_except', (a, b, eq) => dedupe(a.filter(x => (x === null || x === undefined) ? !b.some(y => y === null || y === undefined) : !b.some(y => y !== null && y !== undefined && eq(x, y))), eq)),
  custom('sort_array', 1, 2, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'sort_array')
    if (!isOrderable(elem)) return ctx.fail(`SORT_ARRAY cannot order ${name(elem)} values`, 0)
    const asc = args[1] === undefined ? true : ctx.constant(ctx.coerce(args[1], T.boolean, 1))
    if (typeof asc !== 'boolean') return ctx.fail('the sort order of SORT_ARRAY must be a BOOLEAN constant', 1)
    const cmp = comparatorFor(elem)
    // ascending puts NULLs first, descending last
    return ctx.call('sort_array', args[0]!.type, [args[0]!], { impl: (a: unknown[]) => sortWithNulls(a, cmp, asc, asc), nullable: false })
  }),
  custom('array_sort', 1, 1, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'array_sort')
    if (!isOrderable(elem)) return ctx.fail(`ARRAY_SORT cannot order ${name(elem)} values`, 0)
    const cmp = comparatorFor(elem)
    return ctx.call('array_sort', args[0]!.type, args, { impl: (a: unknown[]) => sortWithNulls(a, cmp, true, false), nullable: false })
  }),
  custom('slice', 3, 3, (args, ctx) => {
    arrayArg(args[0]!, ctx, 0, 'slice')
    const s = ctx.coerce(args[1]!, T.int, 1)
    const l = ctx.coerce(args[2]!, T.int, 2)
    return ctx.call('slice', args[0]!.type, [args[0]!, s, l], {
      impl: (a: unknown[], start: number, len: number) => {
        if (start === 0) evalError('SQL array indices start at 1 (slice with start 0)')
        if (len < 0) evalError(`the length of slice must be at least 0, got ${len}`)
        const from = start > 0 ? start - 1 : a.length + start
        if (from < 0 || from >= a.length) return []
        return a.slice(from, from + len)
      },
      nullable: false
    })
  }),
  custom('flatten', 1, 1, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, 'flatten')
    if (elem.kind !== 'list') return ctx.fail(`FLATTEN needs an array of arrays, got ${name(args[0]!.type)}`, 0)
    return ctx.call('flatten', elem, args, {
      impl: (a: (unknown[] | null)[]) => (a.some(x => x === null || x === undefined) ? null : ([] as unknown[]).concat(...(a as unknown[][]))),
      nullable: true
    })
  }),
  custom('sequence', 2, 3, (args, ctx) => {
    const t = commonTypeOf(args.map(a => a.type), false)
    if (t === null || (t.kind !== 'int' && t.kind !== 'long' && t.kind !== 'byte' && t.kind !== 'short')) return ctx.fail('SEQUENCE supports integral bounds only')
    const typed = args.map((a, i) => ctx.coerce(a, t, i))
    return ctx.call('sequence', T.list(t), typed, {
      impl: (start: Long, stop: Long, step?: Long) => {
        const st = step ?? (stop >= start ? 1 : -1)
        if (st == 0 || (st > 0 && start > stop) || (st < 0 && start < stop)) evalError(`illegal sequence boundaries: ${start} to ${stop} by ${st}`) // eslint-disable-line eqeqeq
        const out: Long[] = []
        for (let v = start; st > 0 ? v <= stop : v >= stop; v = addL(v, st)) {
          out.push(v)
          if (out.length > 1_000_000) evalError('SEQUENCE would produce more than 1,000,000 elements')
        }
        return out
      },
      nullable: false
    })
  }),
  custom('map', 0, Infinity, (args, ctx) => {
    if (args.length % 2 !== 0) return ctx.fail('MAP needs an even number of arguments (key, value, key, value…)')
    const keys = args.filter((_, i) => i % 2 === 0)
    const values = args.filter((_, i) => i % 2 === 1)
    const kt = commonTypeOf(keys.map(k => k.type)) ?? ctx.fail('MAP keys must have one type')
    const vt = commonTypeOf(values.map(v => v.type)) ?? ctx.fail('MAP values must have one type')
    if (kt.kind === 'map') return ctx.fail('a MAP key cannot be a map')
    const typed = args.map((a, i) => ctx.coerce(a, i % 2 === 0 ? kt : vt, i))
    return ctx.call('map', T.map(kt, vt), typed, {
      impl: (...xs: unknown[]) => buildMap(xs.filter((_, i) => i % 2 === 0), xs.filter((_, i) => i % 2 === 1)),
      nullSafe: true,
      nullable: false
    })
  }),
  custom('map_from_arrays', 2, 2, (args, ctx) => {
    const kt = arrayArg(args[0]!, ctx, 0, 'map_from_arrays')
    const vt = arrayArg(args[1]!, ctx, 1, 'map_from_arrays')
    return ctx.call('map_from_arrays', T.map(kt, vt), args, {
      impl: (ks: unknown[], vs: unknown[]) => {
        if (ks.length !== vs.length) evalError('the key array and the value array of map_from_arrays must have the same length')
        return buildMap(ks, vs)
      },
      nullable: false
    })
  }),
  custom('map_keys', 1, 1, (args, ctx) => {
    const t = mapArg(args[0]!, ctx, 0, 'map_keys')
    const back = keyFromText(t.key)
    return ctx.call('map_keys', T.list(t.key), args, { impl: (m: unknown) => mapEntries(m).map(([k]) => back(k)), nullable: false })
  }),
  custom('map_values', 1, 1, (args, ctx) => {
    const t = mapArg(args[0]!, ctx, 0, 'map_values')
    return ctx.call('map_values', T.list(t.value), args, { impl: (m: unknown) => mapEntries(m).map(([, v]) => v ?? null), nullable: false })
  }),
  custom('map_entries', 1, 1, (args, ctx) => {
    const t = mapArg(args[0]!, ctx, 0, 'map_entries')
    const back = keyFromText(t.key)
    const type = T.list(T.struct('Struct', [{ name: 'key', type: t.key }, { name: 'value', type: t.value }]))
    return ctx.call('map_entries', type, args, { impl: (m: unknown) => mapEntries(m).map(([k, v]) => ({ key: back(k), value: v ?? null })), nullable: false })
  }),
  custom('map_contains_key', 2, 2, (args, ctx) => {
    const t = mapArg(args[0]!, ctx, 0, 'map_contains_key')
    const k = ctx.coerce(args[1]!, t.key, 1)
    return ctx.call('map_contains_key', T.boolean, [args[0]!, k], { impl: (m: unknown, key: unknown) => mapGet(m, key) !== null || hasKey(m, key), nullable: false })
  }),
  custom('str_to_map', 1, 3, (args, ctx) => {
    const typed = args.map((a, i) => ctx.coerce(a, T.string, i))
    const cache = new RegexCache()
    const splitBy = (s: string, d: string, limit: number): string[] => (isLiteralPattern(d) ? splitLiteral(s, d, limit) : splitRegex(s, cache.get(d), limit))
    return ctx.call('str_to_map', T.map(T.string, T.string), typed, {
      // both delimiters are regular expressions, as in Spark
      impl: (text: string, pairDelim = ',', kvDelim = ':') => {
        const out: Record<string, unknown> = {}
        for (const pair of splitBy(text, pairDelim, -1)) {
          const [k, v] = splitBy(pair, kvDelim, 2) as [string, string | undefined]
          if (Object.hasOwn(out, k)) evalError(`duplicate map key ${k} (Spark's default mapKeyDedupPolicy is EXCEPTION)`)
          setOwn(out, k, v ?? null)
        }
        return out
      },
      nullable: false
    })
  }),
  custom('named_struct', 0, Infinity, (args, ctx) => {
    if (args.length % 2 !== 0) return ctx.fail('NAMED_STRUCT needs name, value pairs')
    const names: string[] = []
    const values: TExpr[] = []
    for (let i = 0; i < args.length; i += 2) {
      const n = ctx.constant(args[i]!)
      if (typeof n !== 'string') return ctx.fail('the field names of NAMED_STRUCT must be string constants', i)
      names.push(n)
      values.push(args[i + 1]!)
    }
    const type = T.struct('Struct', names.map((n, i) => ({ name: n, type: values[i]!.type })))
    return { k: 'struct', type, nullable: false, pos: ctx.pos, names, args: values }
  }),
  hof('transform'),
  hof('filter'),
  hof('exists'),
  hof('forall'),
  aggregate,
  generatorRefusal('explode'),
  generatorRefusal('explode_outer'),
  generatorRefusal('posexplode')
]

function hasKey (m: unknown, key: unknown): boolean {
  const k = keyText(key)
  return m instanceof Map ? m.has(k) : Object.hasOwn(m as object, k)
}

function minMax (fn: string, sign: 1 | -1): FnSpec {
  return custom(fn, 1, 1, (args, ctx) => {
    const elem = arrayArg(args[0]!, ctx, 0, fn)
    if (!isOrderable(elem)) return ctx.fail(`${fn.toUpperCase()} cannot order ${name(elem)} values`, 0)
    const cmp = comparatorFor(elem)
    return ctx.call(fn, elem, args, {
      impl: (a: unknown[]) => {
        let best: unknown = null
        for (const x of a) if (x !== null && x !== undefined && (best === null || sign * cmp(x, best) > 0)) best = x
        return best
      },
      nullable: true
    })
  })
}

function setOp (fn: string, op: (a: unknown[], b: unknown[], eq: (x: unknown, y: unknown) => boolean) => unknown[]): FnSpec {
  return custom(fn, 2, 2, (args, ctx) => {
    const t = commonTypeOf([args[0]!.type, args[1]!.type])
    if (t === null || t.kind !== 'list') return ctx.fail(`${fn.toUpperCase()} needs two arrays of one type`)
    const eq = equalsFor(t.elem)
    return ctx.call(fn, t, [ctx.coerce(args[0]!, t, 0), ctx.coerce(args[1]!, t, 1)], { impl: (a: unknown[], b: unknown[]) => op(a, b, eq), nullable: false })
  })
}
