// CAST between types with Spark's non-ANSI semantics: a value that does not convert becomes NULL, integral
// narrowing wraps like Java, double → integral saturates. Each cast is compiled once per (from, to) pair into a
// function of a non-null value; callers handle NULL inputs.

import { type DataType, isIntegral, isNumeric, typesEqual } from '../../api/data-type.ts'
import {
  MICROS_PER_DAY, MICROS_PER_SECOND, floorDiv, formatDate, formatTimestamp, parseDateLiteral, parseTimestampLiteral
} from './datetime.ts'
import {
  INT_MAX, INT_MIN, type Long, doubleToInt, doubleToLong, doubleToString, floatToString, longToByte, longToDouble,
  longToInt, longToShort, normLong, parseDouble, parseIntegral, parseLong, toByte, toShort, trimControl
} from './numbers.ts'
import { fromUtf8, mapEntries, setOwn, structField, utf8 } from './values.ts'

export type CastFn = (v: any) => unknown

/** Why a cast is refused at start-up, or null when Spark allows it. */
export function castProblem (from: DataType, to: DataType): string | null {
  if (from.kind === 'null' || typesEqual(from, to)) return null
  if (to.kind === 'string') return from.kind === 'list' || from.kind === 'map' || from.kind === 'struct' ? nestedProblem(from, to) : null
  switch (to.kind) {
    case 'boolean':
      return isNumeric(from) || from.kind === 'string' || from.kind === 'timestamp' ? null : refuse(from, to)
    case 'byte': case 'short': case 'int': case 'long': case 'float': case 'double':
      if (isNumeric(from) || from.kind === 'string' || from.kind === 'boolean' || from.kind === 'timestamp') return null
      return from.kind === 'date' ? `cannot cast DATE to ${to.kind.toUpperCase()}; use unix_date(…) for the day number` : refuse(from, to)
    case 'binary': return from.kind === 'string' || isIntegral(from) ? null : refuse(from, to)
    case 'date': return from.kind === 'string' || from.kind === 'timestamp' ? null : refuse(from, to)
    case 'timestamp': return isNumeric(from) || from.kind === 'string' || from.kind === 'date' || from.kind === 'boolean' ? null : refuse(from, to)
    case 'list': case 'map': case 'struct': return nestedProblem(from, to)
  }
  return refuse(from, to)
}

function nestedProblem (from: DataType, to: DataType): string | null {
  if (to.kind === 'string') {
    if (from.kind === 'list') return castProblem(from.elem, to)
    if (from.kind === 'map') return castProblem(from.key, to) ?? castProblem(from.value, to)
    if (from.kind === 'struct') { for (const f of from.fields) { const p = castProblem(f.type, to); if (p !== null) return p } return null }
  }
  if (from.kind === 'list' && to.kind === 'list') return castProblem(from.elem, to.elem)
  if (from.kind === 'map' && to.kind === 'map') return castProblem(from.key, to.key) ?? castProblem(from.value, to.value)
  if (from.kind === 'struct' && to.kind === 'struct') {
    if (from.fields.length !== to.fields.length) return `cannot cast a struct of ${from.fields.length} fields to one of ${to.fields.length}`
    for (let i = 0; i < from.fields.length; i++) { const p = castProblem(from.fields[i]!.type, to.fields[i]!.type); if (p !== null) return p }
    return null
  }
  return refuse(from, to)
}

function refuse (from: DataType, to: DataType): string {
  return `cannot cast ${sparkTypeName(from).toUpperCase()} to ${sparkTypeName(to).toUpperCase()}`
}

/** The name Spark's typeof(…) and error messages use. */
export function sparkTypeName (t: DataType): string {
  switch (t.kind) {
    case 'byte': return 'tinyint'
    case 'short': return 'smallint'
    case 'long': return 'bigint'
    case 'null': return 'void'
    case 'list': return `array<${sparkTypeName(t.elem)}>`
    case 'map': return `map<${sparkTypeName(t.key)},${sparkTypeName(t.value)}>`
    case 'struct': return `struct<${t.fields.map(f => `${f.name}:${sparkTypeName(f.type)}`).join(',')}>`
    default: return t.kind
  }
}

const identity: CastFn = v => v

const castCache = new Map<string, CastFn>()

/**
 * The cast of a non-null value from → to; castProblem(from, to) must be null. One function per pair of types, so
 * that equal casts are recognised as equal subexpressions by the code generator.
 */
export function castFn (from: DataType, to: DataType): CastFn {
  const key = `${sparkTypeName(from)}>${sparkTypeName(to)}`
  let fn = castCache.get(key)
  if (fn === undefined) {
    fn = makeCast(from, to)
    castCache.set(key, fn)
  }
  return fn
}

function makeCast (from: DataType, to: DataType): CastFn {
  if (from.kind === 'null') return () => null
  if (typesEqual(from, to)) return identity
  switch (to.kind) {
    case 'string': return toStringFn(from)
    case 'boolean': return toBooleanFn(from)
    case 'byte': return toIntegralFn(from, 'byte')
    case 'short': return toIntegralFn(from, 'short')
    case 'int': return toIntegralFn(from, 'int')
    case 'long': return toLongFn(from)
    case 'float': { const d = toDoubleFn(from); return v => { const x = d(v); return x === null ? null : Math.fround(x as number) } }
    case 'double': return toDoubleFn(from)
    case 'binary':
      if (from.kind === 'string') return (v: string) => utf8(v)
      return integralToBytes(from)
    case 'date':
      if (from.kind === 'string') return (v: string) => parseDateLiteral(v)
      return (v: number) => floorDiv(v, MICROS_PER_DAY)
    case 'timestamp': return toTimestampFn(from)
    case 'list': {
      const elem = castFn((from as Extract<DataType, { kind: 'list' }>).elem, to.elem)
      return (v: unknown[]) => v.map(x => (x === null || x === undefined ? null : elem(x)))
    }
    case 'map': {
      const f = from as Extract<DataType, { kind: 'map' }>
      const key = castFn(f.key, to.key)
      const value = castFn(f.value, to.value)
      return v => {
        const out: Record<string, unknown> = {}
        for (const [k, x] of mapEntries(v)) setOwn(out, String(key(k)), x === null || x === undefined ? null : value(x))
        return out
      }
    }
    case 'struct': {
      const f = from as Extract<DataType, { kind: 'struct' }>
      const casts = to.fields.map((tf, i) => ({ name: tf.name, from: f.fields[i]!.name, i, fn: castFn(f.fields[i]!.type, tf.type) }))
      return v => {
        const out: Record<string, unknown> = {}
        for (const c of casts) { const x = structField(v, c.from, c.i); setOwn(out, c.name, x === null ? null : c.fn(x)) }
        return out
      }
    }
  }
  return () => null
}

