// Reading a few top-level fields of a raw record without decoding all of it: the main thread needs each record's
// key values (to pick the worker) and event time (for the partition's watermark) before a worker decodes it.
//
//   JSON   a scan of the top-level object for the wanted members; only their values are parsed
//   CSV    the line is split and only the wanted cells converted
//   Avro   a flat record (primitives, maybe in unions) of one schema: the flat reader, skipping the other fields;
//          otherwise a projection of the reader schema onto the wanted fields, read through Avro schema
//          resolution, which skips the other fields without building them (one resolver per writer schema)
//
// Values come out exactly as the full decoder (codec/record.ts) gives them, through the same converters — so the
// key a record is routed by is the key it is aggregated under. A field the decoder would refuse comes out as
// undefined (the worker then dead-letters the record with the reason); a missing or null one as null.

import type avro from 'avsc'
import type { StructType } from '../api/data-type.ts'
import { flatReader } from './flat-avro.ts'
import { avroReaderType, confluentSchemaId, csvCellConverter, type InputFormat, jsonFieldConverter, splitCsv } from './record.ts'
import { SchemaBoard } from './schema-board.ts'

export interface FieldExtractor {
  /**
   * Fills `out[i]` with the value of field `fields[i]`. False when the record is not even readable as the format
   * (not a JSON object, a CSV line of the wrong width, an Avro datum that does not decode): `out` is then unusable.
   */
  extract (bytes: Uint8Array, out: unknown[]): boolean
}

const utf8 = new TextDecoder()

/** An extractor of `fields` (top-level input fields), or null when this format cannot be read partially. */
export function fieldExtractor (format: InputFormat, fields: readonly string[]): FieldExtractor | null {
  switch (format.kind) {
    case 'json': return jsonExtractor(format, fields)
    case 'csv': return csvExtractor(format, fields)
    case 'avro': return avroExtractor(format, fields)
  }
}

function fieldType (schema: StructType, name: string): StructType['fields'][number]['type'] | undefined {
  return schema.fields.find(f => f.name === name)?.type
}

function jsonExtractor (format: Extract<InputFormat, { kind: 'json' }>, fields: readonly string[]): FieldExtractor {
  const spans: (string | undefined)[] = new Array(fields.length)
  const convert = fields.map(f => {
    const t = fieldType(format.schema, f)
    // A field outside the schema is not decoded by the worker either: it reads as missing.
    return t === undefined ? () => null : jsonFieldConverter(t, format.timestampMillis?.includes(f) === true)
  })
  return {
    extract (bytes, out) {
      const text = utf8.decode(bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice())
      if (!scanTopLevel(text, fields, spans)) return false
      for (let i = 0; i < fields.length; i++) {
        const s = spans[i]
        if (s === undefined) { out[i] = null; continue }
        const parsed = parseJsonSpan(s)
        out[i] = parsed === undefined ? undefined : convert[i]!(parsed)
      }
      return true
    }
  }
}

function parseJsonSpan (s: string): unknown {
  if (s.charCodeAt(0) === 34 /* " */ && s.indexOf('\\') < 0) return s.slice(1, -1)
  try { return JSON.parse(s) } catch { return undefined }
}

function csvExtractor (format: Extract<InputFormat, { kind: 'csv' }>, fields: readonly string[]): FieldExtractor {
  const columns = fields.map(f => format.header.indexOf(f))
  const convert = fields.map(f => {
    const t = fieldType(format.schema, f)
    return t === undefined ? () => null : csvCellConverter(t, format.timestampMillis?.includes(f) === true)
  })
  return {
    extract (bytes, out) {
      let cells: string[]
      try { cells = splitCsv(utf8.decode(bytes).replace(/\r$/, ''), format.delimiter) } catch { return false }
      if (cells.length !== format.header.length) return false
      for (let i = 0; i < columns.length; i++) {
        const c = columns[i]!
        out[i] = c < 0 ? null : convert[i]!(cells[c]!)
      }
      return true
    }
  }
}

interface AvroRecordSchema { type: 'record', name: string, namespace?: string, fields: Array<{ name: string, type: unknown }> }

