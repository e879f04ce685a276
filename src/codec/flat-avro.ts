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

/** The kinds' numbers, for readers elsewhere (assembly/kernels.ts numbers them alike). */
export const FLAT_KINDS = { NULL, BOOLEAN, INT, LONG, FLOAT, DOUBLE, STRING, UNION } as const

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
  /**
   * Which fields `readNumbers` can read as numbers: 1 for a field whose every branch is null, an int, a long, a float
   * or a double (its value is then a number or null, never anything else), 0 otherwise.
   */
  readonly numeric: Uint8Array
  /**
   * Each field's kind (NULL … STRING, or UNION) and, for a union, its branches' kinds: the layout a reader of these
   * records elsewhere (the worker's WASM reader, assembly/kernels.ts decodeNumbers) follows. Kinds are numbered as
   * FLAT_KINDS says.
   */
  readonly kinds: Int32Array
  readonly branches: readonly Int32Array[]
  /**
   * Reads the record in `data[start..end)` as `read` would — the same refusals, the same truncation, every field
   * read or skipped alike — but keeps only the values of the fields with `want[i]` = 1 (numeric fields only), as
   * `vals[i]` and `valid[i]` (0: null): no record object, no boxed number. Returns false when the record is truncated.
   */
  readNumbers (data: Uint8Array, start: number, end: number, want: Uint8Array, vals: Float64Array, valid: Uint8Array): boolean
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

/**
 * A reader for `type` when it is a flat record this module reads exactly as avsc does; otherwise null. With `only`,
 * the other fields are skipped, not built (they stay null in the record object): the main thread reads a record's
 * key and time fields this way.
 */
export function flatReader (type: avro.Type, only?: readonly string[]): FlatReader | null {
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
  const wanted = Uint8Array.from(fields, f => (only === undefined || only.includes(f.name) ? 1 : 0))
  const isNumber = (k: number): boolean => k === NULL || k === INT || k === LONG || k === FLOAT || k === DOUBLE
  const numeric = Uint8Array.from(kinds, (k, i) => ((k === UNION ? branches[i]!.every(isNumber) : isNumber(k) && k !== NULL) ? 1 : 0))
  return new Reader(fields.map(f => f.name), Int32Array.from(kinds), branches.map(b => Int32Array.from(b)), wanted, numeric)
}

/**
 * One store function per field name: the record object has one shape, so each of these stores is monomorphic and
 * cached, where one store site for every name (`o[names[i]] = v`) is megamorphic — a stub-cache lookup per field
 * that took ~11 % of a worker's CPU on the bundled GroupBy (perf, bench engine). Names are embedded as JSON string
 * literals, so any field name is safe in them.
 */
type Store = (o: Record<string, unknown>, v: unknown) => void
function storeOf (name: string): Store {
  return new Function('o', 'v', `o[${JSON.stringify(name)}] = v`) as Store
}

class Reader implements FlatReader {
  readonly #stores: readonly Store[]
  readonly #kinds: Int32Array
  readonly #branches: readonly Int32Array[]
  readonly kinds: Int32Array
  readonly branches: readonly Int32Array[]
  /** 1: read the field; 0: skip it. */
  readonly #wanted: Uint8Array
  readonly #record: Record<string, unknown>
  #data: Uint8Array = new Uint8Array(0)
  // Views of the buffer records are read from, made when first needed for it (a float, a string), not per record:
  // a ring slot's records share one buffer; a Kafka record's value is a Buffer already.
  #view: DataView | null = null
  #buf: Buffer | null = null
  #pos = 0
  #end = 0
  /** Where #long and a checked-but-unkept long are read to. */
  readonly #scratch = new Float64Array(1)
  trailing = 0
  readonly numeric: Uint8Array

  constructor (names: readonly string[], kinds: Int32Array, branches: readonly Int32Array[], wanted: Uint8Array, numeric: Uint8Array) {
    this.numeric = numeric
    this.#stores = names.map(storeOf)
    this.#kinds = kinds
    this.#branches = branches
    this.kinds = kinds
    this.branches = branches
    this.#wanted = wanted
    // Every field present from the start: one shape for every record read.
    const o: Record<string, unknown> = {}
    for (const n of names) o[n] = null
    this.#record = o
  }

