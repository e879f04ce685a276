// Decoding one raw input record (a JSON line, a CSV line, an Avro datum) into a plain object by field name,
// checked against the input schema. A record that cannot be decoded or whose fields have the wrong type throws a
// TilekilnError (TK_DECODE / TK_INPUT) naming the field; the worker sends it to the dead-letter output.

import avro from 'avsc'
import type { DataType, StructType } from '../api/data-type.ts'
import { typeToString } from '../api/data-type.ts'
import { TilekilnError } from '../errors.ts'
import { flatReader } from './flat-avro.ts'
import { SchemaBoard } from './schema-board.ts'
import { numberCheck, numberProblem } from './value-range.ts'

export type InputFormat =
  | { readonly kind: 'json', readonly schema: StructType, readonly inferred?: boolean, readonly timestampMillis?: readonly string[] }
  | {
    readonly kind: 'csv', readonly schema: StructType, readonly header: readonly string[], readonly delimiter: string
    readonly inferred?: boolean
    /**
     * TIMESTAMP fields whose values are milliseconds (an Avro `--schema` said timestamp-millis): read ×1000 into the
     * engine's microseconds, as the Avro decoder does. Other TIMESTAMP fields hold microseconds already.
     */
    readonly timestampMillis?: readonly string[]
  }
  | {
    readonly kind: 'avro'
    readonly schema: StructType
    /** The reader schema: what decoded records look like. */
    readonly avroSchema: unknown
    readonly framing: 'raw' | 'confluent'
    /**
     * Confluent framing with a schema registry: the writer schemas by id (a SchemaBoard's buffer). Each record is
     * decoded with its writer schema resolved to `avroSchema` (Avro schema resolution). Absent: every record is
     * taken to be written with `avroSchema` itself and the id is ignored.
     */
    readonly writerSchemas?: SharedArrayBuffer
  }

export interface RecordDecoder {
  /** `bytes` may be a view into shared memory; the decoder copies what it keeps. */
  decode (bytes: Uint8Array): Record<string, unknown>
  /**
   * The record in `data[start..end)` (a ring slot's records, without a view per record). The object returned may be
   * the decoder's own, overwritten by its next call: read it, do not keep it.
   */
  decodeAt (data: Uint8Array, start: number, end: number): Record<string, unknown>
  /**
   * Present when records are flat Avro read by the flat reader (codec/flat-avro.ts): reads the record in
   * `data[start..end)` with the same refusals as decodeAt (the same TilekilnErrors), keeping only the fields with
   * `want[i]` = 1 — field i of the schema, which must be one `numericFields` marks — as `vals[i]` / `valid[i]` (0:
   * null). The worker's path for GroupBys whose every input is a plain numeric column: no object, no boxed number.
   */
  numbersAt?: (data: Uint8Array, start: number, end: number, want: Uint8Array, vals: Float64Array, valid: Uint8Array) => void
  /** With numbersAt: the schema's field names in record order, and which of them numbersAt can read. */
  readonly fieldNames?: readonly string[]
  readonly numericFields?: Uint8Array
  /**
   * With numbersAt: each field's kind and union branches as the flat reader numbers them, and the bytes before each
   * record's Avro (Confluent framing): what the worker's WASM reader of regular records needs (worker/flat-numbers.ts).
   */
  readonly flatLayout?: FlatLayout
}

export interface FlatLayout { readonly kinds: Int32Array, readonly branches: readonly Int32Array[], readonly skip: number }

/** decodeAt for a decoder that reads a record from its own view. */
function withDecodeAt (decode: (bytes: Uint8Array) => Record<string, unknown>): RecordDecoder {
  return { decode, decodeAt: (data, start, end) => decode(data.subarray(start, end)) }
}

/** An avsc resolver (reads one writer schema's data as the reader schema); avsc's typings do not export the class. */
export type AvroResolver = ReturnType<avro.Type['createResolver']>

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeText (bytes: Uint8Array): string {
  try {
    // TextDecoder refuses views of shared memory; copy those (rare: the ring slot memory is shared).
    return utf8.decode(bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice())
  } catch {
    throw new TilekilnError('TK_DECODE', 'record is not valid UTF-8')
  }
}

