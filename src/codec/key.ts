// The entity key as Chronon encodes it (§5.2, §5.4): an Avro record named `Key` whose fields are the GroupBy's
// key columns, in keyColumns order, each ["null", T]. ("abc", 4242) → 02 06 61 62 63 02 a4 42.

import type { DataType } from '../api/data-type.ts'
import { T } from '../api/data-type.ts'
import { type AvroSchemaJson, avroSchemaOf, compileDecoder, compileEncoder, type Decoder, type Encoder } from './avro.ts'
import { ByteReader, ByteWriter } from './bytes.ts'

export interface KeyField { readonly name: string, readonly type: DataType }

export class KeyCodec {
  readonly fields: readonly KeyField[]
  readonly chrononType: DataType
  readonly avroSchema: AvroSchemaJson
  readonly #encode: Encoder
  readonly #decode: Decoder
  readonly #w = new ByteWriter(64)

  constructor (fields: readonly KeyField[]) {
    this.fields = fields
    this.chrononType = T.struct('Key', fields.map(f => ({ name: f.name, type: f.type })))
    this.avroSchema = avroSchemaOf(this.chrononType)
    this.#encode = compileEncoder(this.chrononType)
    this.#decode = compileDecoder(this.chrononType)
  }

  /** Key values positionally, in keyColumns order. */
  encode (values: readonly unknown[]): Uint8Array {
    const w = this.#w.reset()
    this.#encode(w, values)
    return w.copy()
  }

  write (w: ByteWriter, values: readonly unknown[]): void {
    this.#encode(w, values)
  }

  decode (bytes: Uint8Array): unknown[] {
    return this.#decode(new ByteReader(bytes)) as unknown[]
  }

  /**
   * Converts command-line text (`--key user_id=91`) to the key column's type, so a fetch encodes exactly the
   * bytes the engine wrote.
   */
  parseText (name: string, text: string): unknown {
    const f = this.fields.find(x => x.name === name)
    if (f === undefined) throw new Error(`'${name}' is not a key column (keys: ${this.fields.map(x => x.name).join(', ')})`)
    switch (f.type.kind) {
      case 'string': return text
      case 'int': case 'short': case 'byte': case 'long': {
        if (!/^-?\d+$/.test(text.trim())) throw new Error(`key ${name} is a ${f.type.kind}; '${text}' is not an integer`)
        const big = BigInt(text.trim())
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
      }
      case 'double': case 'float': {
        const v = Number(text)
        if (Number.isNaN(v) && text.trim() !== 'NaN') throw new Error(`key ${name} is a ${f.type.kind}; '${text}' is not a number`)
        return f.type.kind === 'float' ? Math.fround(v) : v
      }
      case 'boolean':
        if (text !== 'true' && text !== 'false') throw new Error(`key ${name} is a boolean; use true or false`)
        return text === 'true'
      default: throw new Error(`key ${name} has type ${f.type.kind}, which cannot be given on the command line`)
    }
  }
}
