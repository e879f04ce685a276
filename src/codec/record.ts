// Decoding one raw input record (a JSON line, a CSV line, an Avro datum) into a plain object by field name,
// checked against the input schema. A record that cannot be decoded or whose fields have the wrong type throws a
// TilekilnError (TK_DECODE / TK_INPUT) naming the field; the worker sends it to the dead-letter output.

import avro from 'avsc'
import type { DataType, StructType } from '../api/data-type.ts'
import { typeToString } from '../api/data-type.ts'
import { TilekilnError } from '../errors.ts'

export type InputFormat =
  | { readonly kind: 'json', readonly schema: StructType }
  | { readonly kind: 'csv', readonly schema: StructType, readonly header: readonly string[], readonly delimiter: string }
  | { readonly kind: 'avro', readonly schema: StructType, readonly avroSchema: unknown, readonly framing: 'raw' | 'confluent' }

export interface RecordDecoder {
  /** `bytes` may be a view into shared memory; the decoder copies what it keeps. */
  decode (bytes: Uint8Array): Record<string, unknown>
}

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
    case 'json': return jsonDecoder(format.schema)
    case 'csv': return csvDecoder(format.schema, format.header, format.delimiter)
    case 'avro': return avroDecoder(format.avroSchema, format.framing)
  }
}

function jsonDecoder (schema: StructType): RecordDecoder {
  const checks = schema.fields.map(f => ({ name: f.name, check: jsonCheck(f.type) }))
  return {
    decode (bytes) {
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
        if (fixed === BAD) throw wrongType(c.name, x, schema)
        if (fixed !== x) o[c.name] = fixed
      }
      return o
    }
  }
}

const BAD = Symbol('bad')

function wrongType (name: string, x: unknown, schema: StructType): TilekilnError {
  const f = schema.fields.find(y => y.name === name)!
  const shown = JSON.stringify(x)
  return new TilekilnError('TK_INPUT', `field '${name}' should be ${typeToString(f.type)}, got ${typeof x} ${shown === undefined ? '' : shown.slice(0, 80)}`)
}

/** A converter that returns the (possibly normalized) value, or BAD. Only the top level is checked deeply. */
function jsonCheck (t: DataType): (x: unknown) => unknown {
  switch (t.kind) {
    case 'int': case 'short': case 'byte':
      return x => (typeof x === 'number' && Number.isInteger(x) && x >= -2147483648 && x <= 2147483647 ? x : BAD)
    case 'long':
      return x => (typeof x === 'number' && Number.isInteger(x) ? x : BAD)
    case 'double':
      return x => (typeof x === 'number' ? x : BAD)
    case 'float':
      return x => (typeof x === 'number' ? Math.fround(x) : BAD)
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

function csvConvert (t: DataType): (s: string) => unknown {
  switch (t.kind) {
    case 'int': case 'short': case 'byte': case 'long':
      return s => (INT_RE.test(s) ? Number(s) : BAD)
    case 'double': case 'float': {
      const round = t.kind === 'float'
      return s => {
        const v = Number(s)
        if (Number.isNaN(v) && s.trim() !== 'NaN') return BAD
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
export function csvCellConverter (t: DataType): (cell: string) => unknown {
  const conv = csvConvert(t)
  return cell => {
    if (cell === '') return null
    const v = conv(cell)
    return v === BAD ? undefined : v
  }
}

function csvDecoder (schema: StructType, header: readonly string[], delimiter: string): RecordDecoder {
  const convs = header.map(h => {
    const f = schema.fields.find(x => x.name === h)
    return f === undefined ? null : csvConvert(f.type)
  })
  return {
    decode (bytes) {
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
        if (cell === '') { o[header[i]!] = null; continue }
        const v = conv(cell)
        if (v === BAD) throw wrongType(header[i]!, cell, schema)
        o[header[i]!] = v
      }
      return o
    }
  }
}

/**
 * A timestamp-millis long decodes to microseconds, the engine's TIMESTAMP representation (as Spark's AvroDeserializer
 * does); exact within ±285 years of 1970. Other logical types decode as their base type, already in the engine's
 * representation (timestamp-micros: microseconds, date: days).
 */
class MillisAsMicros extends avro.types.LogicalType {
  override _fromValue (v: unknown): unknown { return typeof v === 'number' ? v * 1000 : v }
  override _toValue (v: unknown): unknown { return typeof v === 'number' ? Math.floor(v / 1000) : v }
  override _resolve (type: avro.Type): ((v: unknown) => unknown) | undefined {
    return type.typeName === 'long' || type.typeName === 'timestamp-millis' ? (v: unknown) => v : undefined
  }
}

function avroDecoder (avroSchema: unknown, framing: 'raw' | 'confluent'): RecordDecoder {
  const type = avro.Type.forSchema(avroSchema as avro.Schema, { logicalTypes: { 'timestamp-millis': MillisAsMicros } })
  const skip = framing === 'confluent' ? 5 : 0
  return {
    decode (bytes) {
      if (skip > 0 && (bytes.length < 5 || bytes[0] !== 0)) {
        throw new TilekilnError('TK_DECODE', 'not in the Confluent wire format (magic byte 0 + 4-byte schema id)')
      }
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      let res: { value: unknown, offset: number }
      try {
        res = type.decode(buf, skip) as { value: unknown, offset: number }
      } catch (e) {
        throw new TilekilnError('TK_DECODE', `invalid Avro record: ${(e as Error).message}`)
      }
      if (res.offset < 0) throw new TilekilnError('TK_DECODE', 'truncated Avro record')
      if (res.offset !== bytes.length) throw new TilekilnError('TK_DECODE', `Avro record has ${bytes.length - res.offset} trailing byte(s): wrong schema?`)
      return res.value as Record<string, unknown>
    }
  }
}
