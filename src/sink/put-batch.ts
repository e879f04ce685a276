// What tile and event put batches (tile-puts.ts, event-puts.ts) share: both are one flat little-endian buffer
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 time] [`gap` bytes] [u32 valueLength] [value] )
//
// (the gap is empty for tiles, the 16-byte row identity for events), built by a worker and transferred to the writer.

import type { ByteWriter } from '../codec/bytes.ts'

/** Read side: offsets are indexed once; keys and values are views into the buffer. */
export class PutBatch {
  readonly count: number
  readonly bytes: Uint8Array
  readonly #keyAt: Uint32Array
  readonly #keyLen: Uint16Array
  readonly #time: Float64Array
  readonly #valueAt: Uint32Array
  readonly #valueLen: Uint32Array

  constructor (buffer: ArrayBuffer, gap: number, what: string) {
    const dv = new DataView(buffer)
    this.bytes = new Uint8Array(buffer)
    const n = buffer.byteLength >= 4 ? dv.getUint32(0, true) : 0
    this.count = n
    this.#keyAt = new Uint32Array(n)
    this.#keyLen = new Uint16Array(n)
    this.#time = new Float64Array(n)
    this.#valueAt = new Uint32Array(n)
    this.#valueLen = new Uint32Array(n)
    let p = 4
    for (let i = 0; i < n; i++) {
      const kl = dv.getUint16(p, true)
      this.#keyAt[i] = p + 2
      this.#keyLen[i] = kl
      p += 2 + kl
      this.#time[i] = dv.getFloat64(p, true)
      p += 8 + gap
      const vl = dv.getUint32(p, true)
      this.#valueAt[i] = p + 4
      this.#valueLen[i] = vl
      p += 4 + vl
    }
    // An empty buffer is an empty batch.
    if (p !== buffer.byteLength && !(n === 0 && buffer.byteLength < 4)) throw new RangeError(`corrupt ${what} put batch: parsed ${p} of ${buffer.byteLength} bytes`)
  }

  key (i: number): Uint8Array { return this.bytes.subarray(this.#keyAt[i]!, this.#keyAt[i]! + this.#keyLen[i]!) }
  keyOffset (i: number): number { return this.#keyAt[i]! }
  keyLength (i: number): number { return this.#keyLen[i]! }
  valueOffset (i: number): number { return this.#valueAt[i]! }
  valueLength (i: number): number { return this.#valueLen[i]! }
  value (i: number): Uint8Array { return this.bytes.subarray(this.#valueAt[i]!, this.#valueAt[i]! + this.#valueLen[i]!) }
  protected time (i: number): number { return this.#time[i]! }
}

/** The finished batch in a fresh ArrayBuffer (the writer's buffer is reused), ready to transfer. */
export function finishBatch (w: ByteWriter, count: number): ArrayBuffer {
  w.setU32le(0, count)
  const out = new ArrayBuffer(w.pos)
  new Uint8Array(out).set(w.buf.subarray(0, w.pos))
  return out
}
