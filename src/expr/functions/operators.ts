// Operators: arithmetic, comparison, bitwise, ||, LIKE / RLIKE and unary minus, with Spark's typing.
// These are the hottest nodes, so each has an inline template as well as its impl (the two must agree; the test
// suite runs every case through both the generated code and the interpreter that uses impl).

import { type DataType, T, isIntegral, isNumeric } from '../../api/data-type.ts'
import type { BinaryOp } from '../ast.ts'
import { evalError } from '../errors.ts'
import { sparkTypeName } from '../runtime/cast.ts'
import { type Long, addL, bitL, divL, mulL, negL, notL, remL, subL, toByte, toShort } from '../runtime/numbers.ts'
import { type LikeMatcher, RegexCache, compileJavaRegex, likeToRegex, rlike } from '../runtime/regex.ts'
import { cmpD, cmpS, comparatorFor, eqD, eqL, equalsFor } from '../runtime/values.ts'
import type { Resolution, ResolveCtx, TExpr } from '../typed.ts'
import { comparisonType, isOrderable, numericRank, tightestCommonType } from '../types.ts'

const name = (t: DataType): string => sparkTypeName(t).toUpperCase()

/** The operand type of + - * %: strings count as DOUBLE (Spark casts them), then the wider numeric type. */
function arithmeticType (op: string, l: TExpr, r: TExpr, ctx: ResolveCtx): DataType {
  const lt = l.type.kind === 'string' ? T.double : l.type
  const rt = r.type.kind === 'string' ? T.double : r.type
  if (lt.kind === 'null' && rt.kind === 'null') return T.int
  const t = tightestCommonType(lt, rt)
  if (t === null || !isNumeric(t)) {
    if (l.type.kind === 'date' || r.type.kind === 'date' || l.type.kind === 'timestamp' || r.type.kind === 'timestamp') {
      ctx.fail(`'${op}' on ${name(l.type)} and ${name(r.type)} is not supported; use date_add / datediff, or arithmetic on unix_millis(…)`)
    }
    ctx.fail(`'${op}' needs numbers, got ${name(l.type)} and ${name(r.type)}`)
  }
  return t
}

export function arithmetic (op: Exclude<BinaryOp, '||' | '&' | '|' | '^' | '=' | '<=>' | '!=' | '<' | '<=' | '>' | '>='>, l: TExpr, r: TExpr, ctx: ResolveCtx): TExpr {
  if (op === '/') {
    // `/` is always fractional: both sides become DOUBLE (1 / 2 = 0.5); x / 0 is NULL
    arithmeticType(op, l, r, ctx)
    const a = ctx.coerce(l, T.double, 0)
    const b = ctx.coerce(r, T.double, 1)
    return ctx.call('/', T.double, [a, b], {
      impl: (x: number, y: number) => (y === 0 ? null : x / y),
      inline: ([x, y]) => `(${y} === 0 ? null : ${x} / ${y})`,
      nullable: true
    })
  }
  if (op === 'div') {
    // integral division: both sides become BIGINT, the quotient truncates toward zero; x div 0 is NULL
    arithmeticType(op, l, r, ctx)
    const a = ctx.coerce(l, T.long, 0)
    const b = ctx.coerce(r, T.long, 1)
    return ctx.call('div', T.long, [a, b], {
      impl: (x: Long, y: Long) => (y == 0 ? null : divL(x, y)), // eslint-disable-line eqeqeq
      inline: ([x, y], c) => `(${y} == 0 ? null : ${c.rt('divL')}(${x}, ${y}))`,
      nullable: true
    })
  }
  const t = arithmeticType(op, l, r, ctx)
  const a = ctx.coerce(l, t, 0)
  const b = ctx.coerce(r, t, 1)
  return ctx.call(op, t, [a, b], arithmeticResolution(op, t))
}

