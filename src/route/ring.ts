// Per-worker rings of record slots in a SharedArrayBuffer: the main thread copies raw record bytes into a slot,
// hands the slot to its worker in a (tiny) task message, and gets it back when the task completes. Records never
// cross threads as objects.
//
//   one SharedArrayBuffer per worker = `slots` × slot
//   slot:  positions f64[maxRecords] | starts u32[maxRecords] | ends u32[maxRecords] | partitions i32[maxRecords] | data u8[dataBytes]
//
// Invariant: a slot belongs to exactly one side at a time — to main while free or being filled, to the worker
// from dispatch until the task's result arrives (the task message/result give the happens-before ordering).

export interface RingGeometry {
  readonly slots: number
  readonly maxRecords: number
  readonly dataBytes: number
}

export const DEFAULT_RING: RingGeometry = { slots: 4, maxRecords: 8192, dataBytes: 4 << 20 }

export function slotBytes (g: RingGeometry): number {
  return g.maxRecords * 20 + g.dataBytes
}

/** Typed views of one slot (both sides build the same views over the same memory). */
export class SlotView {
  readonly positions: Float64Array
  readonly starts: Uint32Array
  readonly ends: Uint32Array
  readonly partitions: Int32Array
  readonly data: Uint8Array

  constructor (sab: SharedArrayBuffer, g: RingGeometry, index: number) {
    const base = index * slotBytes(g)
    const m = g.maxRecords
    this.positions = new Float64Array(sab, base, m)
    this.starts = new Uint32Array(sab, base + 8 * m, m)
    this.ends = new Uint32Array(sab, base + 12 * m, m)
    this.partitions = new Int32Array(sab, base + 16 * m, m)
    this.data = new Uint8Array(sab, base + 20 * m, g.dataBytes)
  }
}

/** Main-thread side of one slot being filled. */
export class SlotWriter {
  readonly view: SlotView
  readonly index: number
  readonly #maxRecords: number
  count = 0
  /**
   * Records whose first copy is in this slot: a record fanned out to several workers (EXPLODE) is in several
   * slots but is one record for counting, lag and latency.
   */
  primaries = 0
  used = 0
  /** Wall-clock ms when the first record entered this slot (for latency accounting). */
  firstAt = 0
  /**
   * The watermark when the first record entered this slot. Every record in the slot came later in source order,
   * so judging them all by it never lets a watermark made from later events overtake them in our buffers.
   */
  watermark = -Infinity

  constructor (view: SlotView, index: number, g: RingGeometry) {
    this.view = view
    this.index = index
    this.#maxRecords = g.maxRecords
  }

  reset (): void {
    this.count = 0
    this.primaries = 0
    this.used = 0
    this.firstAt = 0
    this.watermark = -Infinity
  }

  /** False when the record does not fit (the caller dispatches this slot and retries in a fresh one). */
  append (bytes: Uint8Array, partition: number, position: number, now: number, primary = true): boolean {
    if (this.count >= this.#maxRecords || this.used + bytes.length > this.view.data.length) return false
    const i = this.count++
    if (primary) this.primaries++
    if (i === 0) this.firstAt = now
    this.view.data.set(bytes, this.used)
    this.view.starts[i] = this.used
    this.view.ends[i] = this.used + bytes.length
    this.view.partitions[i] = partition
    this.view.positions[i] = position
    this.used += bytes.length
    return true
  }

  /** Reserves `n` bytes for a record written in place (the generator encodes straight into the slot). */
  reserve (n: number, partition: number, position: number, now: number): number {
    if (this.count >= this.#maxRecords || this.used + n > this.view.data.length) return -1
    const i = this.count++
    if (i === 0) this.firstAt = now
    const at = this.used
    this.view.starts[i] = at
    this.view.ends[i] = at + n
    this.view.partitions[i] = partition
    this.view.positions[i] = position
    this.used += n
    return at
  }

  /** Shrinks the last reserved record to its real length. */
  commitLast (realLength: number): void {
    const i = this.count - 1
    this.used = this.view.starts[i]! + realLength
    this.view.ends[i] = this.used
  }

  get full (): boolean {
    return this.count >= this.#maxRecords
  }
}
