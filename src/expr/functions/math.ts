// Math functions. ROUND and BROUND round the shortest decimal representation of a double (Spark goes through
// java.math.BigDecimal.valueOf), so round(2.675, 2) is 2.68 although the binary value is slightly below.

import { type DataType, T, isIntegral, isNumeric } from '../../api/data-type.ts'
import { sparkTypeName } from '../runtime/cast.ts'
import { type Long, absL, doubleToLong, pmodL, shiftLeftL, shiftRightL, toByte, toShort } from '../runtime/numbers.ts'
import type { FnSpec, ResolveCtx, TExpr } from '../typed.ts'
import { numericRank } from '../types.ts'
import { arithmetic } from './operators.ts'
import { custom, simple } from './spec.ts'

const D = T.double

function numericArg (a: TExpr, ctx: ResolveCtx, i: number, fn: string): TExpr {
  if (a.type.kind === 'string') return ctx.coerce(a, D, i)
  if (a.type.kind === 'null') return ctx.coerce(a, T.int, i)
  if (!isNumeric(a.type)) return ctx.fail(`${fn.toUpperCase()} needs a number, got ${sparkTypeName(a.type).toUpperCase()}`, i)
  return a
}

type Mode = 'half_up' | 'half_even' | 'floor' | 'ceiling'

/** Rounds x to `scale` decimal places in decimal arithmetic on its shortest representation. */
export function roundDecimal (x: number, scale: number, mode: Mode): number {
  if (!Number.isFinite(x) || x === 0) return x
  const negative = x < 0
  const [mant, expText] = Math.abs(x).toExponential().split('e') as [string, string]
  const digits = mant.replace('.', '')
  const exp = Number(expText)
  const keep = exp + 1 + scale // digits to keep, counted from the first significant one
  if (keep >= digits.length) return x
  let kept = keep <= 0 ? '' : digits.slice(0, keep)
  const dropped = keep <= 0 ? '0'.repeat(-keep) + digits : digits.slice(keep)
  const first = dropped.charCodeAt(0) - 48
  const restNonZero = /[1-9]/.test(dropped.slice(1))
  const anyNonZero = first > 0 || restNonZero
  const last = kept === '' ? 0 : kept.charCodeAt(kept.length - 1) - 48
  let up: boolean
  switch (mode) {
    case 'half_up': up = first >= 5; break
    case 'half_even': up = first > 5 || (first === 5 && (restNonZero || last % 2 === 1)); break
    case 'floor': up = negative && anyNonZero; break
    case 'ceiling': up = !negative && anyNonZero; break
  }
  let keptExp = exp - keep + 1 // power of ten of the last kept digit
  if (kept === '') { kept = '0'; keptExp = -scale }
  let n = BigInt(kept)
  if (up) n += 1n
  const text = `${negative ? '-' : ''}${n}e${keptExp}`
  const r = Number(text)
  return r === 0 && negative ? -0 : r
}

/** ROUND / BROUND of an integral value at a negative scale (positive scales leave it unchanged). */
function roundIntegral (v: Long, scale: number, mode: Mode): bigint {
  const x = BigInt(v)
  if (scale >= 0) return x
  const p = 10n ** BigInt(-scale)
  const q = x / p
  const r = x % p
  const half = p / 2n
  const absR = r < 0n ? -r : r
  let adj = 0n
  if (mode === 'half_up') adj = absR >= half ? 1n : 0n
  else adj = absR > half || (absR === half && (q % 2n !== 0n)) ? 1n : 0n
  const rounded = q + (x < 0n ? -adj : adj)
  return rounded * p
}

function roundFn (fn: 'round' | 'bround', mode: Mode): FnSpec {
  return custom(fn, 1, 2, (args, ctx) => {
    const x = numericArg(args[0]!, ctx, 0, fn)
    const scaleArg = args[1] === undefined ? null : ctx.coerce(args[1], T.int, 1)
    const scale = scaleArg === null ? 0 : ctx.constant(scaleArg)
    if (scaleArg !== null && typeof scale !== 'number') return ctx.fail(`the scale of ${fn.toUpperCase()} must be an integer constant`, 1)
    const s = scale as number
    const t = x.type
    if (isIntegral(t)) {
      const narrow = t.kind === 'long' ? (b: bigint) => normLongFromBig(b) : t.kind === 'int' ? (b: bigint) => Number(BigInt.asIntN(32, b)) : t.kind === 'short' ? (b: bigint) => toShort(Number(BigInt.asIntN(32, b))) : (b: bigint) => toByte(Number(BigInt.asIntN(32, b)))
      return ctx.call(fn, t, [x], { impl: (v: Long) => (s >= 0 ? v : narrow(roundIntegral(v, s, mode))), nullable: false })
    }
    const float = t.kind === 'float'
    return ctx.call(fn, t, [x], { impl: (v: number) => (float ? Math.fround(roundDecimal(v, s, mode)) : roundDecimal(v, s, mode)), nullable: false })
  })
}