function arithmeticResolution (op: '+' | '-' | '*' | '%', t: DataType): Resolution {
  const rem = op === '%'
  switch (t.kind) {
    case 'double':
      return rem
        ? { impl: (x: number, y: number) => (y === 0 ? null : x % y), inline: ([x, y]) => `(${y} === 0 ? null : ${x} % ${y})`, nullable: true }
        : { impl: JS_OP[op], inline: ([x, y]) => `(${x} ${op} ${y})`, nullable: false }
    case 'float':
      return rem
        ? { impl: (x: number, y: number) => (y === 0 ? null : Math.fround(x % y)), nullable: true }
        : { impl: (x: number, y: number) => Math.fround(JS_OP[op](x, y)), inline: ([x, y]) => `Math.fround(${x} ${op} ${y})`, nullable: false }
    case 'long': {
      if (rem) return { impl: (x: Long, y: Long) => (y == 0 ? null : remL(x, y)), inline: ([x, y], c) => `(${y} == 0 ? null : ${c.rt('remL')}(${x}, ${y}))`, nullable: true } // eslint-disable-line eqeqeq
      const f = op === '+' ? 'addL' : op === '-' ? 'subL' : 'mulL'
      const impl = op === '+' ? addL : op === '-' ? subL : mulL
      return { impl, inline: ([x, y], c) => `${c.rt(f)}(${x}, ${y})`, nullable: false }
    }
    default: {
      // byte, short, int: 32-bit arithmetic, then narrowed (Spark's TINYINT + TINYINT is a TINYINT and wraps)
      const narrow = t.kind === 'byte' ? toByte : t.kind === 'short' ? toShort : (v: number) => v | 0
      const wrapper = t.kind === 'byte' ? 'toByte' : t.kind === 'short' ? 'toShort' : null
      if (rem) {
        return {
          impl: (x: number, y: number) => (y === 0 ? null : narrow((x % y) | 0)),
          inline: ([x, y]) => `(${y} === 0 ? null : ((${x} % ${y}) | 0))`,
          nullable: true
        }
      }
      const core = op === '*' ? (x: number, y: number) => Math.imul(x, y) : op === '+' ? (x: number, y: number) => (x + y) | 0 : (x: number, y: number) => (x - y) | 0
      return {
        impl: (x: number, y: number) => narrow(core(x, y)),
        inline: ([x, y], c) => {
          const e = op === '*' ? `Math.imul(${x}, ${y})` : `((${x} ${op} ${y}) | 0)`
          return wrapper === null ? e : `${c.rt(wrapper)}(${e})`
        },
        nullable: false
      }
    }
  }
}

const JS_OP: Record<'+' | '-' | '*', (x: number, y: number) => number> = {
  '+': (x, y) => x + y,
  '-': (x, y) => x - y,
  '*': (x, y) => x * y
}

export function unaryOp (op: '-' | '+' | '~', arg: TExpr, ctx: ResolveCtx): TExpr {
  if (op === '~') {
    if (!isIntegral(arg.type) && arg.type.kind !== 'null') return ctx.fail(`'~' needs an integral number, got ${name(arg.type)}`)
    const t = arg.type.kind === 'null' ? T.int : arg.type
    const a = ctx.coerce(arg, t, 0)
    if (t.kind === 'long') return ctx.call('~', t, [a], { impl: notL, nullable: false })
    const narrow = t.kind === 'byte' ? toByte : t.kind === 'short' ? toShort : (v: number) => v
    return ctx.call('~', t, [a], { impl: (x: number) => narrow(~x), nullable: false })
  }
  const t = arg.type.kind === 'string' ? T.double : arg.type.kind === 'null' ? T.int : arg.type
  if (!isNumeric(t)) return ctx.fail(`unary '${op}' needs a number, got ${name(arg.type)}`)
  const a = ctx.coerce(arg, t, 0)
  if (op === '+') return a
  switch (t.kind) {
    case 'long': return ctx.call('-', t, [a], { impl: negL, inline: ([x], c) => `${c.rt('negL')}(${x})`, nullable: false })
    case 'double': case 'float': return ctx.call('-', t, [a], { impl: (x: number) => -x, inline: ([x]) => `(-${x})`, nullable: false })
    default: {
      const narrow = t.kind === 'byte' ? toByte : t.kind === 'short' ? toShort : (v: number) => v | 0
      return ctx.call('-', t, [a], { impl: (x: number) => narrow(-x), nullable: false })
    }
  }
}

