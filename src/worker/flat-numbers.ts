// The numeric path's records read in WASM (assembly/kernels.ts decodeNumbers): a batch's records are copied into
// the worker's WASM memory a chunk at a time and read there into numbers, instead of one JS call per record through
// the flat reader. Only regular records are read in WASM — every field within its bytes, ints and longs below 2^53
// in zig-zag form, no NaN, union indexes in range, nothing after the last field. Any other record is left to the JS
// reader (numbersAt), which gives it the values or the refusal it always did; so the values, the dead letters and
// the tiles stay exactly what they were (test/worker/flat-numbers.test.ts checks both readers on random and damaged
// records).
//
// The scratch region (TileState `scratchBytes`, at `scratchPtr`), for F fields, B union branches and R records a chunk:
//
//   fields i32 × F | branches i32 × B | starts i32 × R | ends i32 × R | status u8 × R | valid u8 × R·F | vals f64 × R·F
//   | record bytes (CHUNK_BYTES)

import type { FlatLayout } from '../codec/record.ts'
import { FLAT_KINDS } from '../codec/flat-avro.ts'
import { instantiateKernels, type KernelExports } from '../agg/kernels.ts'
import type { WasmMemory } from '../types/wasm-memory.ts'
import type { SlotView } from '../route/ring.ts'

/** Records read per WASM call, and the most bytes of them. */
export const CHUNK_RECORDS = 1024
export const CHUNK_BYTES = 256 * 1024

const align8 = (n: number): number => (n + 7) & ~7

function offsets (fields: number, branches: number): { branches: number, starts: number, ends: number, status: number, valid: number, vals: number, data: number, bytes: number } {
  const o = { branches: 4 * fields, starts: 0, ends: 0, status: 0, valid: 0, vals: 0, data: 0, bytes: 0 }
  o.starts = align8(o.branches + 4 * branches)
  o.ends = o.starts + 4 * CHUNK_RECORDS
  o.status = o.ends + 4 * CHUNK_RECORDS
  o.valid = o.status + CHUNK_RECORDS
  o.vals = align8(o.valid + CHUNK_RECORDS * fields)
  o.data = o.vals + 8 * CHUNK_RECORDS * fields
  o.bytes = o.data + CHUNK_BYTES
  return o
}

const branchCount = (layout: FlatLayout): number => layout.branches.reduce((n, b) => n + b.length, 0)

/** The scratch bytes a FlatNumbers over this layout needs (0 when it cannot read it: too many fields or branches). */
export function flatNumbersBytes (layout: FlatLayout): number {
  return readable(layout) ? offsets(layout.kinds.length, branchCount(layout)).bytes : 0
}

/** decodeNumbers packs a union's first branch and its branch count in 12 bits each. */
function readable (layout: FlatLayout): boolean {
  return layout.kinds.length > 0 && branchCount(layout) < 4096 && layout.branches.every(b => b.length < 4096)
}

export class FlatNumbers {
  readonly #k: KernelExports
  readonly #memory: WasmMemory
  readonly #base: number
  readonly #o: ReturnType<typeof offsets>
  readonly #fields: number
  readonly #skip: number
  /** The kept fields, the only ones `take` copies. */
  readonly #kept: Int32Array
  #buffer: ArrayBufferLike | null = null
  #u8: Uint8Array = new Uint8Array(0)
  #i32: Int32Array = new Int32Array(0)
  #f64: Float64Array = new Float64Array(0)
  /** Record index (in the slot) of the chunk's first record, and the chunk's records. */
  #from = 0
  #n = 0
  /** What the last `warm` loaded, kept so that the compiler cannot drop the loads as unused. */
  warmed = 0