function normLongFromBig (b: bigint): Long {
  const w = BigInt.asIntN(64, b)
  return w >= -9007199254740991n && w <= 9007199254740991n ? Number(w) : w
}

/** FLOOR / CEIL: BIGINT for numbers (saturating like Java's Math.floor + (long)); with a scale, a DOUBLE. */
function floorCeil (names: string[], mode: 'floor' | 'ceiling'): FnSpec {
  return custom(names, 1, 2, (args, ctx) => {
    const x = numericArg(args[0]!, ctx, 0, names[0]!)
    if (args[1] !== undefined) {
      const scale = ctx.constant(ctx.coerce(args[1], T.int, 1))
      if (typeof scale !== 'number') return ctx.fail(`the scale of ${names[0]!.toUpperCase()} must be an integer constant`, 1)
      const d = ctx.coerce(x, D, 0)
      return ctx.call(names[0]!, D, [d], { impl: (v: number) => roundDecimal(v, scale, mode), nullable: false })
    }
    if (isIntegral(x.type)) return ctx.coerce(x, T.long, 0)
    const f = mode === 'floor' ? Math.floor : Math.ceil
    return ctx.call(names[0]!, T.long, [ctx.coerce(x, D, 0)], { impl: (v: number) => doubleToLong(f(v)), nullable: false })
  })
}

/** A DOUBLE → DOUBLE function; `asymptote` makes inputs at or below it NULL, as Spark's logarithms do. */
function unaryDouble (names: string | string[], f: (x: number) => number, asymptote?: number): FnSpec {
  const impl = asymptote === undefined ? f : (x: number) => (x <= asymptote ? null : f(x))
  return simple(names, [D], D, impl, { nullable: asymptote !== undefined })
}

function hex (v: unknown): string {
  if (typeof v === 'string') return Buffer.from(v, 'utf8').toString('hex').toUpperCase()
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex').toUpperCase()
  return BigInt.asUintN(64, BigInt(v as Long)).toString(16).toUpperCase()
}