export function bitwise (op: '&' | '|' | '^', l: TExpr, r: TExpr, ctx: ResolveCtx): TExpr {
  const lt = l.type.kind === 'null' ? T.int : l.type
  const rt = r.type.kind === 'null' ? T.int : r.type
  if (!isIntegral(lt) || !isIntegral(rt)) return ctx.fail(`'${op}' needs integral numbers, got ${name(l.type)} and ${name(r.type)}`)
  const t = numericRank(lt) >= numericRank(rt) ? lt : rt
  const a = ctx.coerce(l, t, 0)
  const b = ctx.coerce(r, t, 1)
  if (t.kind === 'long') return ctx.call(op, t, [a, b], { impl: (x: Long, y: Long) => bitL(op, x, y), nullable: false })
  const f = op === '&' ? (x: number, y: number) => x & y : op === '|' ? (x: number, y: number) => x | y : (x: number, y: number) => x ^ y
  return ctx.call(op, t, [a, b], { impl: f, inline: ([x, y]) => `(${x} ${op} ${y})`, nullable: false })
}

/** a || b: string concatenation (atomic values are cast to STRING), or array concatenation. */
export function concatOp (l: TExpr, r: TExpr, ctx: ResolveCtx): TExpr {
  if (l.type.kind === 'list' || r.type.kind === 'list') {
    const t = tightestCommonType(l.type, r.type)
    if (t === null || t.kind !== 'list') return ctx.fail(`'||' cannot join ${name(l.type)} and ${name(r.type)}`)
    return ctx.call('||', t, [ctx.coerce(l, t, 0), ctx.coerce(r, t, 1)], { impl: (x: unknown[], y: unknown[]) => x.concat(y), nullable: false })
  }
  const a = ctx.coerce(l, T.string, 0)
  const b = ctx.coerce(r, T.string, 1)
  return ctx.call('||', T.string, [a, b], { impl: (x: string, y: string) => x + y, inline: ([x, y]) => `(${x} + ${y})`, nullable: false })
}

export function comparison (op: '=' | '<=>' | '!=' | '<' | '<=' | '>' | '>=', l: TExpr, r: TExpr, ctx: ResolveCtx): TExpr {
  const t = comparisonType(l.type, r.type)
  if (t === null) return ctx.fail(`cannot compare ${name(l.type)} with ${name(r.type)}`)
  if (t.kind === 'map') return ctx.fail('MAP values cannot be compared')
  if (op !== '=' && op !== '!=' && op !== '<=>' && !isOrderable(t)) return ctx.fail(`${name(t)} values cannot be ordered`)
  const a = ctx.cast(l, t)
  const b = ctx.cast(r, t)
  if (op === '<=>') {
    const eq = equalsFor(t)
    return ctx.call('<=>', T.boolean, [a, b], {
      impl: (x: unknown, y: unknown) => (x === null ? y === null : y !== null && eq(x, y)),
      nullSafe: true,
      nullable: false
    })
  }
  return ctx.call(op, T.boolean, [a, b], comparisonResolution(op, t))
}