export function createDecoder (format: InputFormat): RecordDecoder {
  switch (format.kind) {
    case 'json': return jsonDecoder(format.schema, format.inferred === true ? INFERRED : '', format.timestampMillis ?? [])
    case 'csv': return csvDecoder(format.schema, format.header, format.delimiter, format.inferred === true ? INFERRED : '', format.timestampMillis ?? [])
    case 'avro': return rangeChecked(format.schema, format.framing === 'confluent' && format.writerSchemas !== undefined
      ? resolvingAvroDecoder(format.avroSchema, new SchemaBoard(format.writerSchemas))
      : avroDecoder(format.avroSchema, format.framing))
  }
}

/**
 * Avro checks ints and longs itself (avsc refuses a long it cannot hold exactly), but a `short` or `byte` is an
 * Avro int with a logical type: a value outside its range is refused here, at the top level.
 */
function rangeChecked (schema: StructType, inner: RecordDecoder): RecordDecoder {
  const narrow = schema.fields.filter(f => f.type.kind === 'short' || f.type.kind === 'byte')
  if (narrow.length === 0) return inner
  const check = (o: Record<string, unknown>): Record<string, unknown> => {
    for (const f of narrow) {
      const v = o[f.name]
      if (typeof v === 'number' && numberProblem(f.type.kind, v) !== null) throw wrongType(f.name, v, schema)
    }
    return o
  }
  return {
    decode: bytes => check(inner.decode(bytes)),
    decodeAt: (data, start, end) => check(inner.decodeAt(data, start, end))
  }
}

/** Appended to a wrong-type reason when the schema was inferred (the type may be the sample's, not the truth). */
const INFERRED = ' (type inferred from the file; declare the schema with --schema)'

