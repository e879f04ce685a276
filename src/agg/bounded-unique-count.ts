// BOUNDED_UNIQUE_COUNT (airbnb Chronon BoundedUniqueCount): exact distinct count up to k (default 8), then k.
//
// Values are kept raw for int/long/short/double/float/binary; any other type (in practice strings) is replaced
// by the lowercase hex MD5 of its Java serialization stream. For a String that stream is
//   AC ED 00 05 (magic, version)  74 <u16 length> <modified UTF-8>      (length ≤ 65535 bytes)
//                                 7C <u64 length> <modified UTF-8>      (longer)
// where modified UTF-8 writes U+0000 as C0 80 and each UTF-16 surrogate as its own 3-byte sequence.
//
// Chronon saturates by swapping the set for a shared empty "sentinel" set: an update that finds size ≥ k, or a
// merge whose union reaches k, returns it, and it finalizes to k and normalizes to ["__SENTINEL__"]. Because the
// check is `==` (set equality), any *empty* set — e.g. a decoded empty list — also acts as the sentinel, and a set
// of exactly k elements behaves like it in every operation. We keep a `saturated` flag plus the elements we had,
// and normalize a saturated IR as
//   string inputs      ["__SENTINEL__"]                    (byte-identical to Chronon)
//   numeric / binary   the k elements we hold, else []     (Chronon would put the string "__SENTINEL__" into a
//                                                           list<int>, which its Avro writer rejects; both forms
//                                                           read back as saturated on the JVM and here)
// Binary values are Java arrays: equal only to themselves, so two events with the same bytes count twice (as in
// Chronon; its test only de-duplicates the very same array object).

import { createHash } from 'node:crypto'
import { type DataType, T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { STRING_KEYS, type KeyKind } from './java-hash.ts'
import { hashSetOf, type JavaHashSet, newHashSet } from './java-hash-map.ts'
import { javaKeyKind } from './unique-count.ts'

export const SENTINEL_MARKER = '__SENTINEL__'

export interface BoundedSet {
  items: JavaHashSet<unknown>
  saturated: boolean
}

/** Java's ObjectOutputStream bytes for one String object (stream header included). */
export function javaSerializedString (s: string): Uint8Array {
  let utflen = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    utflen += c >= 0x01 && c <= 0x7f ? 1 : c > 0x7ff ? 3 : 2
  }
  const long = utflen > 0xffff
  const head = long ? 13 : 7
  const out = new Uint8Array(head + utflen)
  out.set([0xac, 0xed, 0x00, 0x05])
  if (long) {
    out[4] = 0x7c
    new DataView(out.buffer).setBigUint64(5, BigInt(utflen))
  } else {
    out[4] = 0x74
    out[5] = utflen >>> 8
    out[6] = utflen & 0xff
  }
  let p = head
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x01 && c <= 0x7f) {
      out[p++] = c
    } else if (c > 0x7ff) {
      out[p++] = 0xe0 | (c >> 12)
      out[p++] = 0x80 | ((c >> 6) & 0x3f)
      out[p++] = 0x80 | (c & 0x3f)
    } else {
      out[p++] = 0xc0 | (c >> 6)
      out[p++] = 0x80 | (c & 0x3f)
    }
  }
  return out
}

export function md5OfJavaString (s: string): string {
  return createHash('md5').update(javaSerializedString(s)).digest('hex')
}

function keptRaw (t: DataType): boolean {
  const k = t.kind
  return k === 'int' || k === 'long' || k === 'double' || k === 'float' || k === 'short' || k === 'binary'
}

export class BoundedUniqueCount implements SimpleAggregator<unknown, BoundedSet, number> {
  readonly timed = false
  readonly deletable = false
  readonly irType: DataType
  readonly outputType = T.long
  readonly #k: number
  readonly #raw: boolean
  readonly #kind: KeyKind<any>

  constructor (type: DataType, k: number) {
    this.#k = k
    this.#raw = keptRaw(type)
    this.irType = T.list(this.#raw ? type : T.string)
    this.#kind = this.#raw ? javaKeyKind(type)! : STRING_KEYS
  }

  prepare (input: unknown): BoundedSet {
    return { items: newHashSet<unknown>(this.#kind, this.#k).set(this.#key(input), true), saturated: false }
  }

  update (ir: BoundedSet, input: unknown): BoundedSet {
    if (ir.saturated || ir.items.size >= this.#k) ir.saturated = true
    else ir.items.set(this.#key(input), true)
    return ir
  }

  merge (a: BoundedSet, b: BoundedSet): BoundedSet {
    if (a.saturated || b.saturated) {
      a.saturated = true
      return a
    }
    b.items.forEach((_, x) => { if (a.items.size < this.#k) a.items.set(x, true) })
    if (a.items.size >= this.#k) a.saturated = true
    return a
  }

  finalize (ir: BoundedSet): number { return ir.saturated ? this.#k : ir.items.size }

  clone (ir: BoundedSet): BoundedSet {
    return { items: hashSetOf(this.#kind, ir.items.keysArray()), saturated: ir.saturated }
  }

  normalize (ir: BoundedSet): unknown {
    if (!ir.saturated) return ir.items.keysArray()
    if (!this.#raw) return [SENTINEL_MARKER]
    return ir.items.size >= this.#k ? ir.items.keysArray().slice(0, this.#k) : []
  }

  denormalize (v: unknown): BoundedSet {
    const list = v as unknown[]
    if (list.length === 0 || (list.length === 1 && list[0] === SENTINEL_MARKER)) {
      return { items: newHashSet<unknown>(this.#kind), saturated: true }
    }
    return { items: hashSetOf(this.#kind, list), saturated: false }
  }

  #key (input: unknown): unknown {
    return this.#raw ? input : md5OfJavaString(String(input))
  }
}
