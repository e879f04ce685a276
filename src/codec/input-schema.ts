// The input record schema, as Chronon DataTypes: from an Avro schema (Kafka/Avro files, `--schema`), or inferred
// from sample records much as Spark infers JSON and CSV (`inferSchema`): integers → int when they fit 32 bits
// else long (CSV) / long (JSON), other numbers → double, true/false → boolean, the rest → string.
//
// Unlike Spark, one record cannot decide a column's type for all the others. Each top-level column's type is voted
// by the whole sample: its values fall into kinds (boolean, number, string, list, struct) and the kind most values
// have wins; a tie widens as Spark does (to string). Within the winning kind types widen as in Spark (an int column
// with one 1.5 is a double column; nested fields likewise). The records whose value is of another kind are then
// dead letters ("field 'user_id' should be long, got string …"), instead of one string `user_id` among 200 numbers
// making the column a string (and every number in it a dead letter), or one text cell re-keying every tile.

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

type Kind = 'boolean' | 'number' | 'string' | 'list' | 'struct'

function kindOf (t: DataType): Kind | null {
  switch (t.kind) {
    case 'null': return null
    case 'boolean': case 'string': case 'list': case 'struct': return t.kind
    default: return 'number'
  }
}

/** The types seen in one column, by kind: how many values, and their widened type. */
class ColumnVote {
  readonly #kinds = new Map<Kind, { n: number, type: DataType }>()

  add (t: DataType): void {
    const k = kindOf(t)
    if (k === null) return
    const seen = this.#kinds.get(k)
    if (seen === undefined) this.#kinds.set(k, { n: 1, type: t })
    else { seen.n++; seen.type = widen(seen.type, t) }
  }

  /** The most common kind's widened type; a tie widens the tied kinds (Spark); nothing but nulls: string. */
  decide (): DataType {
    let best = 0
    for (const v of this.#kinds.values()) best = Math.max(best, v.n)
    let t: DataType = T.null
    for (const v of this.#kinds.values()) if (v.n === best) t = widen(t, v.type)
    return finalizeNulls(t)
  }
}

/** JSON inference over sample records by column vote (see the top); columns seen only as null become strings. */
export function inferJsonSchema (samples: readonly object[]): StructType {
  const votes = new Map<string, ColumnVote>()
  for (const s of samples) {
    for (const [name, v] of Object.entries(s)) {
      let vote = votes.get(name)
      if (vote === undefined) votes.set(name, vote = new ColumnVote())
      vote.add(inferJsonValue(v))
    }
  }
  return T.struct('Input', [...votes].map(([name, vote]) => ({ name, type: vote.decide() }))) as StructType
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

/** Spark-like `inferSchema` over CSV cells (already split), by column vote (see the top); every cell counts. */
export function inferCsvSchema (header: readonly string[], rows: readonly (readonly string[])[]): StructType {
  const votes = header.map(() => new ColumnVote())
  for (const row of rows) {
    for (let i = 0; i < header.length; i++) votes[i]!.add(inferCsvCell(row[i] ?? ''))
  }
  return T.struct('Input', header.map((name, i) => ({ name, type: votes[i]!.decide() }))) as StructType
}
