// What each declared type holds, checked wherever a value enters the engine (JSON, CSV and Avro decoding, entity
// key encoding, the read side's typed key parsing). A number outside what its type holds is an error with a reason,
// never wrapped, truncated or rounded into another value: a `long` key of 2^64 must not become key 0.
//
//   byte / short / int   integers in [−2^7, 2^7), [−2^15, 2^15), [−2^31, 2^31)
//   long, timestamp      integers exact in a JS number, |x| ≤ 2^53 − 1 (a bigint: any value in [−2^63, 2^63));
//                        a JSON or CSV integer beyond that has already lost digits when it was read, so it could
//                        alias another key, and Avro decoding (avsc) refuses it for the same reason
//   date                 an int (days)
//   float                a finite number stays finite in 32 bits (|x| < 2^128), NaN/±Infinity stay themselves
//   double               any number
//   string               valid Unicode (no lone UTF-16 surrogate: it would be written as U+FFFD, the bytes of
//                        another string); checked for key values, where two strings writing the same bytes would
//                        share one key's tiles

import type { DataType } from '../api/data-type.ts'

const INT_BOUNDS: Readonly<Record<string, readonly [number, number]>> = {
  byte: [-128, 127],
  short: [-32768, 32767],
  int: [-2147483648, 2147483647],
  date: [-2147483648, 2147483647]
}
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n
/** The largest finite float32, rounded to a double: numbers beyond it round to ±Infinity in 32 bits. */
const FLOAT_MAX = 3.4028235677973366e38

export function isIntegralKind (kind: string): boolean {
  return kind === 'byte' || kind === 'short' || kind === 'int' || kind === 'long' || kind === 'date' || kind === 'timestamp'
}

/**
 * Why `v` (a number or bigint, as decoded) is not a value of the integral or floating type `kind`, or null when it
 * is. Kinds that are not numeric are not judged here (null).
 */
export function numberProblem (kind: string, v: number | bigint): string | null {
  const bounds = INT_BOUNDS[kind]
  if (bounds !== undefined) {
    if (typeof v === 'bigint') return v >= BigInt(bounds[0]) && v <= BigInt(bounds[1]) ? null : `${v} is outside the range of ${kind} [${bounds[0]}, ${bounds[1]}]`
    if (!Number.isInteger(v)) return `${v} is not an integer`
    return v >= bounds[0] && v <= bounds[1] ? null : `${v} is outside the range of ${kind} [${bounds[0]}, ${bounds[1]}]`
  }
  switch (kind) {
    case 'long': case 'timestamp':
      if (typeof v === 'bigint') return v >= LONG_MIN && v <= LONG_MAX ? null : `${v} is outside the range of a long [-2^63, 2^63 - 1]`
      if (!Number.isInteger(v)) return `${v} is not an integer`
      return Number.isSafeInteger(v) ? null : `${v} is beyond ±(2^53 - 1), where a ${kind} read from text or JSON is no longer exact`
    case 'float':
      if (typeof v === 'bigint') return null
      return Number.isFinite(v) && Math.abs(v) > FLOAT_MAX ? `${v} is outside the range of a float (±3.4028235e38)` : null
    default:
      return null
  }
}

/** `numberProblem(kind, v) === null` for a number, as a predicate built once per column (decoders' hot path). */
export function numberCheck (kind: string): (v: number) => boolean {
  const bounds = INT_BOUNDS[kind]
  if (bounds !== undefined) {
    const [lo, hi] = bounds
    return v => Number.isInteger(v) && v >= lo && v <= hi
  }
  switch (kind) {
    case 'long': case 'timestamp': return v => Number.isSafeInteger(v)
    case 'float': return v => !(Number.isFinite(v) && Math.abs(v) > FLOAT_MAX)
    default: return () => true
  }
}

// String.prototype.isWellFormed (ES2024, in Node ≥ 20) is not in the ES2023 lib this project compiles against.
const wellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed

export function isWellFormed (s: string): boolean {
  return wellFormed.call(s)
}

/** Why the string cannot be a key value (a lone UTF-16 surrogate), or null. */
export function stringProblem (s: string): string | null {
  return isWellFormed(s) ? null : `${JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s)} is not valid Unicode (a lone UTF-16 surrogate)`
}

/**
 * Why `v` cannot be the value of a key column of type `t` (null when it can). Key values are encoded into the
 * entity key bytes that name a key's tiles, so anything that would encode as another value's bytes is refused.
 */
export function keyValueProblem (t: DataType, v: unknown): string | null {
  switch (t.kind) {
    case 'string': return typeof v === 'string' ? stringProblem(v) : `expected a string, got ${typeof v}`
    case 'boolean': return typeof v === 'boolean' ? null : `expected a boolean, got ${typeof v}`
    case 'double': case 'float': case 'byte': case 'short': case 'int': case 'long': case 'date': case 'timestamp':
      if (typeof v !== 'number' && typeof v !== 'bigint') return `expected a ${t.kind}, got ${typeof v}`
      if (typeof v === 'bigint' && !isIntegralKind(t.kind)) return `expected a ${t.kind}, got a bigint`
      if (t.kind === 'long' && typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
        // A number beyond 2^53 may stand for several longs; as a bigint it would be exact.
        return `${v} is beyond ±(2^53 - 1), where a long key held in a JS number is no longer exact`
      }
      return numberProblem(t.kind, v)
    case 'binary': return v instanceof Uint8Array ? null : `expected bytes, got ${typeof v}`
    default: return null
  }
}
