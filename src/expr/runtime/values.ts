// Reading and comparing runtime values (see src/api/data-type.ts for the value model). Every read of a map entry or
// a struct field by name goes through an own-property check, so data can never reach Object.prototype: a map key
// '__proto__' or 'constructor' is just a key, and an absent one is NULL.

import type { DataType } from '../../api/data-type.ts'
import type { Long } from './numbers.ts'

export const hasOwn: (o: object, k: PropertyKey) => boolean = Object.hasOwn

/** A struct field by name (records and STRUCT(…) values are objects; normalized IRs are positional arrays). */
export function structField (s: unknown, name: string, index: number): unknown {
  if (Array.isArray(s)) { const v = s[index]; return v === undefined ? null : v }
  if (s instanceof Map) { const v = s.get(name); return v === undefined ? null : v }
  return hasOwn(s as object, name) ? (s as Record<string, unknown>)[name] ?? null : null
}

/** A map value by key; map keys are strings in the value model, so other key types are looked up by their text. */
export function mapGet (m: unknown, key: unknown): unknown {
  const k = typeof key === 'string' ? key : keyText(key)
  if (m instanceof Map) {
    const v = m.get(k) ?? (typeof key !== 'string' ? m.get(key) : undefined)
    return v === undefined ? null : v
  }
  return hasOwn(m as object, k) ? (m as Record<string, unknown>)[k] ?? null : null
}

/** The string a non-string map key is stored under (booleans and numbers as Spark prints them in JSON keys). */
export function keyText (key: unknown): string {
  return typeof key === 'string' ? key : String(key)
}

export function mapEntries (m: unknown): [string, unknown][] {
  if (m instanceof Map) return [...(m as Map<string, unknown>)]
  return Object.entries(m as object)
}

export function mapSize (m: unknown): number {
  return m instanceof Map ? m.size : Object.keys(m as object).length
}

/** Sets an own, enumerable property even for '__proto__', which plain assignment would turn into a prototype. */
export function setOwn (o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  else o[k] = v
}

// ---- comparison -----------------------------------------------------------------------------------------------------

/** Long equality across the number/bigint representations. */
export function eqL (a: Long, b: Long): boolean {
  return a === b || (typeof a !== typeof b && a == b) // eslint-disable-line eqeqeq
}

/** Spark's double equality: NaN = NaN is true, 0.0 = -0.0 is true. */
export function eqD (a: number, b: number): boolean { return a === b || (a !== a && b !== b) }

/** Spark's double order: NaN is larger than any other value (including +Infinity) and equal to itself. */
export function cmpD (a: number, b: number): number {
  if (a < b) return -1
  if (a > b) return 1
  if (a === b) return 0
  const an = a !== a
  const bn = b !== b
  return an ? (bn ? 0 : 1) : -1
}

export function cmpL (a: Long, b: Long): number { return a < b ? -1 : a > b ? 1 : 0 }

/**
 * Spark compares strings by their UTF-8 bytes, which is code point order. JS compares UTF-16 code units, which
 * differs only between a surrogate (U+D800–DFFF) and a unit in U+E000–FFFF; fix up that one case.
 */
export function cmpS (a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x < y ? -1 : 1
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1
}

/** Unsigned lexicographic byte order, as Spark compares BINARY. */
export function cmpBin (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

export type Comparator = (a: unknown, b: unknown) => number

/** A total order for non-null values of type t (nulls are handled by callers), as Spark orders them. */
export function comparatorFor (t: DataType): Comparator {
  switch (t.kind) {
    case 'float': case 'double': return cmpD as Comparator
    case 'byte': case 'short': case 'int': case 'long': case 'date': case 'timestamp': return cmpL as Comparator
    case 'string': return cmpS as Comparator
    case 'binary': return cmpBin as Comparator
    case 'boolean': return (a, b) => (a === b ? 0 : a === false ? -1 : 1)
    case 'list': {
      const elem = comparatorFor(t.elem)
      return (a, b) => {
        const x = a as unknown[]
        const y = b as unknown[]
        const n = Math.min(x.length, y.length)
        for (let i = 0; i < n; i++) {
          const u = x[i] ?? null
          const v = y[i] ?? null
          if (u === null || v === null) { if (u !== v) return u === null ? -1 : 1; continue }
          const c = elem(u, v)
          if (c !== 0) return c
        }
        return x.length === y.length ? 0 : x.length < y.length ? -1 : 1
      }
    }
    case 'struct': {
      const fields = t.fields.map((f, i) => ({ name: f.name, i, cmp: comparatorFor(f.type) }))
      return (a, b) => {
        for (const f of fields) {
          const u = structField(a, f.name, f.i)
          const v = structField(b, f.name, f.i)
          if (u === null || v === null) { if (u !== v) return u === null ? -1 : 1; continue }
          const c = f.cmp(u, v)
          if (c !== 0) return c
        }
        return 0
      }
    }
    default: return () => 0
  }
}

/** Equality for non-null values of type t (maps are not comparable in Spark; the type checker refuses them). */
export function equalsFor (t: DataType): (a: unknown, b: unknown) => boolean {
  switch (t.kind) {
    case 'float': case 'double': return eqD as (a: unknown, b: unknown) => boolean
    case 'long': case 'timestamp': return eqL as (a: unknown, b: unknown) => boolean
    case 'binary': case 'list': case 'struct': {
      const cmp = comparatorFor(t)
      return (a, b) => cmp(a, b) === 0
    }
    default: return (a, b) => a === b
  }
}

// ---- strings --------------------------------------------------------------------------------------------------------

/** Number of characters as Spark counts them (code points), with a fast path for strings without surrogates. */
export function charLength (s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) { n--; i++ }
    }
  }
  return n
}

export function hasSurrogates (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdfff) return true
  }
  return false
}

/** Substring by code point indexes [start, end), clamped to the string. */
export function substringCp (s: string, start: number, end: number): string {
  if (!hasSurrogates(s)) return s.slice(Math.max(0, start), Math.max(0, end))
  const cps = Array.from(s)
  return cps.slice(Math.max(0, start), Math.max(0, end)).join('')
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8')

export function utf8 (s: string): Uint8Array { return encoder.encode(s) }
export function fromUtf8 (b: Uint8Array): string { return decoder.decode(b) }

export function isBinary (v: unknown): v is Uint8Array { return v instanceof Uint8Array }