function comparisonResolution (op: '=' | '!=' | '<' | '<=' | '>' | '>=', t: DataType): Resolution {
  switch (t.kind) {
    case 'boolean': case 'byte': case 'short': case 'int': case 'date': case 'string': case 'null':
      if (op === '=' || op === '!=') {
        const js = op === '=' ? '===' : '!=='
        return { impl: op === '=' ? (x: unknown, y: unknown) => x === y : (x: unknown, y: unknown) => x !== y, inline: ([x, y]) => `(${x} ${js} ${y})`, nullable: false }
      }
      if (t.kind === 'string') {
        // UTF-8 byte order, not UTF-16 code units
        return { impl: (x: string, y: string) => ORDER[op](cmpS(x, y)), inline: ([x, y], c) => `(${c.rt('cmpS')}(${x}, ${y}) ${op} 0)`, nullable: false }
      }
      return { impl: JS_CMP[op], inline: ([x, y]) => `(${x} ${op} ${y})`, nullable: false }
    case 'long': case 'timestamp':
      if (op === '=' || op === '!=') {
        return { impl: op === '=' ? eqL : (x: Long, y: Long) => !eqL(x, y), inline: ([x, y], c) => `(${op === '=' ? '' : '!'}${c.rt('eqL')}(${x}, ${y}))`, nullable: false }
      }
      return { impl: JS_CMP[op], inline: ([x, y]) => `(${x} ${op} ${y})`, nullable: false }
    case 'float': case 'double':
      // NaN equals NaN and is larger than everything else
      switch (op) {
        case '=': return { impl: eqD, inline: ([x, y]) => `(${x} === ${y} || (${x} !== ${x} && ${y} !== ${y}))`, nullable: false }
        case '!=': return { impl: (x: number, y: number) => !eqD(x, y), inline: ([x, y]) => `!(${x} === ${y} || (${x} !== ${x} && ${y} !== ${y}))`, nullable: false }
        default: return { impl: (x: number, y: number) => ORDER[op](cmpD(x, y)), inline: ([x, y], c) => `(${c.rt('cmpD')}(${x}, ${y}) ${op} 0)`, nullable: false }
      }
    default: {
      const cmp = comparatorFor(t)
      const eq = equalsFor(t)
      if (op === '=') return { impl: eq, nullable: false }
      if (op === '!=') return { impl: (x: unknown, y: unknown) => !eq(x, y), nullable: false }
      return { impl: (x: unknown, y: unknown) => ORDER[op](cmp(x, y)), nullable: false }
    }
  }
}

const JS_CMP: Record<'<' | '<=' | '>' | '>=', (x: any, y: any) => boolean> = {
  '<': (x, y) => x < y,
  '<=': (x, y) => x <= y,
  '>': (x, y) => x > y,
  '>=': (x, y) => x >= y
}

const ORDER: Record<'<' | '<=' | '>' | '>=', (c: number) => boolean> = {
  '<': c => c < 0,
  '<=': c => c <= 0,
  '>': c => c > 0,
  '>=': c => c >= 0
}

/** LIKE / ILIKE (SQL wildcards) and RLIKE (a Java regex, matched anywhere in the string). */
export function likeOp (op: 'like' | 'ilike' | 'rlike', arg: TExpr, pattern: TExpr, escape: string | null, ctx: ResolveCtx): TExpr {
  const a = ctx.coerce(arg, T.string, 0)
  const p = ctx.coerce(pattern, T.string, 1)
  const constant = ctx.constant(p)
  const esc = escape ?? '\\'
  if (typeof constant === 'string') {
    let re: RegExp | LikeMatcher
    try {
      re = op === 'rlike' ? compileJavaRegex(constant) : likeToRegex(constant, esc, op === 'ilike')
    } catch (e) {
      return ctx.fail((e as Error).message, 1)
    }
    const impl = op === 'rlike' ? (s: string) => rlike(s, re as RegExp) : (s: string) => re.test(s)
    return ctx.call(op, T.boolean, [a], { impl, nullable: false })
  }
  if (constant === null) return ctx.call(op, T.boolean, [a, p], { impl: () => null, nullable: true })
  if (op === 'rlike') {
    const cache = new RegexCache()
    return ctx.call(op, T.boolean, [a, p], { impl: (s: string, pat: string) => rlike(s, cache.get(pat)), nullable: false })
  }
  const likeCache = new Map<string, LikeMatcher>()
  return ctx.call(op, T.boolean, [a, p], {
    impl: (s: string, pat: string) => {
      let re = likeCache.get(pat)
      if (re === undefined) {
        try {
          re = likeToRegex(pat, esc, op === 'ilike')
        } catch (e) {
          return evalError((e as Error).message)
        }
        if (likeCache.size >= 64) likeCache.clear()
        likeCache.set(pat, re)
      }
      return re.test(s)
    },
    nullable: false
  })
}
