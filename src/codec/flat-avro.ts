// A decoder for the Avro records most inputs are — a flat record of primitives, each maybe in a union (["null",
// "long"]) — that reads a record where it lies (a ring slot's bytes) into one reused object: no Buffer, no view, no
// record object per event, which is what avsc's decoder costs (about a quarter of a worker's time on the bundled
// GroupBys). It reads exactly as avsc 5.7 does, down to what it makes of damaged bytes — the same values, the same
// refusals with the same messages — which test/codec/flat-avro.test.ts checks against avsc on random schemas, values
// and corruptions. Anything else (nested records, arrays, maps, enums, fixed, bytes, logical types) is avsc's
// (`flatReader` returns null).
//
// avsc's reading rules kept here: a byte past the end reads as 0 (so a varint stops there); a fixed-size value
// crossing the end, or a string or a negative length running past it, marks the record truncated, whatever else
// is read after; a long beyond ±(2^53 − 2) is refused ("potential precision loss") where it is read, even in a
// truncated record; an int is a varint like a long, unchecked; a boolean is any non-zero byte.

import avro from 'avsc'

const NULL = 0
const BOOLEAN = 1
const INT = 2
const LONG = 3
const FLOAT = 4
const DOUBLE = 5
const STRING = 6
/** A union: its branch index is read first; the branch kinds follow in `branches`. */
const UNION = 7

/** avsc's bound for a long it reads exactly. */
const SAFE_LONG = 9007199254740990

/** A record read as flat fields, or why it could not be (avsc's message, which the caller wraps). */
export interface FlatReader {
  /**
   * Reads the record in `data[start..end)` into the reader's one record object and returns it (overwritten by the
   * next call: copy what you keep), or null when the record is truncated; `trailing` then says how many bytes were
   * left after it (0 when it ended where it should). Throws an Error with avsc's message for the refusals avsc makes
   * while reading (a long it cannot hold exactly, a union index out of range).
   */
  read (data: Uint8Array, start: number, end: number): Record<string, unknown> | null
  /** Bytes after the record's end that were not read, after the last read (the caller refuses them). */
  readonly trailing: number
}

/** The kind of a primitive avsc type, or -1 when it is not one this reader handles. */
function primitiveKind (t: avro.Type): number {
  // A logical type (our timestamp-millis) has its own reading rules: avsc's.
  if (t instanceof avro.types.LogicalType) return -1
  switch (t.typeName) {
    case 'null': return NULL
    case 'boolean': return BOOLEAN
    case 'int': return INT
    case 'long': return LONG
    case 'float': return FLOAT
    case 'double': return DOUBLE
    case 'string': return STRING
    default: return -1
  }
}

/** A reader for `type` when it is a flat record this module reads exactly as avsc does; otherwise null. */
export function flatReader (type: avro.Type): FlatReader | null {
  if (!(type instanceof avro.types.RecordType)) return null
  const fields = (type as unknown as { fields: { name: string, type: avro.Type }[] }).fields
  // A field named __proto__ would set the record object's prototype here, not a property: avsc's then.
  if (fields.some(f => f.name === '__proto__')) return null
  const kinds: number[] = []
  const branches: number[][] = []
  for (const f of fields) {
    const k = primitiveKind(f.type)
    if (k >= 0) { kinds.push(k); branches.push([]); continue }
    // avsc reads a union it does not wrap (the default for unions like ["null", "long"]) as the branch's value.
    if (!(f.type instanceof avro.types.UnwrappedUnionType)) return null
    const bs = (f.type as unknown as { types: avro.Type[] }).types.map(primitiveKind)
    if (bs.some(b => b < 0)) return null
    kinds.push(UNION)
    branches.push(bs)
  }
  return new Reader(fields.map(f => f.name), Int32Array.from(kinds), branches.map(b => Int32Array.from(b)))
}

class Reader implements FlatReader {
  readonly #names: readonly string[]
  readonly #kinds: Int32Array
  readonly #branches: readonly Int32Array[]
  readonly #record: Record<string, unknown>
  #data: Uint8Array = new Uint8Array(0)
  #view: DataView = new DataView(new ArrayBuffer(0))
  #buf: Buffer = Buffer.alloc(0)
  #pos = 0
  #end = 0
  trailing = 0

  constructor (names: readonly string[], kinds: Int32Array, branches: readonly Int32Array[]) {
    this.#names = names
    this.#kinds = kinds
    this.#branches = branches
    // Every field present from the start: one shape for every record read.
    const o: Record<string, unknown> = {}
    for (const n of names) o[n] = null
    this.#record = o
  }

  read (data: Uint8Array, start: number, end: number): Record<string, unknown> | null {
    if (data !== this.#data) {
      // Views of the buffer a slot's records live in, made once per buffer, not per record.
      this.#data = data
      this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength)
      this.#buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    }
    this.#pos = start
    this.#end = end
    const o = this.#record
    const names = this.#names
    const kinds = this.#kinds
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i]!
      if (k !== UNION) {
        o[names[i]!] = this.#value(k)
        continue
      }
      const index = this.#long()
      const bs = this.#branches[i]!
      if (index < 0 || index >= bs.length) throw new Error(`invalid union index: ${index}`)
      o[names[i]!] = this.#value(bs[index]!)
    }
    // Every way of running out of bytes leaves the position past the end (as in avsc, where that is the test too).
    if (this.#pos > end) return null
    this.trailing = end - this.#pos
    return o
  }

  #value (k: number): unknown {
    switch (k) {
      case NULL: return null
      case BOOLEAN: return this.#byte() !== 0
      case INT: return this.#long()
      case LONG: {
        const n = this.#long()
        if (!(n >= -SAFE_LONG && n <= SAFE_LONG)) throw new Error('potential precision loss')
        return n
      }
      case FLOAT: {
        const p = this.#pos
        this.#pos = p + 4
        if (this.#pos > this.#end) return 0
        return this.#view.getFloat32(p, true)
      }
      case DOUBLE: {
        const p = this.#pos
        this.#pos = p + 8
        if (this.#pos > this.#end) return 0
        return this.#view.getFloat64(p, true)
      }
      default: { // STRING
        const len = this.#long()
        if (len < 0) { this.#pos = this.#end + 1; return '' }
        const p = this.#pos
        this.#pos = p + len
        if (this.#pos > this.#end) return undefined
        return this.#buf.toString('utf8', p, p + len)
      }
    }
  }

  /** One byte; past the record's end, 0 (as avsc reads past the end of its buffer). */
  #byte (): number {
    const p = this.#pos++
    return p < this.#end ? this.#data[p]! : 0
  }

  /** A zig-zag varint, computed as avsc computes it (ints, then floats beyond 28 bits). */
  #long (): number {
    let n = 0
    let k = 0
    let b: number
    let h: number
    do {
      b = this.#byte()
      h = b & 0x80
      n |= (b & 0x7f) << k
      k += 7
    } while (h !== 0 && k < 28)
    if (h === 0) return (n >> 1) ^ -(n & 1)
    let f = n
    let fk = 268435456
    do {
      b = this.#byte()
      f += (b & 0x7f) * fk
      fk *= 128
    } while ((b & 0x80) !== 0)
    return (f % 2 !== 0 ? -(f + 1) : f) / 2
  }
}