function jsonDecoder (schema: StructType, hint: string, millis: readonly string[]): RecordDecoder {
  const checks = schema.fields.map(f => ({ name: f.name, check: jsonCheck(f.type, millis.includes(f.name)) }))
  return withDecodeAt(bytes => {
    const text = decodeText(bytes)
    let v: unknown
    try {
      v = JSON.parse(text)
    } catch (e) {
      throw new TilekilnError('TK_DECODE', `invalid JSON: ${(e as Error).message}`)
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TilekilnError('TK_DECODE', 'a JSON record must be an object')
    const o = v as Record<string, unknown>
    for (const c of checks) {
      if (!Object.hasOwn(o, c.name)) continue
      const x = o[c.name]
      if (x === null) continue
      const fixed = c.check(x)
      if (fixed === BAD) throw wrongType(c.name, x, schema, hint)
      if (fixed !== x) o[c.name] = fixed
    }
    return o
  })
}

const BAD = Symbol('bad')

function wrongType (name: string, x: unknown, schema: StructType, hint = ''): TilekilnError {
  const f = schema.fields.find(y => y.name === name)!
  const shown = JSON.stringify(x)
  // A CSV cell is text: judge the number it spells, so the reason says "outside the range" rather than "string".
  const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : Number.NaN
  const why = Number.isNaN(n) ? null : numberProblem(f.type.kind, n)
  return new TilekilnError('TK_INPUT', `field '${name}' should be ${typeToString(f.type)}, got ${typeof x} ${shown === undefined ? '' : shown.slice(0, 80)}${why === null ? '' : `: ${why}`}${hint}`)
}

/**
 * A converter that returns the (possibly normalized) value, or BAD. Only the top level is checked deeply. Numbers
 * must be values of the declared type (codec/value-range.ts): 2^64 is not a long, 1.5 not an int, 1e39 not a float.
 */
function jsonCheck (t: DataType, millis = false): (x: unknown) => unknown {
  switch (t.kind) {
    case 'int': case 'short': case 'byte': case 'long': case 'date': case 'timestamp': {
      if (millis) return x => (typeof x === 'number' && Number.isSafeInteger(x * 1000) ? x * 1000 : BAD)
      const ok = numberCheck(t.kind)
      return x => (typeof x === 'number' && ok(x) ? x : BAD)
    }
    case 'double':
      return x => (typeof x === 'number' ? x : BAD)
    case 'float': {
      const ok = numberCheck('float')
      return x => (typeof x === 'number' && ok(x) ? Math.fround(x) : BAD)
    }
    case 'string':
      return x => (typeof x === 'string' ? x : BAD)
    case 'boolean':
      return x => (typeof x === 'boolean' ? x : BAD)
    case 'list':
      return x => (Array.isArray(x) ? x : BAD)
    case 'map': case 'struct':
      return x => (typeof x === 'object' && !Array.isArray(x) ? x : BAD)
    default:
      return x => x
  }
}

/**
 * The typed value of one top-level JSON field as the JSON decoder reads it: null for null, undefined when invalid.
 * The main thread's key router uses it so that it hashes exactly the value the worker will aggregate.
 */
export function jsonFieldConverter (t: DataType, millis = false): (x: unknown) => unknown {
  const check = jsonCheck(t, millis)
  return x => {
    if (x === null) return null
    const v = check(x)
    return v === BAD ? undefined : v
  }
}

/** Splits one CSV line (RFC 4180 quoting: "a ""b"" c"). */
export function splitCsv (line: string, delimiter: string): string[] {
  const out: string[] = []
  let i = 0
  const n = line.length
  for (;;) {
    if (i < n && line[i] === '"') {
      let s = ''
      i++
      for (;;) {
        const q = line.indexOf('"', i)
        if (q < 0) throw new TilekilnError('TK_DECODE', 'unterminated quoted CSV field')
        s += line.slice(i, q)
        if (line[q + 1] === '"') { s += '"'; i = q + 2; continue }
        i = q + 1
        break
      }
      out.push(s)
      if (i >= n) return out
      if (line.startsWith(delimiter, i)) { i += delimiter.length; continue }
      throw new TilekilnError('TK_DECODE', `unexpected character after a quoted CSV field at column ${i + 1}`)
    }
    const d = line.indexOf(delimiter, i)
    if (d < 0) { out.push(line.slice(i)); return out }
    out.push(line.slice(i, d))
    i = d + delimiter.length
  }
}

const INT_RE = /^\s*[+-]?\d+\s*$/
/** A decimal number (Spark's CSV reader also takes NaN and ±Infinity); not hex, not blanks, not `1_000`. */
const NUM_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*(NaN|[+-]?Infinity)\s*$/

function csvConvert (t: DataType, millis = false): (s: string) => unknown {
  switch (t.kind) {
    case 'int': case 'short': case 'byte': case 'long': case 'date': case 'timestamp': {
      // A TIMESTAMP in milliseconds (timestampMillis) becomes the engine's microseconds, exactly or not at all.
      if (millis) return s => { const v = INT_RE.test(s) ? Number(s) * 1000 : Number.NaN; return Number.isSafeInteger(v) ? v : BAD }
      // Range-checked (codec/value-range.ts): a 99-digit amount is an error, not 1e98 wrapped into a long SUM.
      const ok = numberCheck(t.kind)
      return s => {
        if (!INT_RE.test(s)) return BAD
        const v = Number(s)
        return ok(v) ? v : BAD
      }
    }
    case 'double': case 'float': {
      const ok = numberCheck(t.kind)
      const round = t.kind === 'float'
      return s => {
        if (!NUM_RE.test(s)) return BAD
        const v = Number(s)
        if (!ok(v)) return BAD
        return round ? Math.fround(v) : v
      }
    }
    case 'boolean':
      return s => { const l = s.trim().toLowerCase(); return l === 'true' ? true : l === 'false' ? false : BAD }
    case 'string':
      return s => s
    default:
      return () => BAD
  }
}

/** The typed value of one CSV cell as the CSV decoder reads it: null for an empty cell, undefined when invalid. */
export function csvCellConverter (t: DataType, millis = false): (cell: string) => unknown {
  const conv = csvConvert(t, millis)
  return cell => {
    if (cell === '') return null
    const v = conv(cell)
    return v === BAD ? undefined : v
  }
}

function csvDecoder (schema: StructType, header: readonly string[], delimiter: string, hint: string, millis: readonly string[]): RecordDecoder {
  const convs = header.map(h => {
    const f = schema.fields.find(x => x.name === h)
    return f === undefined ? null : csvConvert(f.type, millis.includes(h))
  })
  const protoAt = header.indexOf('__proto__')
  return withDecodeAt(bytes => {
    let line = decodeText(bytes)
    if (line.endsWith('\r')) line = line.slice(0, -1)
    const cells = splitCsv(line, delimiter)
    if (cells.length !== header.length) {
      throw new TilekilnError('TK_DECODE', `CSV line has ${cells.length} field(s), the header has ${header.length}`)
    }
    const o: Record<string, unknown> = {}
    for (let i = 0; i < header.length; i++) {
      const conv = convs[i]
      const cell = cells[i]!
      if (conv === null) continue
      const v = cell === '' ? null : conv(cell)
      if (v === BAD) throw wrongType(header[i]!, cell, schema, hint)
      // `o.__proto__ = v` would set the prototype, not a field: a column with that name is defined instead.
      if (protoAt === i) Object.defineProperty(o, '__proto__', { value: v, enumerable: true, writable: true, configurable: true })
      else o[header[i]!] = v
    }
    return o
  })
}

/**
 * A timestamp-millis long decodes to microseconds, the engine's TIMESTAMP representation (as Spark's AvroDeserializer
 * does); exact within ±285 years of 1970. Other logical types decode as their base type, already in the engine's
 * representation (timestamp-micros: microseconds, date: days).
 */
class MillisAsMicros extends avro.types.LogicalType {
  override _fromValue (v: unknown): unknown {
    if (typeof v !== 'number') return v
    const micros = v * 1000
    // Beyond ±285,000 years the microseconds are no longer exact: refuse rather than round (→ dead letter).
    if (!Number.isSafeInteger(micros)) throw new RangeError(`timestamp-millis ${v} is out of range`)
    return micros
  }
  override _toValue (v: unknown): unknown { return typeof v === 'number' ? Math.floor(v / 1000) : v }
  override _resolve (type: avro.Type): ((v: unknown) => unknown) | undefined {
    // Schema resolution reads with the writer's type, then applies this: a writer that is timestamp-millis too
    // already gave microseconds; a plain long or int (Avro ignores logical types when resolving) is milliseconds.
    if (type instanceof MillisAsMicros) return (v: unknown) => v
    return type.typeName === 'long' || type.typeName === 'int' ? (v: unknown) => this._fromValue(v) : undefined
  }
}

/**
 * An avsc type as the decoders read it. Fresh options every time: avsc records named types in `opts.registry`, so a
 * shared options object would make a second schema with the same record name fail as a duplicate.
 */
export function avroReaderType (schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { logicalTypes: { 'timestamp-millis': MillisAsMicros } })
}