function avroExtractor (format: Extract<InputFormat, { kind: 'avro' }>, fields: readonly string[]): FieldExtractor | null {
  const full = format.avroSchema as AvroRecordSchema
  if (typeof full !== 'object' || full === null || full.type !== 'record' || !Array.isArray(full.fields)) return null
  let projection: avro.Type
  let reader: avro.Type
  try {
    projection = avroReaderType({ type: 'record', name: full.name, namespace: full.namespace, fields: full.fields.filter(f => fields.includes(f.name)) })
    reader = avroReaderType(full)
  } catch {
    // A projected field names a type defined in a field left out: read whole records instead.
    return null
  }
  const index = fields.map(f => full.fields.some(x => x.name === f))
  /** The wanted fields of a decoded record into `out` (null for a field outside the schema or missing). */
  const fill = (rec: Record<string, unknown>, out: unknown[]): void => {
    for (let i = 0; i < fields.length; i++) {
      const v = index[i]! ? rec[fields[i]!] : null
      out[i] = v === undefined ? null : v
    }
  }
  const skip = format.framing === 'confluent' ? 5 : 0
  type Resolver = ReturnType<avro.Type['createResolver']>
  const board = format.writerSchemas === undefined ? null : new SchemaBoard(format.writerSchemas)
  const byId = new Map<number, Resolver | null>()
  let cursor = 0
  // One reader schema (no registry): the wanted fields read where they lie, the others skipped, into one reused
  // object; what avsc reads through the projection below, without a Buffer, a record and a resolver pass per record.
  const flat = board === null ? flatReader(reader, fields) : null
  if (flat !== null) {
    return {
      extract (bytes, out) {
        if (skip > 0 && (bytes.length < 5 || bytes[0] !== 0)) return false
        let rec: Record<string, unknown> | null
        try { rec = flat.read(bytes, skip, bytes.length) } catch { return false }
        if (rec === null) return false
        fill(rec, out)
        return true
      }
    }
  }
  let fixed: Resolver
  try { fixed = projection.createResolver(reader) } catch { return null }
  const resolverFor = (bytes: Uint8Array): Resolver | null => {
    if (board === null) return fixed
    const id = confluentSchemaId(bytes)
    if (id < 0) return null
    let r = byId.get(id)
    if (r === undefined) {
      cursor = board.readFrom(cursor, (wid, json) => {
        try { byId.set(wid, projection.createResolver(avroReaderType(JSON.parse(json)))) } catch { byId.set(wid, null) }
      })
      r = byId.get(id) ?? null
    }
    return r
  }
  return {
    extract (bytes, out) {
      if (skip > 0 && (bytes.length < 5 || bytes[0] !== 0)) return false
      const resolver = resolverFor(bytes)
      if (resolver === null) return false
      let rec: Record<string, unknown>
      try {
        const res = projection.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), skip, resolver) as { value: unknown, offset: number }
        if (res.offset < 0) return false
        rec = res.value as Record<string, unknown>
      } catch {
        return false
      }
      fill(rec, out)
      return true
    }
  }
}

/**
 * Finds the raw JSON text of the wanted top-level fields of an object without building it. Returns false when
 * the text is not a JSON object (the worker then dead-letters it). Later duplicates win, as in JSON.parse.
 */
export function scanTopLevel (s: string, wanted: readonly string[], out: (string | undefined)[]): boolean {
  out.fill(undefined)
  const n = s.length
  let i = skipWs(s, 0)
  if (s.charCodeAt(i) !== 123 /* { */) return false
  i = skipWs(s, i + 1)
  if (s.charCodeAt(i) === 125 /* } */) return true
  for (;;) {
    if (s.charCodeAt(i) !== 34) return false
    const keyEnd = skipString(s, i)
    if (keyEnd < 0) return false
    let key = s.slice(i + 1, keyEnd - 1)
    if (key.indexOf('\\') >= 0) { try { key = JSON.parse(s.slice(i, keyEnd)) as string } catch { return false } }
    i = skipWs(s, keyEnd)
    if (s.charCodeAt(i) !== 58 /* : */) return false
    i = skipWs(s, i + 1)
    const vEnd = skipValue(s, i)
    if (vEnd < 0) return false
    const w = wanted.indexOf(key)
    if (w >= 0) out[w] = s.slice(i, vEnd)
    i = skipWs(s, vEnd)
    const c = s.charCodeAt(i)
    if (c === 44 /* , */) { i = skipWs(s, i + 1); continue }
    return c === 125 && skipWs(s, i + 1) === n
  }
}

function skipWs (s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i)
    if (c === 32 || c === 9 || c === 10 || c === 13) i++
    else return i
  }
}

function skipString (s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j)
    if (c === 92 /* \ */) { j++; continue }
    if (c === 34) return j + 1
  }
  return -1
}

function skipValue (s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c === 34) return skipString(s, i)
  if (c === 123 || c === 91) {
    let depth = 0
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j)
      if (d === 34) { j = skipString(s, j) - 1; if (j < 0) return -1; continue }
      if (d === 123 || d === 91) depth++
      else if (d === 125 || d === 93) { depth--; if (depth === 0) return j + 1 }
    }
    return -1
  }
  let j = i
  for (; j < s.length; j++) {
    const d = s.charCodeAt(j)
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break
  }
  return j > i ? j : -1
}
