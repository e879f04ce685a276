// What tile and event put batches (tile-puts.ts, event-puts.ts) share: both are one flat little-endian buffer
//
//   [u32 count] then count × ( [u16 keyLength] [entity key bytes] [f64 time] [`gap` bytes] [u32 valueLength] [value] )
//
// (the gap is empty for tiles, the 16-byte row identity for events), built by a worker and transferred to the writer.
// Beside the buffer a batch may carry the source partition of each put (an Int32Array, one per put), which fenced
// writes need; without it every put is of partition 0.

import type { ByteWriter } from '../codec/bytes.ts'
import { TilekilnError } from '../errors.ts'

/** Read side: offsets are indexed once; keys and values are views into the buffer. */
export class PutBatch {
  readonly count: number
  readonly bytes: Uint8Array
  /** The source partition of each put, or null (all 0). */
  readonly partitions: Int32Array | null
  readonly #keyAt: Uint32Array
  readonly #keyLen: Uint16Array
  readonly #time: Float64Array
  readonly #valueAt: Uint32Array
  readonly #valueLen: Uint32Array

  constructor (buffer: ArrayBuffer, gap: number, what: string, partitions?: Int32Array) {
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
    if (partitions !== undefined && partitions.length !== n) throw new TilekilnError('TK_INTERNAL', `a ${what} put batch of ${n} put(s) came with ${partitions.length} partition(s)`)
    this.partitions = partitions ?? null
  }

  key (i: number): Uint8Array { return this.bytes.subarray(this.#keyAt[i]!, this.#keyAt[i]! + this.#keyLen[i]!) }
  keyOffset (i: number): number { return this.#keyAt[i]! }
  keyLength (i: number): number { return this.#keyLen[i]! }
  valueOffset (i: number): number { return this.#valueAt[i]! }
  valueLength (i: number): number { return this.#valueLen[i]! }
  value (i: number): Uint8Array { return this.bytes.subarray(this.#valueAt[i]!, this.#valueAt[i]! + this.#valueLen[i]!) }
  /** The source partition of put i (0 when the batch carries none). */
  partition (i: number): number { return this.partitions === null ? 0 : this.partitions[i]! }
  /** The longest entity key in the batch (stores check it against their limit before writing anything). */
  maxKeyLength (): number {
    let m = 0
    for (let i = 0; i < this.count; i++) if (this.#keyLen[i]! > m) m = this.#keyLen[i]!
    return m
  }

  protected time (i: number): number { return this.#time[i]! }
}

/**
 * Write side shared by both batch kinds: the count header, the value length patched in at the end of a put, and
 * the finished copy. Subclasses write the key, time and gap of a put (beginPut) in their own way.
 */
export class PutBatchWriter {
  protected readonly w: ByteWriter
  #count = 0
  #valueLenAt = 0

  constructor (w: ByteWriter) {
    this.w = w
  }

  begin (): void {
    this.w.reset()
    this.w.u32le(0)
    this.#count = 0
  }

  /** Called by a subclass once the key, time and gap are written: the value follows. */
  protected beginValue (): void {
    this.#valueLenAt = this.w.pos
    this.w.u32le(0)
  }

  endValue (): void {
    const w = this.w
    w.setU32le(this.#valueLenAt, w.pos - this.#valueLenAt - 4)
    this.#count++
  }

  /** Appends `count` records already in the batch format (e.g. encoded by the WASM tile encoder). */
  appendRecords (bytes: Uint8Array, count: number): void {
    this.w.raw(bytes)
    this.#count += count
  }

  get count (): number { return this.#count }

  /** The finished batch in a fresh ArrayBuffer (ours is reused), ready to transfer. */
  finish (): ArrayBuffer {
    const w = this.w
    w.setU32le(0, this.#count)
    const out = new ArrayBuffer(w.pos)
    new Uint8Array(out).set(w.buf.subarray(0, w.pos))
    return out
  }
}
