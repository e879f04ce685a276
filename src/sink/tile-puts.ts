// A batch of tile upserts as one flat buffer (see put-batch.ts), built by a worker and transferred (not copied) to the
// writer:
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 tileStartMillis] [u32 valueLength] [tile value bytes] )
//
// little-endian. The entity key is the Avro key record; the tile value is the Avro tile record. Dataset and tile
// size are the same for the whole batch and travel beside it, as may the source partition of each put (for fenced
// writes: `new TilePuts(buffer, partitions)`).

import { ByteWriter } from '../codec/bytes.ts'
import { PutBatch, PutBatchWriter } from './put-batch.ts'

export class TilePutsWriter extends PutBatchWriter {
  constructor () {
    super(new ByteWriter(1 << 16))
  }

  /** Starts one put; write the tile value into the returned writer, then call `endValue`. */
  beginPut (keyBytes: Uint8Array, tileStart: number): ByteWriter {
    const w = this.w
    w.u16le(keyBytes.length)
    w.raw(keyBytes)
    w.double(tileStart)
    this.beginValue()
    return w
  }
}

/** Read side of a tile put batch. */
export class TilePuts extends PutBatch {
  /** `partitions`: the source partition of each put (fenced writes), absent = all of partition 0. */
  constructor (buffer: ArrayBuffer, partitions?: Int32Array) {
    super(buffer, 0, 'tile', partitions)
  }

  tileStart (i: number): number { return this.time(i) }
}
