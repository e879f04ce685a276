// The entity key as Chronon encodes it (§5.2, §5.4): an Avro record named `Key` whose fields are the GroupBy's
// key columns, in keyColumns order, each ["null", T]. ("abc", 4242) → 02 06 61 62 63 02 a4 42.

import type { DataType } from '../api/data-type.ts'
import { T } from '../api/data-type.ts'
import { type AvroSchemaJson, avroSchemaOf, compileDecoder, compileEncoder, type Decoder, type Encoder } from './avro.ts'
import { ByteReader, ByteWriter } from './bytes.ts'
import { TilekilnError } from '../errors.ts'
import { keyValueProblem, numberProblem } from './value-range.ts'

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

  /**
   * Key values positionally, in keyColumns order. Throws a TK_INPUT error when a value is not one of its column's
   * type (codec/value-range.ts): such a value would be written as the bytes of another key.
   */
  encode (values: readonly unknown[]): Uint8Array {
    this.check(values)
    const w = this.#w.reset()
    this.#encode(w, values)
    return w.copy()
  }

  write (w: ByteWriter, values: readonly unknown[]): void {
    this.check(values)
    this.#encode(w, values)
  }

  /** Refuses key values that do not hold their column's type exactly (nulls pass: Chronon keys are nullable). */
  check (values: readonly unknown[]): void {
    const fields = this.fields
    for (let i = 0; i < fields.length; i++) {
      const v = values[i]
      if (v === null || v === undefined) continue
      const why = keyValueProblem(fields[i]!.type, v)
      if (why !== null) throw new TilekilnError('TK_INPUT', `bad key: key column '${fields[i]!.name}' (${fields[i]!.type.kind}): ${why}`)
    }
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
    const v = parseKeyText(f, text)
    // The read side refuses what the write side refuses: a key no record could have been stored under.
    const why = keyValueProblem(f.type, v)
    if (why !== null) throw new Error(`key ${name} is a ${f.type.kind}; ${why}`)
    return v
  }
}

const INTEGER = /^[+-]?\d+$/
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^(NaN|[+-]?Infinity)$/

function parseKeyText (f: KeyField, text: string): unknown {
  const name = f.name
  switch (f.type.kind) {
    case 'string': return text
    case 'int': case 'short': case 'byte': case 'long': {
      const t = text.trim()
      if (!INTEGER.test(t)) throw new Error(`key ${name} is a ${f.type.kind}; '${text}' is not an integer`)
      const big = BigInt(t)
      // Within ±2^53 a long is a number, as records decode it; beyond, a bigint (exact) that check() judges.
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
    }
    case 'double': case 'float': {
      const t = text.trim()
      if (!DECIMAL.test(t)) throw new Error(`key ${name} is a ${f.type.kind}; '${text}' is not a number`)
      const v = Number(t)
      if (f.type.kind === 'float' && numberProblem('float', v) !== null) throw new Error(`key ${name} is a float; ${numberProblem('float', v)!}`)
      return f.type.kind === 'float' ? Math.fround(v) : v
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`key ${name} is a boolean; use true or false`)
      return text === 'true'
    default: throw new Error(`key ${name} has type ${f.type.kind}, which cannot be given on the command line`)
  }
}

/** A key for messages: `{"column": value, …}` in key column order, 64-bit integers as strings (JSON has none). */
export function describeKey (columns: readonly string[], values: readonly unknown[]): string {
  return JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, values[i]])), (_k, v) => (typeof v === 'bigint' ? String(v) : v))
}
