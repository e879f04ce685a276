// Java's hashCode and equals for the boxed values Chronon keeps in its HashMaps and HashSets. Iteration order of a
// java.util.HashMap is a function of these hashes (plus table size and insertion order), and that order leaks into
// normalized IRs (UNIQUE_COUNT lists, HISTOGRAM maps, bucket maps) and into HISTOGRAM's top-k tie rule.
//
// A KeyKind pairs the Java hash with an `id`: a JS value whose SameValueZero equality is Java's equals, so a JS Map
// can index the keys. Only doubles need care there: Double.equals tells −0.0 from 0.0 and treats every NaN alike.

export interface KeyKind<K> {
  /** Java `hashCode()` of the key (0 for null), as an int32. */
  hash (key: K): number
  /** A JS Map key equal (SameValueZero) exactly when the Java keys are `equals`. */
  id (key: K): unknown
}

/** java.lang.String.hashCode: s[0]·31^(n−1) + … over UTF-16 code units, wrapping at 32 bits. */
export function stringHashCode (s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

const utf8 = new TextEncoder()

/**
 * Avro's org.apache.avro.util.Utf8.hashCode: the same polynomial over the UTF-8 bytes taken as *signed* Java bytes.
 * Equal to String.hashCode for ASCII strings only. Avro's decoder keys the maps it builds with Utf8.
 */
export function utf8HashCode (s: string): number {
  let h = 0
  let ascii = true
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) { ascii = false; break }
    h = (Math.imul(31, h) + c) | 0
  }
  if (ascii) return h
  h = 0
  const bytes = utf8.encode(s)
  for (let i = 0; i < bytes.length; i++) h = (Math.imul(31, h) + ((bytes[i]! << 24) >> 24)) | 0
  return h
}

const TWO_32 = 4294967296

/** java.lang.Long.hashCode: (int)(v ^ (v >>> 32)). Exact for safe-integer numbers and for bigints. */
export function longHashCode (v: number | bigint): number {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v)
    return (Number(u & 0xffffffffn) ^ Number(u >> 32n)) | 0
  }
  const lo = v >>> 0
  const hi = Math.floor(v / TWO_32) | 0
  return (lo ^ hi) | 0
}

const f64 = new Float64Array(1)
const u32of64 = new Uint32Array(f64.buffer)
const f32 = new Float32Array(1)
const i32of32 = new Int32Array(f32.buffer)
// Little-endian hosts (every Node target) keep the low word first.
const LO = 0
const HI = 1

/** java.lang.Double.hashCode: hash of doubleToLongBits (every NaN canonicalised to 0x7ff8000000000000). */
export function doubleHashCode (v: number): number {
  if (Number.isNaN(v)) return 0x7ff80000 | 0
  f64[0] = v
  return (u32of64[LO]! ^ u32of64[HI]!) | 0
}

/** java.lang.Float.hashCode: floatToIntBits (NaN canonicalised to 0x7fc00000). */
export function floatHashCode (v: number): number {
  if (Number.isNaN(v)) return 0x7fc00000
  f32[0] = v
  return i32of32[0]!
}

const NEGATIVE_ZERO = Symbol('-0.0')

/** Double.equals / Float.equals as a JS Map key: −0.0 is its own key, all NaNs share one (JS Maps already do that). */
function fractionalId (v: number): unknown {
  return v === 0 && 1 / v < 0 ? NEGATIVE_ZERO : v
}

function longId (v: number | bigint): unknown {
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
  return v
}

export const STRING_KEYS: KeyKind<string | null> = {
  hash: k => (k === null ? 0 : stringHashCode(k)),
  id: k => k
}

/** Keys as Avro's GenericDatumReader holds them (Utf8), before Chronon copies them into String-keyed maps. */
export const UTF8_KEYS: KeyKind<string | null> = {
  hash: k => (k === null ? 0 : utf8HashCode(k)),
  id: k => k
}

export const INT_KEYS: KeyKind<number> = { hash: k => k | 0, id: k => k }
export const LONG_KEYS: KeyKind<number | bigint> = { hash: longHashCode, id: longId }
export const DOUBLE_KEYS: KeyKind<number> = { hash: doubleHashCode, id: fractionalId }
export const FLOAT_KEYS: KeyKind<number> = { hash: floatHashCode, id: fractionalId }

// Java arrays hash and compare by identity (Object.hashCode / ==). The JVM's identity hashes are unpredictable, so
// the iteration order of binary keys cannot be reproduced; we hand out a deterministic sequence instead.
const identityHashes = new WeakMap<object, number>()
let identitySeed = 0x2545f491

function identityHash (o: object): number {
  let h = identityHashes.get(o)
  if (h === undefined) {
    identitySeed ^= identitySeed << 13
    identitySeed ^= identitySeed >>> 17
    identitySeed ^= identitySeed << 5
    h = identitySeed & 0x7fffffff
    identityHashes.set(o, h)
  }
  return h
}

export const IDENTITY_KEYS: KeyKind<object> = { hash: identityHash, id: k => k }
