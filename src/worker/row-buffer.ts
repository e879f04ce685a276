// Rows waiting for the kernels: `add` stages a row's entry, time and kernel inputs in the row region of WASM memory
// (worker/state-layout.ts); `flush` runs each kernel part once over all staged rows, updating the entries' kernel
// cells (worker/tile-irs.ts). Anything that reads kernel cells (writing tiles, merging, snapshots) flushes first.
//
//   entries i32 × rowCap | ts f64 × rowCap | per kernel input: vals f64 × rowCap (the value as a number),
//                                                              valid u8 × rowCap (0: null)

import { type KernelExports, type KernelPart, runKernel } from '../agg/kernels.ts'
import type { StateLayout } from './state-layout.ts'

export class RowBuffer {
  readonly #k: KernelExports
  readonly #kparts: readonly KernelPart[]
  readonly #kinputs: readonly number[]
  /** Per kernel part, the index of its input among kinputs (the value arrays it reads). */
  readonly #inputOf: readonly number[]
  readonly #rowCap: number
  readonly #entriesPtr: number
  readonly #tsPtr: number
  readonly #valsPtr: readonly number[]
  readonly #validPtr: readonly number[]
  readonly #stateBase: number
  readonly #stride: number
  #entries!: Int32Array
  #ts!: Float64Array
  #vals: Float64Array[] = []
  #valid: Uint8Array[] = []
  #n = 0

  constructor (layout: StateLayout, k: KernelExports) {
    this.#k = k
    this.#kparts = layout.kparts
    this.#kinputs = layout.kinputs
    this.#inputOf = layout.kparts.map(kp => layout.kinputs.indexOf(kp.input))
    this.#rowCap = layout.rowCap
    this.#entriesPtr = layout.entriesPtr
    this.#tsPtr = layout.tsPtr
    this.#valsPtr = layout.valsPtr
    this.#validPtr = layout.validPtr
    this.#stateBase = layout.stateBase
    this.#stride = layout.stride
  }

  /** (Re)makes the views after the memory grew. */
  attach (buf: ArrayBufferLike): void {
    this.#entries = new Int32Array(buf, this.#entriesPtr, this.#rowCap)
    this.#ts = new Float64Array(buf, this.#tsPtr, this.#rowCap)
    this.#vals = this.#valsPtr.map(p => new Float64Array(buf, p, this.#rowCap))
    this.#valid = this.#validPtr.map(p => new Uint8Array(buf, p, this.#rowCap))
  }

  /** Stages a row folded into entry e (only when some part is a kernel part); runs the kernels when full. */
  add (e: number, ts: number, out: readonly unknown[]): void {
    const r = this.#n++
    this.#entries[r] = e
    this.#ts[r] = ts
    for (let j = 0; j < this.#kinputs.length; j++) {
      const v = out[this.#kinputs[j]!]
      if (v === null || v === undefined) {
        this.#valid[j]![r] = 0
      } else {
        this.#valid[j]![r] = 1
        this.#vals[j]![r] = typeof v === 'number' ? v : v === true ? 1 : v === false ? 0 : Number(v)
      }
    }
    if (this.#n === this.#rowCap) this.flush()
  }

  /** The output columns the kernel parts read (`add`'s `out` indexes), in the order of the value arrays. */
  get inputs (): readonly number[] { return this.#kinputs }

  /**
   * `add` for a row whose inputs are numbers already: kernel input j's value is `vals[at[j]]`, null when
   * `valid[at[j]]` is 0 (the worker's numeric path, worker/numeric-rows.ts).
   */
  addNumbers (e: number, ts: number, vals: Float64Array, valid: Uint8Array, at: Int32Array): void {
    const r = this.#n++
    this.#entries[r] = e
    this.#ts[r] = ts
    for (let j = 0; j < at.length; j++) {
      const i = at[j]!
      if (valid[i] === 0) {
        this.#valid[j]![r] = 0
      } else {
        this.#valid[j]![r] = 1
        this.#vals[j]![r] = vals[i]!
      }
    }
    if (this.#n === this.#rowCap) this.flush()
  }

  /** Runs every kernel part over the staged rows. */
  flush (): void {
    const n = this.#n
    if (n === 0) return
    this.#n = 0
    for (let i = 0; i < this.#kparts.length; i++) {
      const j = this.#inputOf[i]!
      runKernel(this.#k, this.#kparts[i]!, n, this.#entriesPtr, this.#tsPtr, this.#valsPtr[j]!, this.#validPtr[j]!, this.#stateBase, this.#stride)
    }
  }
}