/**
 * How records written with `writer` are read as `reader` (Avro schema resolution: fields matched by name, defaults
 * for fields the writer lacks, writer fields the reader lacks skipped, promotions int → long → float → double).
 * Null when the two are the same schema (plain decoding is faster); throws a TK_DECODE error saying why when the
 * writer's data cannot be read as the reader.
 */
export function writerResolver (reader: avro.Type, writer: avro.Type): AvroResolver | null {
  // Canonical forms ignore logical types; both ways of reading a long agree on them anyway (see MillisAsMicros).
  if (reader.equals(writer)) return null
  try {
    return reader.createResolver(writer)
  } catch (e) {
    throw new TilekilnError('TK_DECODE', `the writer schema cannot be read as the reader schema: ${(e as Error).message}`)
  }
}

/** The schema id of a Confluent-framed record (magic byte 0, 4-byte big-endian id), or -1 when it is not one. */
export function confluentSchemaId (bytes: Uint8Array): number {
  if (bytes.length < 5 || bytes[0] !== 0) return -1
  return ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0
}

const NOT_CONFLUENT = 'not in the Confluent wire format (magic byte 0 + 4-byte schema id)'

/** How an Avro record is refused, whichever reader read it (avsc, or the flat reader: the same words). */
const invalidAvro = (e: unknown, schema = ''): TilekilnError => new TilekilnError('TK_DECODE', `invalid Avro record${schema}: ${(e as Error).message}`)
const truncatedAvro = (schema = ''): TilekilnError => new TilekilnError('TK_DECODE', `truncated Avro record${schema}`)
const trailingAvro = (n: number, schema = ''): TilekilnError => new TilekilnError('TK_DECODE', `Avro record has ${n} trailing byte(s)${schema}: wrong schema?`)

