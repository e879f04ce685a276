// Spark's implicit type coercion (TypeCoercion in non-ANSI mode), reduced to the types we carry. DECIMAL is
// carried as DOUBLE, so the decimal rules collapse into the double ones.

import { type DataType, T, isNumeric, typesEqual } from '../api/data-type.ts'

const NUMERIC_RANK: Partial<Record<DataType['kind'], number>> = { byte: 1, short: 2, int: 3, long: 4, float: 5, double: 6 }

export function numericRank (t: DataType): number { return NUMERIC_RANK[t.kind] ?? 0 }

export function isAtomic (t: DataType): boolean {
  return t.kind !== 'list' && t.kind !== 'map' && t.kind !== 'struct'
}

/** findTightestCommonType: equal types, NULL with anything, numeric widening, DATE with TIMESTAMP, and nested. */
export function tightestCommonType (a: DataType, b: DataType): DataType | null {
  if (typesEqual(a, b)) return a
  if (a.kind === 'null') return b
  if (b.kind === 'null') return a
  if (isNumeric(a) && isNumeric(b)) return numericRank(a) >= numericRank(b) ? a : b
  if ((a.kind === 'date' && b.kind === 'timestamp') || (a.kind === 'timestamp' && b.kind === 'date')) return T.timestamp
  return nestedCommon(a, b, tightestCommonType)
}

/**
 * findWiderTypeForTwo (IF, CASE, COALESCE, IN, ARRAY(…), GREATEST…): the tightest type, else a string when one side
 * is a string and the other an atomic non-binary, non-boolean type (`IF(c, 1, 'a')` is a STRING).
 */
export function widerCommonType (a: DataType, b: DataType, stringPromotion = true): DataType | null {
  const t = tightestCommonType(a, b)
  if (t !== null) return t
  if (stringPromotion) {
    if (a.kind === 'string' && isAtomic(b) && b.kind !== 'binary' && b.kind !== 'boolean') return T.string
    if (b.kind === 'string' && isAtomic(a) && a.kind !== 'binary' && a.kind !== 'boolean') return T.string
  }
  return nestedCommon(a, b, (x, y) => widerCommonType(x, y, stringPromotion))
}

function nestedCommon (a: DataType, b: DataType, f: (x: DataType, y: DataType) => DataType | null): DataType | null {
  if (a.kind === 'list' && b.kind === 'list') {
    const e = f(a.elem, b.elem)
    return e === null ? null : T.list(e)
  }
  if (a.kind === 'map' && b.kind === 'map') {
    const k = f(a.key, b.key)
    const v = f(a.value, b.value)
    return k === null || v === null ? null : T.map(k, v)
  }
  if (a.kind === 'struct' && b.kind === 'struct' && a.fields.length === b.fields.length &&
      a.fields.every((x, i) => x.name.toLowerCase() === b.fields[i]!.name.toLowerCase())) {
    const fields = []
    for (let i = 0; i < a.fields.length; i++) {
      const t = f(a.fields[i]!.type, b.fields[i]!.type)
      if (t === null) return null
      fields.push({ name: a.fields[i]!.name, type: t })
    }
    return T.struct(a.name, fields)
  }
  return null
}

export function commonTypeOf (types: readonly DataType[], stringPromotion = true): DataType | null {
  let acc: DataType = T.null
  for (const t of types) {
    const next = widerCommonType(acc, t, stringPromotion)
    if (next === null) return null
    acc = next
  }
  return acc
}

/**
 * The type both sides of a comparison are cast to (findCommonTypeForBinaryComparison + PromoteStrings): a string
 * compared with a number is cast to that number's type ('1.5' = 1 compares 1 with 1), a string with a date or
 * timestamp to the date or timestamp, otherwise the tightest common type.
 */
export function comparisonType (a: DataType, b: DataType): DataType | null {
  if (a.kind === 'string' && b.kind !== 'string' && isAtomic(b) && b.kind !== 'null' && b.kind !== 'binary') return b
  if (b.kind === 'string' && a.kind !== 'string' && isAtomic(a) && a.kind !== 'null' && a.kind !== 'binary') return a
  if (a.kind === 'binary' && b.kind === 'string') return T.binary
  if (b.kind === 'binary' && a.kind === 'string') return T.binary
  return tightestCommonType(a, b)
}

/**
 * ImplicitTypeCasts.implicitCast: may a value of type from be passed where a function expects type to? NULL goes
 * anywhere; numbers widen or narrow among numbers; a string becomes a number, date, timestamp or binary; a date
 * and a timestamp convert both ways; any atomic value becomes a string.
 */
export function canImplicitCast (from: DataType, to: DataType): boolean {
  if (typesEqual(from, to) || from.kind === 'null') return true
  if (isNumeric(to)) return isNumeric(from) || from.kind === 'string'
  switch (to.kind) {
    case 'string': return isAtomic(from) && from.kind !== 'binary'
    case 'date': return from.kind === 'string' || from.kind === 'timestamp'
    case 'timestamp': return from.kind === 'string' || from.kind === 'date'
    case 'binary': return from.kind === 'string'
    case 'list': return from.kind === 'list' && canImplicitCast(from.elem, to.elem)
    default: return false
  }
}

export function isOrderable (t: DataType): boolean {
  if (t.kind === 'map') return false
  if (t.kind === 'list') return isOrderable(t.elem)
  if (t.kind === 'struct') return t.fields.every(f => isOrderable(f.type))
  return true
}