function toStringFn (from: DataType): CastFn {
  switch (from.kind) {
    case 'boolean': return (v: boolean) => (v ? 'true' : 'false')
    case 'byte': case 'short': case 'int': case 'long': return (v: Long) => String(v)
    case 'float': return floatToString
    case 'double': return doubleToString
    case 'date': return formatDate
    case 'timestamp': return formatTimestamp
    case 'binary': return fromUtf8
    case 'list': {
      const elem = toStringFn(from.elem)
      return (v: unknown[]) => '[' + v.map(x => (x === null || x === undefined ? 'null' : elem(x))).join(', ') + ']'
    }
    case 'map': {
      const key = toStringFn(from.key)
      const value = toStringFn(from.value)
      return v => '{' + mapEntries(v).map(([k, x]) => `${String(key(k))} -> ${x === null || x === undefined ? 'null' : String(value(x))}`).join(', ') + '}'
    }
    case 'struct': {
      const fields = from.fields.map((f, i) => ({ name: f.name, i, fn: toStringFn(f.type) }))
      return v => '{' + fields.map(f => { const x = structField(v, f.name, f.i); return x === null ? 'null' : String(f.fn(x)) }).join(', ') + '}'
    }
  }
  return v => String(v)
}

const TRUE_STRINGS = new Set(['t', 'true', 'y', 'yes', '1'])
const FALSE_STRINGS = new Set(['f', 'false', 'n', 'no', '0'])

function toBooleanFn (from: DataType): CastFn {
  switch (from.kind) {
    case 'string': return (v: string) => {
      const s = trimControl(v).toLowerCase()
      return TRUE_STRINGS.has(s) ? true : FALSE_STRINGS.has(s) ? false : null
    }
    case 'float': case 'double': return (v: number) => v !== 0
    case 'long': case 'timestamp': return (v: Long) => v != 0 // eslint-disable-line eqeqeq
    default: return (v: number) => v !== 0
  }
}

function toIntegralFn (from: DataType, to: 'byte' | 'short' | 'int'): CastFn {
  const [min, max, narrow] = to === 'int'
    ? [INT_MIN, INT_MAX, (x: number) => x]
    : to === 'short' ? [-32768, 32767, toShort] : [-128, 127, toByte]
  switch (from.kind) {
    case 'string': return (v: string) => parseIntegral(v, min, max)
    case 'boolean': return (v: boolean) => (v ? 1 : 0)
    case 'byte': case 'short': case 'int': return (v: number) => narrow(v)
    case 'long': return to === 'int' ? longToInt : to === 'short' ? longToShort : longToByte
    case 'float': case 'double': return (v: number) => narrow(doubleToInt(v))
    case 'timestamp': return (v: number) => narrow(longToInt(floorDiv(v, MICROS_PER_SECOND)))
  }
  return () => null
}

function toLongFn (from: DataType): CastFn {
  switch (from.kind) {
    case 'string': return parseLong
    case 'boolean': return (v: boolean) => (v ? 1 : 0)
    case 'byte': case 'short': case 'int': return identity
    case 'float': case 'double': return doubleToLong
    case 'timestamp': return (v: number) => floorDiv(v, MICROS_PER_SECOND)
  }
  return () => null
}

function toDoubleFn (from: DataType): CastFn {
  switch (from.kind) {
    case 'string': return parseDouble
    case 'boolean': return (v: boolean) => (v ? 1 : 0)
    case 'long': return longToDouble
    case 'timestamp': return (v: number) => v / MICROS_PER_SECOND
    default: return identity
  }
}

function toTimestampFn (from: DataType): CastFn {
  switch (from.kind) {
    case 'string': return parseTimestampLiteral
    case 'date': return (v: number) => v * MICROS_PER_DAY
    case 'boolean': return (v: boolean) => (v ? 1 : 0)
    case 'float': case 'double': return (v: number) => (Number.isFinite(v) ? Math.trunc(v * MICROS_PER_SECOND) : null)
    // seconds since the epoch, saturating like Java's SECONDS.toMicros
    default: return (v: Long) => {
      const s = longToDouble(v)
      const us = s * MICROS_PER_SECOND
      return us > 9.2e18 ? Number(9223372036854775807n) : us < -9.2e18 ? -Number(9223372036854775807n) : us
    }
  }
}

function integralToBytes (from: DataType): CastFn {
  const width = from.kind === 'long' ? 8 : from.kind === 'int' ? 4 : from.kind === 'short' ? 2 : 1
  return (v: Long) => {
    const out = new Uint8Array(width)
    let x = BigInt.asUintN(width * 8, BigInt(v))
    for (let i = width - 1; i >= 0; i--) { out[i] = Number(x & 0xffn); x >>= 8n }
    return out
  }
}

export { normLong }