function decodeWith (type: avro.Type, bytes: Uint8Array, skip: number, resolver: AvroResolver | undefined, id: number): Record<string, unknown> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const schema = id < 0 ? '' : ` (writer schema id ${id})`
  let res: { value: unknown, offset: number }
  try {
    res = type.decode(buf, skip, resolver) as { value: unknown, offset: number }
  } catch (e) {
    throw invalidAvro(e, schema)
  }
  if (res.offset < 0) throw truncatedAvro(schema)
  if (res.offset !== bytes.length) throw trailingAvro(bytes.length - res.offset, schema)
  return res.value as Record<string, unknown>
}

function avroDecoder (avroSchema: unknown, framing: 'raw' | 'confluent'): RecordDecoder {
  const type = avroReaderType(avroSchema)
  const skip = framing === 'confluent' ? 5 : 0
  const decode = (bytes: Uint8Array): Record<string, unknown> => {
    if (skip > 0 && (bytes.length < 5 || bytes[0] !== 0)) throw new TilekilnError('TK_DECODE', NOT_CONFLUENT)
    return decodeWith(type, bytes, skip, undefined, -1)
  }
  const flat = flatReader(type)
  if (flat === null) return withDecodeAt(decode)
  // A flat record (the common case) is read where it lies, into one reused object; same values and refusals.
  const decodeAt = (data: Uint8Array, start: number, end: number): Record<string, unknown> => {
    if (skip > 0 && (end - start < 5 || data[start] !== 0)) throw new TilekilnError('TK_DECODE', NOT_CONFLUENT)
    let o: Record<string, unknown> | null
    try {
      o = flat.read(data, start + skip, end)
    } catch (e) {
      throw invalidAvro(e)
    }
    if (o === null) throw truncatedAvro()
    if (flat.trailing !== 0) throw trailingAvro(flat.trailing)
    return o
  }
  const numbersAt = (data: Uint8Array, start: number, end: number, want: Uint8Array, vals: Float64Array, valid: Uint8Array): void => {
    if (skip > 0 && (end - start < 5 || data[start] !== 0)) throw new TilekilnError('TK_DECODE', NOT_CONFLUENT)
    let whole: boolean
    try {
      whole = flat.readNumbers(data, start + skip, end, want, vals, valid)
    } catch (e) {
      throw invalidAvro(e)
    }
    if (!whole) throw truncatedAvro()
    if (flat.trailing !== 0) throw trailingAvro(flat.trailing)
  }
  const fieldNames = (type as unknown as { fields: { name: string }[] }).fields.map(f => f.name)
  return { decode, decodeAt, numbersAt, fieldNames, numericFields: flat.numeric, flatLayout: { kinds: flat.kinds, branches: flat.branches, skip } }
}

/**
 * Confluent framing with writer schemas: each id's resolver is built once, the first time a record carries it
 * (reading the board's new entries then); after that a record costs one map lookup, or none when it has the same
 * id as the record before, which is the common case.
 */
function resolvingAvroDecoder (avroSchema: unknown, board: SchemaBoard): RecordDecoder {
  const reader = avroReaderType(avroSchema)
  /** id → resolver (null: same schema as the reader), or why records with that id cannot be read. */
  const byId = new Map<number, AvroResolver | null | string>()
  let cursor = 0
  const learn = (id: number, json: string): void => {
    try {
      byId.set(id, writerResolver(reader, avroReaderType(JSON.parse(json))))
    } catch (e) {
      byId.set(id, (e as Error).message)
    }
  }
  let lastId = -1
  let last: AvroResolver | undefined
  return withDecodeAt(bytes => {
    const id = confluentSchemaId(bytes)
    if (id < 0) throw new TilekilnError('TK_DECODE', NOT_CONFLUENT)
    if (id !== lastId) {
      let r = byId.get(id)
      if (r === undefined) {
        cursor = board.readFrom(cursor, learn)
        r = byId.get(id)
        // The main thread dead-letters records with ids it could not put on the board, so this is a bug guard.
        if (r === undefined) throw new TilekilnError('TK_DECODE', `writer schema id ${id} is not known to this decoder`)
      }
      if (typeof r === 'string') throw new TilekilnError('TK_DECODE', `writer schema id ${id}: ${r}`)
      lastId = id
      last = r ?? undefined
    }
    return decodeWith(reader, bytes, 5, last, id)
  })
}