export const mathFunctions: FnSpec[] = [
  custom('abs', 1, 1, (args, ctx) => {
    const x = numericArg(args[0]!, ctx, 0, 'abs')
    switch (x.type.kind) {
      case 'long': return ctx.call('abs', x.type, [x], { impl: absL, nullable: false })
      case 'int': return ctx.call('abs', x.type, [x], { impl: (v: number) => Math.abs(v) | 0, inline: ([v]) => `(Math.abs(${v}) | 0)`, nullable: false })
      case 'short': return ctx.call('abs', x.type, [x], { impl: (v: number) => toShort(Math.abs(v)), nullable: false })
      case 'byte': return ctx.call('abs', x.type, [x], { impl: (v: number) => toByte(Math.abs(v)), nullable: false })
      default: return ctx.call('abs', x.type, [x], { impl: Math.abs, inline: ([v]) => `Math.abs(${v})`, nullable: false })
    }
  }),
  roundFn('round', 'half_up'),
  roundFn('bround', 'half_even'),
  floorCeil(['floor'], 'floor'),
  floorCeil(['ceil', 'ceiling'], 'ceiling'),
  simple(['sign', 'signum'], [D], D, Math.sign, { nullable: false }),
  unaryDouble('sqrt', Math.sqrt),
  unaryDouble('cbrt', Math.cbrt),
  unaryDouble('exp', Math.exp),
  unaryDouble('expm1', Math.expm1),
  unaryDouble('ln', Math.log, 0),
  unaryDouble('log10', Math.log10, 0),
  unaryDouble('log2', Math.log2, 0),
  unaryDouble('log1p', Math.log1p, -1),
  custom('log', 1, 2, (args, ctx) => {
    if (args.length === 1) return unaryDouble('log', Math.log, 0).resolve(args, ctx, [])
    const [b, x] = [ctx.coerce(args[0]!, D, 0), ctx.coerce(args[1]!, D, 1)]
    return ctx.call('log', D, [b, x], { impl: (base: number, v: number) => (base <= 0 || v <= 0 ? null : Math.log(v) / Math.log(base)), nullable: true })
  }),
  simple(['pow', 'power'], [D, D], D, Math.pow, { nullable: false }),
  simple('hypot', [D, D], D, Math.hypot, { nullable: false }),
  unaryDouble('sin', Math.sin), unaryDouble('cos', Math.cos), unaryDouble('tan', Math.tan),
  unaryDouble('asin', Math.asin), unaryDouble('acos', Math.acos), unaryDouble('atan', Math.atan),
  unaryDouble('sinh', Math.sinh), unaryDouble('cosh', Math.cosh), unaryDouble('tanh', Math.tanh),
  simple('atan2', [D, D], D, Math.atan2, { nullable: false }),
  unaryDouble('degrees', x => (x * 180) / Math.PI),
  unaryDouble('radians', x => (x * Math.PI) / 180),
  unaryDouble('rint', x => { const r = Math.round(x); return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r }),
  custom('pi', 0, 0, (_args, ctx) => ({ k: 'lit', type: D, nullable: false, pos: ctx.pos, value: Math.PI })),
  custom('e', 0, 0, (_args, ctx) => ({ k: 'lit', type: D, nullable: false, pos: ctx.pos, value: Math.E })),
  simple('isnan', [D], T.boolean, (x: number) => x !== x, { nullable: false }),
  custom('pmod', 2, 2, (args, ctx) => {
    const a = numericArg(args[0]!, ctx, 0, 'pmod')
    const b = numericArg(args[1]!, ctx, 1, 'pmod')
    const t: DataType = numericRank(a.type) >= numericRank(b.type) ? a.type : b.type
    const x = ctx.coerce(a, t, 0)
    const y = ctx.coerce(b, t, 1)
    if (t.kind === 'long') return ctx.call('pmod', t, [x, y], { impl: (u: Long, v: Long) => (v == 0 ? null : pmodL(u, v)), nullable: true }) // eslint-disable-line eqeqeq
    const narrow = t.kind === 'float' ? Math.fround : (v: number) => v
    return ctx.call('pmod', t, [x, y], {
      impl: (u: number, v: number) => { if (v === 0) return null; const r = u % v; return narrow(r < 0 ? (r + v) % v : r) },
      nullable: true
    })
  }),
  custom('positive', 1, 1, (args, ctx) => numericArg(args[0]!, ctx, 0, 'positive')),
  custom('negative', 1, 1, (args, ctx) => negate(args[0]!, ctx)),
  custom('mod', 2, 2, (args, ctx) => arithmetic('%', args[0]!, args[1]!, ctx)),
  custom('hex', 1, 1, (args, ctx) => {
    const a = args[0]!
    const x = a.type.kind === 'binary' || a.type.kind === 'string' ? a : isIntegral(a.type) ? ctx.coerce(a, T.long, 0) : ctx.coerce(a, T.long, 0)
    return ctx.call('hex', T.string, [x], { impl: hex, nullable: false })
  }),
  simple('unhex', [T.string], T.binary, (s: string) => {
    const t = s.length % 2 === 1 ? '0' + s : s
    return /^[0-9a-fA-F]*$/.test(t) ? new Uint8Array(Buffer.from(t, 'hex')) : null
  }),
  simple('bin', [T.long], T.string, (v: Long) => BigInt.asUintN(64, BigInt(v)).toString(2), { nullable: false }),
  shift('shiftleft', (v, n) => v << n, shiftLeftL),
  shift('shiftright', (v, n) => v >> n, shiftRightL),
  shift('shiftrightunsigned', (v, n) => v >>> n | 0, (v, n) => normLongFromBig(BigInt.asUintN(64, BigInt(v)) >> BigInt(n & 63)))
]

function negate (arg: TExpr, ctx: ResolveCtx): TExpr {
  const x = numericArg(arg, ctx, 0, 'negative')
  switch (x.type.kind) {
    case 'long': return ctx.call('negative', x.type, [x], { impl: (v: Long) => (typeof v === 'number' ? (v === 0 ? 0 : -v) : normLongFromBig(-v)), nullable: false })
    case 'double': case 'float': return ctx.call('negative', x.type, [x], { impl: (v: number) => -v, nullable: false })
    default: return ctx.call('negative', x.type, [x], { impl: (v: number) => -v | 0, nullable: false })
  }
}

function shift (fn: string, int: (v: number, n: number) => number, long: (v: Long, n: number) => Long): FnSpec {
  return custom(fn, 2, 2, (args, ctx) => {
    const a = args[0]!
    const n = ctx.coerce(args[1]!, T.int, 1)
    if (a.type.kind === 'long') return ctx.call(fn, T.long, [a, n], { impl: long, nullable: false })
    const x = ctx.coerce(a, T.int, 0)
    return ctx.call(fn, T.int, [x, n], { impl: int, nullable: false })
  })
}
