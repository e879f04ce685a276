// A batch of untiled event puts (one per evaluated row) as one flat buffer, built by a worker and transferred (not
// copied) to the writer — the untiled counterpart of tile-puts.ts, on the same layout (put-batch.ts) with the row
// identity in the gap:
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 tsMillis] [16-byte row identity]
//                              [u32 valueLength] [value bytes] )
//
// u16/u32/f64 little-endian; the identity is already in its stored (big-endian, see codec/event-key.ts) form. The
// entity key is the Avro key record, the value the Avro `{cleanName}_INPUT_COLS` record. The dataset is the same
// for the whole batch and travels beside it.

import { ByteWriter } from '../codec/bytes.ts'
import { IDENTITY_BYTES, writeIdentity } from '../codec/event-key.ts'
import { TilekilnError } from '../errors.ts'
import { PutBatch, PutBatchWriter } from './put-batch.ts'

export class EventPutsWriter extends PutBatchWriter {
  #putAt = -1

  constructor () {
    super(new ByteWriter(1 << 16))
  }

  override begin (): void {
    super.begin()
    this.#putAt = -1
  }

  /** Starts one put: write the entity key into the returned writer, then call `keyEnd`, write the value, `endValue`. */
  beginPut (): ByteWriter {
    const w = this.w
    this.#putAt = w.pos
    w.u16le(0)
    return w
  }

  keyEnd (tsMillis: number, partition: number, position: number, row: number): void {
    const w = this.w
    const keyLength = w.pos - this.#putAt - 2
    if (keyLength > 0xffff) throw new TilekilnError('TK_INPUT', `the entity key is ${keyLength} bytes; at most 65,535 can be stored`)
    w.buf[this.#putAt] = keyLength & 0xff
    w.buf[this.#putAt + 1] = keyLength >>> 8
    w.double(tsMillis)
    w.ensure(IDENTITY_BYTES + 4)
    w.pos = writeIdentity(w.buf, w.pos, partition, position, row)
    this.beginValue()
  }

  override endValue (): void {
    super.endValue()
    this.#putAt = -1
  }

  /** Drops the put begun last (its value could not be encoded): the batch is as before `beginPut`. */
  abort (): void {
    if (this.#putAt >= 0) this.w.pos = this.#putAt
    this.#putAt = -1
  }
}

/** Read side of an event batch: also the rows' times and identities. */
export class EventPuts extends PutBatch {
  constructor (buffer: ArrayBuffer) {
    super(buffer, IDENTITY_BYTES, 'event')
  }

  tsMillis (i: number): number { return this.time(i) }
  /** Offset of the 16-byte identity in `bytes`. */
  identityOffset (i: number): number { return this.keyOffset(i) + this.keyLength(i) + 8 }
  identity (i: number): Uint8Array { const at = this.identityOffset(i); return this.bytes.subarray(at, at + IDENTITY_BYTES) }
  /** The source partition, from the row identity (its first 4 bytes: a big-endian i32 with the sign bit flipped). */
  override partition (i: number): number {
    const b = this.bytes
    const at = this.identityOffset(i)
    return (((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) ^ 0x80000000) | 0
  }
}
