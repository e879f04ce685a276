// A batch of tile upserts as one flat buffer (see put-batch.ts), built by a worker and transferred (not copied) to the
// writer:
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 tileStartMillis] [u32 valueLength] [tile value bytes] )
//
// little-endian. The entity key is the Avro key record; the tile value is the Avro tile record. Dataset and tile
// size are the same for the whole batch and travel beside it, as may the source partition of each put (for fenced
// writes) and the tile's latest event time (`new TilePuts(buffer, partitions, latest)`): the time of the last event
// folded into the tile, Chronon's TimestampedIR.latestTsMillis, which the store keeps with the tile so that a read
// can follow airbnb's head-tile rule (fetch/tiled-read.ts).

import { ByteWriter } from '../codec/bytes.ts'
import { TilekilnError } from '../errors.ts'
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

  /** beginPut with the key bytes copied from where they are kept (a worker's key table), not passed as an array. */
  beginPutOf (keys: KeyBytesSource, id: number, tileStart: number): ByteWriter {
    const w = this.w
    const n = keys.byteLength(id)
    w.u16le(n)
    w.ensure(n)
    w.pos = keys.copyBytes(id, w.buf, w.pos)
    w.double(tileStart)
    this.beginValue()
    return w
  }
}

/** Where a worker keeps its keys' bytes (worker/key-table.ts). */
export interface KeyBytesSource {
  byteLength: (id: number) => number
  /** Writes key id's bytes into `out` at `pos` (room checked by the caller); returns the position after them. */
  copyBytes: (id: number, out: Uint8Array, pos: number) => number
}

/** Read side of a tile put batch. */
export class TilePuts extends PutBatch {
  /** Each put's latest event time, or null (unknown: the tile start stands for it). */
  readonly latestTimes: Float64Array | null
  /** The tile size of every put when it is not the GroupBy's own (rolled-up tiles, worker/rollups.ts), else null. */
  readonly tileSizeMillis: number | null

  /**
   * `partitions`: the source partition of each put (fenced writes), absent = all of partition 0; `latest`: the
   * latest event time of each put's tile, absent = unknown.
   */
  constructor (buffer: ArrayBuffer, partitions?: Int32Array, latest?: Float64Array, tileSizeMillis?: number) {
    super(buffer, 0, 'tile', partitions)
    if (latest !== undefined && latest.length !== this.count) throw new TilekilnError('TK_INTERNAL', `a tile put batch of ${this.count} put(s) came with ${latest.length} latest event time(s)`)
    this.latestTimes = latest ?? null
    this.tileSizeMillis = tileSizeMillis ?? null
  }

  tileStart (i: number): number { return this.time(i) }
  /** The time of the last event folded into put i's tile (its tile start when the batch does not say). */
  latest (i: number): number { return this.latestTimes === null ? this.time(i) : this.latestTimes[i]! }
}
