// The IRs of every entry (worker/entry-table.ts), i.e. the state of every open tile, in the layout of
// worker/state-layout.ts:
//
//   kernel parts  cells in WASM memory at stateBase + entry × stride + part.offset (updated by the kernels over the
//                 row buffer, worker/row-buffer.ts); all-kernel GroupBys also keep the entry's meta there (tile start,
//                 short key) for the WASM tile encoder
//   JS parts      irs[part][entry]: the aggregator's IR (sets, heaps, strings…), null when empty
//
// The memory views are remade by `attach` whenever the memory grows.

import type { ColumnAggregator } from '../agg/column.ts'
import { type KernelExports, type KernelPart, loadKernelIr, mergeKernelIr } from '../agg/kernels.ts'
import type { KeyBytesSource } from '../sink/tile-puts.ts'
import { type EncodeStep, INLINE_KEY, type StateLayout } from './state-layout.ts'

export class TileIrs {
  readonly #k: KernelExports
  readonly #kparts: readonly KernelPart[]
  readonly #oparts: readonly ColumnAggregator[]
  readonly #oirs: unknown[][]
  readonly #checked: readonly number[]
  readonly #steps: readonly EncodeStep[]
  readonly #meta: number
  readonly #stateBase: number
  readonly #stride: number
  #dv!: DataView
  #u8!: Uint8Array

  constructor (layout: StateLayout, k: KernelExports) {
    this.#k = k
    this.#kparts = layout.kparts
    this.#oparts = layout.oparts
    this.#oirs = layout.oparts.map(() => [])
    this.#checked = layout.checked
    this.#steps = layout.steps
    this.#meta = layout.meta
    this.#stateBase = layout.stateBase
    this.#stride = layout.stride
  }

  /** (Re)makes the views after the memory grew. */
  attach (buf: ArrayBufferLike): void {
    this.#dv = new DataView(buf)
    this.#u8 = new Uint8Array(buf)
  }

  /** Bytes of memory the state of entries [0, cap) needs. */
  bytesFor (cap: number): number { return this.#stateBase + cap * this.#stride }

  /** A view of the memory, for reading kernel cells at `base(e)`. */
  get view (): DataView { return this.#dv }
  /** Where entry e's kernel cells start. */
  base (e: number): number { return this.#stateBase + e * this.#stride }
  /** Entry e's IR of JS part `object`, or null. */
  jsIr (object: number, e: number): unknown { return this.#oirs[object]![e] ?? null }
  get jsParts (): readonly ColumnAggregator[] { return this.#oparts }

  /** Empties entry e's IRs for a new tile (and, for the WASM encoder, records its tile start and short key). */
  reset (e: number, tileStart: number, keys: KeyBytesSource, keyId: number): void {
    this.#k.clear(this.#stateBase + e * this.#stride, this.#stride)
    for (const irs of this.#oirs) irs[e] = null
    if (this.#meta >= 0) {
      const m = this.#stateBase + e * this.#stride + this.#meta
      this.#dv.setFloat64(m, tileStart, true)
      const n = keys.byteLength(keyId)
      if (n <= INLINE_KEY) {
        this.#u8[m + 8] = n
        keys.copyBytes(keyId, this.#u8, m + 9)
      }
    }
  }

  /** Releases what entry e's JS IRs hold outside the JS heap (the entry is freed). */
  dispose (e: number): void {
    for (let j = 0; j < this.#oparts.length; j++) {
      const irs = this.#oirs[j]!
      const ir = irs[e]
      if (ir !== null && ir !== undefined) this.#oparts[j]!.dispose(ir)
      irs[e] = null
    }
  }

  /** Throws (a TilekilnError TK_INPUT) when a JS part of entry e refuses the row; changes nothing. */
  check (e: number, out: readonly unknown[]): void {
    for (const j of this.#checked) this.#oparts[j]!.check!(this.#oirs[j]![e] ?? null, out)
  }

  /** Folds a row into entry e's JS IRs (its kernel cells are updated by the row buffer). */
  update (e: number, out: readonly unknown[], ts: number): void {
    for (let j = 0; j < this.#oparts.length; j++) {
      const irs = this.#oirs[j]!
      irs[e] = this.#oparts[j]!.update(irs[e] ?? null, out, ts)
    }
  }

  /** Entry c's IRs ⊕= entry e's, by the read side's merge rules. */
  merge (c: number, e: number): void {
    const dst = this.#stateBase + c * this.#stride
    const src = this.#stateBase + e * this.#stride
    for (let j = 0; j < this.#kparts.length; j++) mergeKernelIr(this.#dv, dst, src, this.#kparts[j]!)
    for (let j = 0; j < this.#oparts.length; j++) {
      const irs = this.#oirs[j]!
      const b = irs[e] ?? null
      if (b !== null) irs[c] = this.#oparts[j]!.merge(irs[c] ?? null, b)
    }
  }

  /** Loads entry e's IRs from a decoded tile's (normalized) IRs, in tile order. */
  load (e: number, irs: readonly unknown[]): void {
    const base = this.#stateBase + e * this.#stride
    for (let p = 0; p < this.#steps.length; p++) {
      const step = this.#steps[p]!
      if (step.kernel !== null) loadKernelIr(this.#dv, base, step.kernel, irs[p])
      else this.#oirs[step.object]![e] = irs[p] === null ? null : this.#oparts[step.object]!.denormalize(irs[p])
    }
  }
}
