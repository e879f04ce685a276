// Writes entries' tiles as tile puts (sink/tile-puts.ts): entity key, tile start, and the Avro tile record
// (codec/tile.ts: branch 2, each part's normalized IR in tile order, then isComplete).
//
//   all-kernel GroupBys  in WASM (encodeTiles, assembly/kernels.ts) from each entry's state and meta, up to
//                        EMIT_CHUNK entries per call into the output region (worker/state-layout.ts), then copied
//                        into the batch; keys longer than INLINE_KEY, and any other GroupBy, one by one in JS
//
// The caller flushes the row buffer first: the kernel cells must be up to date.

import { type KernelExports, writeKernelIr } from '../agg/kernels.ts'
import { writeTileTrailer } from '../codec/tile.ts'
import type { TilePutsWriter } from '../sink/tile-puts.ts'
import type { EntryTable } from './entry-table.ts'
import type { KeyTable } from './key-table.ts'
import { EMIT_BYTES, EMIT_CHUNK, type EncodeStep, encoderDescriptors, INLINE_KEY, type StateLayout } from './state-layout.ts'
import type { TaggedPuts } from './tagged-puts.ts'
import type { TileIrs } from './tile-irs.ts'

export class TileEncoder {
  readonly #k: KernelExports
  readonly #keys: KeyTable
  readonly #entries: EntryTable
  readonly #irs: TileIrs
  readonly #steps: readonly EncodeStep[]
  readonly #nKernelParts: number
  /** Entry meta offset when tiles are encoded in WASM, else −1. */
  readonly #meta: number
  readonly #descriptors: Int32Array | null
  readonly #descPtr: number
  readonly #listPtr: number
  readonly #outPtr: number
  readonly #stateBase: number
  readonly #stride: number
  #list!: Int32Array
  #u8!: Uint8Array

  constructor (layout: StateLayout, k: KernelExports, keys: KeyTable, entries: EntryTable, irs: TileIrs) {
    this.#k = k
    this.#keys = keys
    this.#entries = entries
    this.#irs = irs
    this.#steps = layout.steps
    this.#nKernelParts = layout.kparts.length
    this.#meta = layout.meta
    this.#descriptors = layout.meta >= 0 ? encoderDescriptors(layout) : null
    this.#descPtr = layout.descPtr
    this.#listPtr = layout.listPtr
    this.#outPtr = layout.outPtr
    this.#stateBase = layout.stateBase
    this.#stride = layout.stride
  }

  /** (Re)makes the views after the memory grew (and writes the part descriptors encodeTiles reads: they are ours). */
  attach (buf: ArrayBufferLike): void {
    this.#u8 = new Uint8Array(buf)
    if (this.#descriptors !== null) {
      this.#list = new Int32Array(buf, this.#listPtr, EMIT_CHUNK)
      new Int32Array(buf, this.#descPtr, this.#descriptors.length).set(this.#descriptors)
    }
  }

  /** Writes the tiles of list[0, n) into `out`: in WASM when the GroupBy allows it (short keys), else in JS. */
  emitMany (list: Int32Array, n: number, complete: boolean, out: TaggedPuts): void {
    if (this.#meta < 0) {
      for (let i = 0; i < n; i++) this.emit(list[i]!, complete, out)
      return
    }
    const chunk = this.#list
    if (this.#keys.longKeys === 0) {
      // No key is too long for the kernel (the usual case): the list goes to WASM as it is, a chunk at a time,
      // without a look at each entry's key (a cache miss per tile with many keys).
      for (let i = 0; i < n; i += EMIT_CHUNK) {
        const k = Math.min(EMIT_CHUNK, n - i)
        chunk.set(list.subarray(i, i + k))
        this.#encodeChunk(0, k, complete, out)
      }
      return
    }
    const key = this.#entries.key
    const keys = this.#keys
    let i = 0
    while (i < n) {
      let k = 0
      while (i < n && k < EMIT_CHUNK) {
        const e = list[i++]!
        if (keys.byteLength(key[e]!) > INLINE_KEY) this.emit(e, complete, out)
        else chunk[k++] = e
      }
      this.#encodeChunk(0, k, complete, out)
    }
  }

  /** Encodes chunk[from, from + n) with encodeTiles, halving the run when the output room is too small. */
  #encodeChunk (from: number, n: number, complete: boolean, out: TaggedPuts): void {
    if (n === 0) return
    const bytes = this.#k.encodeTiles(n, this.#listPtr + 4 * from, this.#stateBase, this.#stride, this.#meta, this.#descPtr, this.#nKernelParts, this.#outPtr, EMIT_BYTES, complete ? 1 : 0)
    if (bytes >= 0) {
      out.puts.appendRecords(this.#u8.subarray(this.#outPtr, this.#outPtr + bytes), n)
      out.tagEntries(this.#list, from, n, this.#entries.partition, this.#entries.latest)
      return
    }
    if (n === 1) throw new Error('internal: one tile does not fit the WASM encoder\'s output room')
    const half = n >> 1
    this.#encodeChunk(from, half, complete, out)
    this.#encodeChunk(from + half, n - half, complete, out)
  }

  /** Writes entry e's tile into `out` (in JS). */
  emit (e: number, complete: boolean, out: TaggedPuts): void {
    out.tag(this.#entries.partition[e]!, this.#entries.latest[e]!)
    this.write(e, complete, out.puts)
  }

  /** Writes entry e's tile as one put of `w`, untagged (snapshots). */
  write (e: number, complete: boolean, w: TilePutsWriter): void {
    const v = w.beginPutOf(this.#keys, this.#entries.key[e]!, this.#entries.tileStart[e]!)
    v.byte(2)
    const irs = this.#irs
    const dv = irs.view
    const base = irs.base(e)
    const jsParts = irs.jsParts
    for (const step of this.#steps) {
      if (step.kernel !== null) {
        writeKernelIr(v, dv, base, step.kernel)
      } else {
        step.encoder(v, jsParts[step.object]!.normalize(irs.jsIr(step.object, e)))
      }
    }
    writeTileTrailer(v, complete)
    w.endValue()
  }
}
