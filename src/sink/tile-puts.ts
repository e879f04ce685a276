// A batch of tile upserts as one flat buffer (see put-batch.ts), built by a worker and transferred (not copied) to the
// writer:
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 tileStartMillis] [u32 valueLength] [tile value bytes] )
//
// little-endian. The entity key is the Avro key record; the tile value is the Avro tile record. Dataset and tile
// size are the same for the whole batch and travel beside it.

import { ByteWriter } from '../codec/bytes.ts'
import { finishBatch, PutBatch } from './put-batch.ts'

export class TilePutsWriter {
  readonly #w = new ByteWriter(1 << 16)
  #count = 0
  #valueLenAt = 0

  begin (): void {
    this.#w.reset()
    this.#w.u32le(0)
    this.#count = 0
  }

  /** Starts one put; write the tile value into the returned writer, then call `endValue`. */
  beginPut (keyBytes: Uint8Array, tileStart: number): ByteWriter {
    const w = this.#w
    w.u16le(keyBytes.length)
    w.raw(keyBytes)
    w.double(tileStart)
    this.#valueLenAt = w.pos
    w.u32le(0)
    return w
  }

  endValue (): void {
    const w = this.#w
    w.setU32le(this.#valueLenAt, w.pos - this.#valueLenAt - 4)
    this.#count++
  }

  /** Appends `count` records already in the batch format (encoded by the WASM tile encoder). */
  appendRecords (bytes: Uint8Array, count: number): void {
    this.#w.raw(bytes)
    this.#count += count
  }

  get count (): number { return this.#count }

  /** The finished batch in a fresh ArrayBuffer (ours is reused), ready to transfer. */
  finish (): ArrayBuffer {
    return finishBatch(this.#w, this.#count)
  }
}

/** Read side of a tile put batch. */
export class TilePuts extends PutBatch {
  /** The source partition of each put (the store fences writes per partition); absent: all partition 0. */
  readonly partitions: Int32Array | null

  constructor (buffer: ArrayBuffer, partitions?: Int32Array) {
    super(buffer, 0, 'tile')
    this.partitions = partitions ?? null
  }

  tileStart (i: number): number { return this.time(i) }
  partition (i: number): number { return this.partitions === null ? 0 : this.partitions[i] ?? 0 }
}
