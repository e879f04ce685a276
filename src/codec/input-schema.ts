// The input record schema, as Chronon DataTypes: from an Avro schema (Kafka/Avro files, `--schema`), or inferred
// from sample records the way Spark infers JSON and CSV (`inferSchema`): integers → int when they fit 32 bits
// else long (CSV) / long (JSON), other numbers → double, true/false → boolean, the rest → string.

import { type DataType, type StructField, type StructType, T } from '../api/data-type.ts'

type AvroJson = string | { type: unknown, [k: string]: unknown } | unknown[]

/**
 * Chronon's AvroConversions.toChrononSchema, plus enum → string, fixed → binary, and the logical types as Spark's
 * SchemaConverters read them (Zipline's Flink job decodes Avro input with Spark's AvroDataToCatalyst): a long with
 * timestamp-millis / timestamp-micros is a TIMESTAMP (the decoder turns millis into the engine's microseconds), an
 * int with date a DATE; other logical types → their base.
 */
export function fromAvroSchema (schema: unknown): DataType {
  const s = schema as AvroJson
  if (typeof s === 'string') {
    switch (s) {
      case 'null': return T.null
      case 'boolean': return T.boolean
      case 'int': return T.int
      case 'long': return T.long
      case 'float': return T.float
      case 'double': return T.double
      case 'bytes': return T.binary
      case 'string': return T.string
      default: throw new Error(`unsupported Avro type '${s}' (named type references are not supported; inline the definition)`)
    }
  }
  if (Array.isArray(s)) {
    const nonNull = s.filter(x => x !== 'null')
    if (nonNull.length !== 1) throw new Error(`only ["null", T] unions are supported, got ${JSON.stringify(s)}`)
    return fromAvroSchema(nonNull[0])
  }
  switch (s.type) {
    case 'record': case 'error': {
      const fields = (s.fields as { name: string, type: unknown }[]).map(f => ({ name: f.name, type: fromAvroSchema(f.type) }))
      return T.struct(String(s.name ?? 'Record'), fields)
    }
    case 'array': return T.list(fromAvroSchema(s.items))
    case 'map': return T.map(T.string, fromAvroSchema(s.values))
    case 'enum': return T.string
    case 'fixed': return T.binary
    case 'int':
      if (s.logicalType === 'short') return T.short
      if (s.logicalType === 'byte') return T.byte
      if (s.logicalType === 'date') return T.date
      return T.int
    case 'long':
      if (s.logicalType === 'timestamp-millis' || s.logicalType === 'timestamp-micros') return T.timestamp
      return T.long
    default: return fromAvroSchema(s.type)
  }
}

export function asStruct (t: DataType, what: string): StructType {
  if (t.kind !== 'struct') throw new Error(`${what} must be a record schema`)
  return t
}

/** Merges two inferred types; null-only columns stay `null` until something typed is seen. */
function widen (a: DataType, b: DataType): DataType {
  if (a.kind === 'null') return b
  if (b.kind === 'null') return a
  if (a.kind === b.kind) {
    if (a.kind === 'list' && b.kind === 'list') return T.list(widen(a.elem, b.elem))
    if (a.kind === 'struct' && b.kind === 'struct') return mergeStructs(a, b)
    return a
  }
  const num = ['int', 'long', 'double']
  if (num.includes(a.kind) && num.includes(b.kind)) return num.indexOf(a.kind) > num.indexOf(b.kind) ? a : b
  return T.string
}

function mergeStructs (a: StructType, b: StructType): StructType {
  const fields: StructField[] = a.fields.map(f => {
    const other = b.fields.find(x => x.name === f.name)
    return other === undefined ? f : { name: f.name, type: widen(f.type, other.type) }
  })
  for (const f of b.fields) if (!fields.some(x => x.name === f.name)) fields.push(f)
  return T.struct(a.name, fields) as StructType
}

function inferJsonValue (v: unknown): DataType {
  if (v === null || v === undefined) return T.null
  if (typeof v === 'boolean') return T.boolean
  if (typeof v === 'number') return Number.isInteger(v) ? T.long : T.double
  if (typeof v === 'string') return T.string
  if (Array.isArray(v)) return T.list(v.reduce<DataType>((t, x) => widen(t, inferJsonValue(x)), T.null))
  return T.struct('Struct', Object.entries(v as object).map(([k, x]) => ({ name: k, type: inferJsonValue(x) })))
}

/** Spark-style JSON inference over sample records; columns seen only as null become strings. */
export function inferJsonSchema (samples: readonly object[]): StructType {
  let t: DataType = T.struct('Input', [])
  for (const s of samples) t = widen(t, { ...(inferJsonValue(s) as StructType), name: 'Input' })
  return finalizeNulls(t) as StructType
}

function finalizeNulls (t: DataType): DataType {
  if (t.kind === 'null') return T.string
  if (t.kind === 'list') return T.list(finalizeNulls(t.elem))
  if (t.kind === 'struct') return T.struct(t.name, t.fields.map(f => ({ name: f.name, type: finalizeNulls(f.type) })))
  return t
}

const INT_RE = /^[+-]?\d+$/
const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

function inferCsvCell (s: string): DataType {
  if (s === '') return T.null
  if (INT_RE.test(s)) {
    const n = Number(s)
    return n >= -2147483648 && n <= 2147483647 ? T.int : T.long
  }
  if (NUM_RE.test(s) || s === 'NaN' || s === 'Infinity' || s === '-Infinity') return T.double
  if (s === 'true' || s === 'false' || s === 'TRUE' || s === 'FALSE' || s === 'True' || s === 'False') return T.boolean
  return T.string
}

/** Spark `inferSchema` over CSV cells (already split); every cell of a column is looked at. */
export function inferCsvSchema (header: readonly string[], rows: readonly (readonly string[])[]): StructType {
  const types: DataType[] = header.map(() => T.null)
  for (const row of rows) {
    for (let i = 0; i < header.length; i++) types[i] = widen(types[i]!, inferCsvCell(row[i] ?? ''))
  }
  return T.struct('Input', header.map((name, i) => ({ name, type: finalizeNulls(types[i]!) }))) as StructType
}
