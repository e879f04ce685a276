// The value of an untiled put (§1.4, §4.1): the Avro record Chronon's AvroCodecFn writes for one evaluated row,
//
//   {cleanName}_INPUT_COLS { <aggregation input 1>: ["null", T1], <aggregation input 2>: ["null", T2], … }
//
// with one field per `aggregationInputs` column (each aggregation's bucket columns then its input column, first
// occurrence kept), typed as the selects produce them. Bytes: per field 00 (null) or 02 + the value (§5.2).
// Rows on both sides are positional arrays in the evaluated row's column order (ServingInfo.rowColumns); the codec
// maps between the two orders, writing straight from the row into the caller's writer. Decoded values have the
// shapes a decoded tile IR has (maps as Map in stored order, structs positional), not the live row's (plain
// objects): the aggregators take both, and the values they keep then finalize exactly as the tiled read's do.

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
    this.#decoders = fields.map(f => compileNullableDecoder(f.type))
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