  /** `want[i]` = 1: field i's value is kept (numbersAt's `want`). */
  constructor (memory: WasmMemory, scratchPtr: number, layout: FlatLayout, want: Uint8Array) {
    if (!readable(layout)) throw new Error('internal: the WASM reader cannot take this record layout')
    this.#k = instantiateKernels(memory)
    this.#memory = memory
    this.#base = scratchPtr
    this.#fields = layout.kinds.length
    this.#skip = layout.skip
    this.#kept = Int32Array.from([...want.keys()].filter(f => want[f] === 1))
    this.#o = offsets(this.#fields, branchCount(layout))
    this.#views()
    let next = 0
    for (let f = 0; f < this.#fields; f++) {
      const kind = layout.kinds[f]!
      let d = kind | (want[f] === 1 ? 16 : 0)
      if (kind === FLAT_KINDS.UNION) {
        const bs = layout.branches[f]!
        d |= (next << 8) | (bs.length << 20)
        for (let j = 0; j < bs.length; j++) this.#i32[(this.#base + this.#o.branches) / 4 + next + j] = bs[j]!
        next += bs.length
      }
      this.#i32[this.#base / 4 + f] = d
    }
  }

  /** The memory may have grown (the state grows): views of its current buffer. */
  #views (): void {
    const buf = this.#memory.buffer
    if (buf === this.#buffer) return
    this.#buffer = buf
    this.#u8 = new Uint8Array(buf)
    this.#i32 = new Int32Array(buf)
    this.#f64 = new Float64Array(buf)
  }

  /**
   * Reads records [from, to) of the slot, or the first of them that fit a chunk; returns the index after the last one
   * read (from itself when record `from` alone is larger than a chunk: read it with the JS reader).
   */
  read (slot: SlotView, from: number, to: number): number {
    const starts = slot.starts
    const ends = slot.ends
    const first = starts[from]!
    let end = from
    const most = Math.min(to, from + CHUNK_RECORDS)
    while (end < most && ends[end]! - first <= CHUNK_BYTES) end++
    if (end === from) return from
    this.#views()
    const b = this.#base
    const o = this.#o
    // A slot's records lie back to back in order: one copy for the chunk's bytes and one for each index array.
    this.#u8.set(slot.data.subarray(first, ends[end - 1]!), b + o.data)
    this.#i32.set(starts.subarray(from, end), (b + o.starts) >> 2)
    this.#i32.set(ends.subarray(from, end), (b + o.ends) >> 2)
    this.#k.decodeNumbers(end - from, b + o.data, b + o.starts, b + o.ends, first, this.#skip, b, this.#fields, b + o.branches, b + o.vals, b + o.valid, b + o.status)
    this.#from = from
    this.#n = end - from
    return end
  }

  /**
   * Before the chunk just read is folded: state.prefetch(key) for each of its records the WASM reader took (the key
   * is field `keyField`), in a tight loop of independent loads — their cache misses overlap, where folding row after
   * row takes them one at a time. Measured (bench engine, 1 worker, 100,000 uniform keys, buffered trigger, 5
   * interleaved rounds): worker CPU median 2.05 → 1.73 s per 3M events.
   */
  warm (keyField: number, state: { prefetch: (k: number) => number }): void {
    const n = this.#n
    const u8 = this.#u8
    const f64 = this.#f64
    const status = this.#base + this.#o.status
    let at = ((this.#base + this.#o.vals) >> 3) + keyField
    let acc = 0
    for (let r = 0; r < n; r++, at += this.#fields) if (u8[status + r] === 0) acc = (acc + state.prefetch(f64[at]!)) | 0
    this.warmed = acc
  }

  /**
   * Whether record i (an index in the slot, inside the last chunk read) was read; then its kept fields' values and
   * validity are copied into `vals` / `valid` as numbersAt would have written them.
   */
  take (i: number, vals: Float64Array, valid: Uint8Array): boolean {
    const r = i - this.#from
    const b = this.#base
    const o = this.#o
    if (this.#u8[b + o.status + r] !== 0) return false
    const f = this.#fields
    const va = (b + o.valid) + r * f
    const vv = ((b + o.vals) >> 3) + r * f
    const u8 = this.#u8
    const f64 = this.#f64
    const kept = this.#kept
    for (let j = 0; j < kept.length; j++) {
      const k = kept[j]!
      const ok = u8[va + k]!
      valid[k] = ok
      // A null's value is left as numbersAt leaves it: untouched.
      if (ok === 1) vals[k] = f64[vv + k]!
    }
    return true
  }
}
