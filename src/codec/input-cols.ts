// The value of an untiled put (§1.4, §4.1): the Avro record Chronon's AvroCodecFn writes for one evaluated row,
//
//   {cleanName}_INPUT_COLS { <aggregation input 1>: ["null", T1], <aggregation input 2>: ["null", T2], … }
//
// with one field per `aggregationInputs` column (each aggregation's bucket columns then its input column, first
// occurrence kept), typed as the selects produce them. Bytes: per field 00 (null) or 02 + the value (§5.2).
// Rows on both sides are positional arrays in the evaluated row's column order (ServingInfo.rowColumns); the codec
// maps between the two orders, writing straight from the row into the caller's writer. Decoded values take the
// shapes evaluated rows have (maps as plain objects, structs as objects by field name — api/data-type.ts), so the
// aggregators see a stored row exactly as they would have seen it live.

import { type DataType, type StructType, T } from '../api/data-type.ts'
import { type AvroSchemaJson, avroSchemaOf, compileNullableDecoder, compileNullableEncoder, type Decoder, type Encoder } from './avro.ts'
import { ByteReader, type ByteWriter } from './bytes.ts'

export interface InputColumnField {
  readonly name: string
  readonly type: DataType
  /** Index of the column in the evaluated row. */
  readonly rowIndex: number
}

export class InputColsCodec {
  readonly chrononType: StructType
  readonly avroSchema: AvroSchemaJson
  readonly fields: readonly InputColumnField[]
  readonly #encoders: readonly Encoder[]
  readonly #decoders: readonly Decoder[]
  readonly #rowIndex: Int32Array

  constructor (cleanName: string, fields: readonly InputColumnField[]) {
    this.fields = fields
    this.chrononType = T.struct(`${cleanName}_INPUT_COLS`, fields.map(f => ({ name: f.name, type: f.type }))) as StructType
    this.avroSchema = avroSchemaOf(this.chrononType)
    this.#encoders = fields.map(f => compileNullableEncoder(f.type))
    this.#decoders = fields.map(f => {
      const decode = compileNullableDecoder(f.type)
      const shape = rowShape(f.type)
      if (shape === null) return decode
      return r => { const v = decode(r); return v === null ? null : shape(v) }
    })
    this.#rowIndex = Int32Array.from(fields.map(f => f.rowIndex))
  }

  /** Writes the record for an evaluated row. */
  write (w: ByteWriter, row: readonly unknown[]): void {
    const enc = this.#encoders
    for (let i = 0; i < enc.length; i++) enc[i]!(w, row[this.#rowIndex[i]!])
  }

  /** Decodes a record into `row` (evaluated-row order); other row positions are left as they are. */
  decodeInto (bytes: Uint8Array, row: unknown[]): void {
    const r = new ByteReader(bytes)
    const dec = this.#decoders
    for (let i = 0; i < dec.length; i++) row[this.#rowIndex[i]!] = dec[i]!(r)
    if (r.pos !== bytes.length) throw new RangeError(`bad ${this.chrononType.name} record: ${bytes.length - r.pos} trailing byte(s)`)
  }
}

/** Converts a decoded value (maps as Map, structs positional) to the evaluated-row shape; null when nothing to do. */
function rowShape (t: DataType): ((v: unknown) => unknown) | null {
  switch (t.kind) {
    case 'list': {
      const elem = rowShape(t.elem)
      return elem === null ? null : v => (v as unknown[]).map(elem)
    }
    case 'map': {
      const value = rowShape(t.value) ?? ((x: unknown) => x)
      return v => {
        const o: Record<string, unknown> = {}
        for (const [k, x] of v as Map<string, unknown>) setOwn(o, k, value(x))
        return o
      }
    }
    case 'struct': {
      const names = t.fields.map(f => f.name)
      const shapes = t.fields.map(f => rowShape(f.type) ?? ((x: unknown) => x))
      return v => {
        const a = v as unknown[]
        const o: Record<string, unknown> = {}
        for (let i = 0; i < names.length; i++) setOwn(o, names[i]!, a[i] === null ? null : shapes[i]!(a[i]))
        return o
      }
    }
    default: return null
  }
}

/** An own data property even for a key like `__proto__` (as JSON.parse makes it). */
function setOwn (o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}