  read (data: Uint8Array, start: number, end: number): Record<string, unknown> | null {
    this.#at(data)
    this.#pos = start
    this.#end = end
    const o = this.#record
    const stores = this.#stores
    const wanted = this.#wanted
    for (let i = 0; i < this.#kinds.length; i++) {
      const k = this.#kindOf(i)
      if (wanted[i] === 1) stores[i]!(o, this.#value(k))
      else this.#skip(k)
    }
    // Every way of running out of bytes leaves the position past the end (as in avsc, where that is the test too).
    if (this.#pos > end) return null
    this.trailing = end - this.#pos
    return o
  }

  readNumbers (data: Uint8Array, start: number, end: number, want: Uint8Array, vals: Float64Array, valid: Uint8Array): boolean {
    this.#at(data)
    this.#pos = start
    this.#end = end
    const wanted = this.#wanted
    for (let i = 0; i < this.#kinds.length; i++) {
      const k = this.#kindOf(i)
      if (want[i] === 1) {
        if (k === NULL) valid[i] = 0
        else { valid[i] = 1; this.#numberInto(k, vals, i) }
      } else if (wanted[i] === 1 && k === LONG) {
        // `read` refuses a long it cannot hold exactly in any field it reads, kept or not: so does this.
        this.#numberInto(k, this.#scratch, 0)
      } else {
        // Skipping moves exactly as reading does, also past the end of a cut-short record.
        this.#skip(k)
      }
    }
    if (this.#pos > end) return false
    this.trailing = end - this.#pos
    return true
  }

  /**
   * A field of a numeric kind (not null) into out[i], as #value reads it. Written into the array, not returned: a
   * double returned by a call V8 does not inline is a heap number, one per field and record.
   */
  #numberInto (k: number, out: Float64Array, i: number): void {
    switch (k) {
      case INT: this.#longInto(out, i); return
      case LONG: {
        this.#longInto(out, i)
        const n = out[i]!
        if (!(n >= -SAFE_LONG && n <= SAFE_LONG)) throw new Error('potential precision loss')
        return
      }
      case FLOAT: {
        const p = this.#pos
        this.#pos = p + 4
        out[i] = this.#pos > this.#end ? 0 : this.#dataView().getFloat32(p, true)
        return
      }
      default: { // DOUBLE
        const p = this.#pos
        this.#pos = p + 8
        out[i] = this.#pos > this.#end ? 0 : this.#dataView().getFloat64(p, true)
      }
    }
  }

  /** Field i's kind; for a union, its branch's, read from the record (a branch index out of range is refused). */
  #kindOf (i: number): number {
    const k = this.#kinds[i]!
    if (k !== UNION) return k
    const index = this.#long()
    const bs = this.#branches[i]!
    if (index < 0 || index >= bs.length) throw new Error(`invalid union index: ${index}`)
    return bs[index]!
  }

  #at (data: Uint8Array): void {
    if (data !== this.#data) {
      this.#data = data
      this.#view = null
      this.#buf = null
    }
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
        return this.#dataView().getFloat32(p, true)
      }
      case DOUBLE: {
        const p = this.#pos
        this.#pos = p + 8
        if (this.#pos > this.#end) return 0
        return this.#dataView().getFloat64(p, true)
      }
      default: { // STRING
        const len = this.#long()
        if (len < 0) { this.#pos = this.#end + 1; return '' }
        const p = this.#pos
        this.#pos = p + len
        if (this.#pos > this.#end) return undefined
        return this.#buffer().toString('utf8', p, p + len)
      }
    }
  }

  /** Moves past a value of kind `k` (the position ends past the end when the record is cut short, as reading does). */
  #skip (k: number): void {
    switch (k) {
      case NULL: return
      case BOOLEAN: this.#pos++; return
      case INT: case LONG: this.#long(); return
      case FLOAT: this.#pos += 4; return
      case DOUBLE: this.#pos += 8; return
      default: { // STRING
        const len = this.#long()
        this.#pos = len < 0 ? this.#end + 1 : this.#pos + len
      }
    }
  }

  #dataView (): DataView {
    const d = this.#data
    return (this.#view ??= new DataView(d.buffer, d.byteOffset, d.byteLength))
  }

  #buffer (): Buffer {
    const d = this.#data
    return (this.#buf ??= Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength))
  }

  /** One byte; past the record's end, 0 (as avsc reads past the end of its buffer). */
  #byte (): number {
    const p = this.#pos++
    return p < this.#end ? this.#data[p]! : 0
  }

  /** A zig-zag varint, computed as avsc computes it (ints, then floats beyond 28 bits). */
  #long (): number {
    this.#longInto(this.#scratch, 0)
    return this.#scratch[0]!
  }

  /** #long into out[i]. */
  #longInto (out: Float64Array, i: number): void {
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
    if (h === 0) { out[i] = (n >> 1) ^ -(n & 1); return }
    let f = n
    let fk = 268435456
    do {
      b = this.#byte()
      f += (b & 0x7f) * fk
      fk *= 128
    } while ((b & 0x80) !== 0)
    out[i] = (f % 2 !== 0 ? -(f + 1) : f) / 2
  }
}
