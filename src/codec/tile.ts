// The tile value (Chronon TileCodec, §5.3): an Avro record
//
//   {cleanName}_TILE_IR {
//     collapsedIr: ["null", WindowedIr { <tile part name>: ["null", <normalized IR type>], … }],
//     isComplete:  ["null", boolean]
//   }
//
// One field per tile part (aggregation × bucket; windows share it). Bytes: 02, then per part 00 (null IR) or
// 02 + IR, then 02 + 00/01 for isComplete. A JVM Chronon fetcher decodes these bytes with the same schema.

import { type DataType, T } from '../api/data-type.ts'
import { type AvroSchemaJson, avroSchemaOf, compileNullableDecoder, compileNullableEncoder, type Decoder, type Encoder } from './avro.ts'
import { ByteReader, ByteWriter } from './bytes.ts'

export interface TilePartType { readonly name: string, readonly irType: DataType }

export interface DecodedTile { irs: unknown[], isComplete: boolean }

export class TileCodec {
  readonly chrononType: DataType
  readonly avroSchema: AvroSchemaJson
  /** Nullable encoder per part (writes 00 or 02 + IR), for writers that emit parts one by one. */
  readonly partEncoders: readonly Encoder[]
  readonly #partDecoders: readonly Decoder[]
  readonly #scratch = new ByteWriter(1024)

  constructor (cleanName: string, parts: readonly TilePartType[]) {
    const windowed = T.struct('WindowedIr', parts.map(p => ({ name: p.name, type: p.irType })))
    this.chrononType = T.struct(`${cleanName}_TILE_IR`, [
      { name: 'collapsedIr', type: windowed }, { name: 'isComplete', type: T.boolean }
    ])
    this.avroSchema = avroSchemaOf(this.chrononType)
    this.partEncoders = parts.map(p => compileNullableEncoder(p.irType))
    this.#partDecoders = parts.map(p => compileNullableDecoder(p.irType))
  }

  /** Writes the tile for normalized IRs (null = empty slot). */
  write (w: ByteWriter, normalizedIrs: readonly unknown[], isComplete: boolean): void {
    w.byte(2)
    for (let i = 0; i < this.partEncoders.length; i++) this.partEncoders[i]!(w, normalizedIrs[i])
    writeTileTrailer(w, isComplete)
  }

  encode (normalizedIrs: readonly unknown[], isComplete: boolean): Uint8Array {
    this.write(this.#scratch.reset(), normalizedIrs, isComplete)
    return this.#scratch.copy()
  }

  decode (bytes: Uint8Array): DecodedTile {
    const r = new ByteReader(bytes)
    const branch = r.zigzagNumber()
    let irs: unknown[]
    if (branch === 0) irs = this.#partDecoders.map(() => null)
    else if (branch === 1) irs = this.#partDecoders.map(d => d(r))
    else throw new RangeError(`bad tile: collapsedIr union branch ${branch}`)
    const completeBranch = r.zigzagNumber()
    const isComplete = completeBranch === 1 ? r.byte() !== 0 : false
    if (r.pos !== bytes.length) throw new RangeError(`bad tile: ${bytes.length - r.pos} trailing byte(s)`)
    return { irs, isComplete }
  }
}

export function writeTileTrailer (w: ByteWriter, isComplete: boolean): void {
  w.byte(2)
  w.byte(isComplete ? 1 : 0)
}
