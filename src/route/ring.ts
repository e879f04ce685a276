// Per-worker rings of record slots in a SharedArrayBuffer: the main thread copies raw record bytes into a slot,
// hands the slot to its worker in a (tiny) task message, and gets it back when the task completes. Records never
// cross threads as objects.
//
//   one SharedArrayBuffer per worker = `slots` × slot
//   slot:  positions f64[maxRecords] | watermarks f64[maxRecords] | starts u32[maxRecords] | ends u32[maxRecords] |
//          partitions i32[maxRecords] | data u8[dataBytes]
//
// A record's watermark is the one it is judged by (late or not): its partition's clock just before it
// (window/partition-clock.ts), fixed by the main thread in the partition's record order.
//
// Invariant: a slot belongs to exactly one side at a time — to main while free or being filled, to the worker
// from dispatch until the task's result arrives (the task message/result give the happens-before ordering).

export interface RingGeometry {
  readonly slots: number
  readonly maxRecords: number
  readonly dataBytes: number
}

/** maxRecords here is a slot's room: the engine sizes it for its largest batch (engine/batch-sizer.ts). */
export const DEFAULT_RING: RingGeometry = { slots: 4, maxRecords: 65_536, dataBytes: 4 << 20 }

export function slotBytes (g: RingGeometry): number {
  // Whole multiples of 8 bytes, so every slot's Float64Arrays are aligned whatever the geometry.
  return Math.ceil((g.maxRecords * 28 + g.dataBytes) / 8) * 8
}

/** Typed views of one slot (both sides build the same views over the same memory). */
export class SlotView {
  readonly positions: Float64Array
  readonly watermarks: Float64Array
  readonly starts: Uint32Array
  readonly ends: Uint32Array
  readonly partitions: Int32Array
  readonly data: Uint8Array

  constructor (sab: SharedArrayBuffer, g: RingGeometry, index: number) {
    const base = index * slotBytes(g)
    const m = g.maxRecords
    this.positions = new Float64Array(sab, base, m)
    this.watermarks = new Float64Array(sab, base + 8 * m, m)
    this.starts = new Uint32Array(sab, base + 16 * m, m)
    this.ends = new Uint32Array(sab, base + 20 * m, m)
    this.partitions = new Int32Array(sab, base + 24 * m, m)
    this.data = new Uint8Array(sab, base + 28 * m, g.dataBytes)
  }
}

/** Records up to this long are copied into a slot byte by byte. */
const SMALL_RECORD_BYTES = 64

/** Main-thread side of one slot being filled. */
export class SlotWriter {
  readonly view: SlotView
  readonly index: number
  /** Records the slot has room for (the geometry's maxRecords). */
  readonly capacity: number
  /** Records this batch takes before it is full (≤ capacity; set by the batch sizer when the slot is taken). */
  limit: number
  count = 0
  /**
   * Records whose first copy is in this slot: a record fanned out to several workers (EXPLODE) is in several
   * slots but is one record for counting, lag and latency.
   */
  primaries = 0
  used = 0
  /** Wall-clock ms when the first record entered this slot (for latency accounting). */
  firstAt = 0

  constructor (view: SlotView, index: number, g: RingGeometry) {
    this.view = view
    this.index = index
    this.capacity = g.maxRecords
    this.limit = g.maxRecords
  }

  /** An empty batch of at most `limit` records (clamped to the slot's capacity). */
  reset (limit: number): void {
    this.limit = Math.min(limit, this.capacity)
    this.count = 0
    this.primaries = 0
    this.used = 0
    this.firstAt = 0
  }

  /**
   * Copies the record `src[start, end)` in; false when it does not fit (the caller dispatches this slot and retries
   * in a fresh one).
   */
  append (src: Uint8Array, start: number, end: number, partition: number, position: number, watermark: number, primary = true): boolean {
    const length = end - start
    const data = this.view.data
    const at = this.used
    if (this.count >= this.limit || at + length > data.length) return false
    const i = this.count++
    if (primary) this.primaries++
    // The clock is read once per batch, and exactly: the engine's coarse clock would both start the linger early and
    // overstate the batch's latency by up to its tick.
    if (i === 0) this.firstAt = Date.now()
    // A small record byte by byte: set() needs a view of the range (an allocation) and costs more than the bytes.
    if (length <= SMALL_RECORD_BYTES) for (let j = 0; j < length; j++) data[at + j] = src[start + j]!
    else data.set(src.subarray(start, end), at)
    this.view.starts[i] = at
    this.view.ends[i] = at + length
    this.view.partitions[i] = partition
    this.view.positions[i] = position
    this.view.watermarks[i] = watermark
    this.used = at + length
    return true
  }

  get full (): boolean {
    return this.count >= this.limit
  }
}
