// A batch of tile upserts as one flat buffer, built by a worker and transferred (not copied) to the writer:
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 tileStartMillis] [u32 valueLength] [tile value bytes] )
//
// little-endian. The entity key is the Avro key record; the tile value is the Avro tile record. Dataset and tile
// size are the same for the whole batch and travel beside it.

import { ByteWriter } from '../codec/bytes.ts'

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
    this.#w.setU32le(0, this.#count)
    const out = new ArrayBuffer(this.#w.pos)
    new Uint8Array(out).set(this.#w.buf.subarray(0, this.#w.pos))
    return out
  }
}

/** Read side of a put batch: offsets are indexed once; keys and values are views into the buffer. */
export class TilePuts {
  readonly count: number
  readonly bytes: Uint8Array
  readonly #keyAt: Uint32Array
  readonly #keyLen: Uint16Array
  readonly #tileStart: Float64Array
  readonly #valueAt: Uint32Array
  readonly #valueLen: Uint32Array

  constructor (buffer: ArrayBuffer) {
    const dv = new DataView(buffer)
    this.bytes = new Uint8Array(buffer)
    const n = buffer.byteLength >= 4 ? dv.getUint32(0, true) : 0
    this.count = n
    this.#keyAt = new Uint32Array(n)
    this.#keyLen = new Uint16Array(n)
    this.#tileStart = new Float64Array(n)
    this.#valueAt = new Uint32Array(n)
    this.#valueLen = new Uint32Array(n)
    let p = 4
    for (let i = 0; i < n; i++) {
      const kl = dv.getUint16(p, true)
      this.#keyAt[i] = p + 2
      this.#keyLen[i] = kl
      p += 2 + kl
      this.#tileStart[i] = dv.getFloat64(p, true)
      p += 8
      const vl = dv.getUint32(p, true)
      this.#valueAt[i] = p + 4
      this.#valueLen[i] = vl
      p += 4 + vl
    }
    if (p !== buffer.byteLength) throw new RangeError(`corrupt tile put batch: parsed ${p} of ${buffer.byteLength} bytes`)
  }

  key (i: number): Uint8Array { return this.bytes.subarray(this.#keyAt[i]!, this.#keyAt[i]! + this.#keyLen[i]!) }
  keyOffset (i: number): number { return this.#keyAt[i]! }
  keyLength (i: number): number { return this.#keyLen[i]! }
  valueOffset (i: number): number { return this.#valueAt[i]! }
  valueLength (i: number): number { return this.#valueLen[i]! }
  tileStart (i: number): number { return this.#tileStart[i]! }
  value (i: number): Uint8Array { return this.bytes.subarray(this.#valueAt[i]!, this.#valueAt[i]! + this.#valueLen[i]!) }
}
