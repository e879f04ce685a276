// APPROX_UNIQUE_COUNT: Chronon's ApproxDistinctCount over a DataSketches CPC sketch (§2.3 of chronon-semantics.md).
//
//   prepare / update  new CpcSketch(lgK) + sketch.update(input)     (lgK = argMap k, default 8)
//   merge             CpcUnion(lgK) of both → result replaces the left IR in place (same handle)
//   clone             CpcUnion(lgK) of the one IR, as Chronon does it
//   finalize          getEstimate truncated to a long
//   normalize         CpcSketch.toByteArray bytes (the tile's Avro `bytes`); denormalize = CpcSketch.heapify
//
// Which estimator finalize uses — exactly Java's rule, getEstimate = mergeFlag ? ICON(lgK, C) : HIP:
//   * a sketch that was only prepared/updated: HIP (the running HIP accumulator);
//   * anything that came out of a union — merge, clone (so also DirectColumn's merge into a null left side), a
//     union over IRs of other lgK (folded to the smallest): ICON; the flag sticks, so updating a merged sketch keeps
//     ICON and keeps the merged serial format (no HIP registers);
//   * denormalized bytes: HIP when they carry HIP registers (serial formats 1, 3, 5, 7: sketches that were only
//     updated, ours or the JVM's), ICON when they came from a union (formats 0, 2, 4, 6);
//   * an empty sketch: 0 either way.
//
// The in-memory IR is a handle into this thread's CPC kernel (see cpc-wasm.ts): a number, valid only in the thread
// that made it and only until `dispose`. Move IRs between threads, or keep them past their tile, as normalized bytes.

import { type DataType, T } from '../../api/data-type.ts'
import type { SimpleAggregator } from '../aggregator.ts'
import { CpcSketchError, type CpcKernel, cpcKernel } from './cpc-wasm.ts'

export type CpcInputKind = 'long' | 'double' | 'string' | 'binary'

export const CPC_MIN_LG_K = 4
export const CPC_MAX_LG_K = 26

export class ApproxUniqueCount implements SimpleAggregator<unknown, number, number> {
  readonly irType: DataType = T.binary
  readonly outputType: DataType = T.long
  readonly timed = false
  readonly deletable = false
  readonly lgK: number
  readonly #k: CpcKernel
  readonly #feed: (s: number, v: unknown) => void

  constructor (kind: CpcInputKind, lgK = 8, kernel: CpcKernel = cpcKernel()) {
    if (!Number.isInteger(lgK) || lgK < CPC_MIN_LG_K || lgK > CPC_MAX_LG_K) {
      throw new CpcSketchError(`lgK (argMap k) must be an integer in [${CPC_MIN_LG_K}, ${CPC_MAX_LG_K}], got ${lgK}`)
    }
    this.lgK = lgK
    this.#k = kernel
    const k = kernel
    switch (kind) {
      case 'long': this.#feed = (s, v) => k.updateLong(s, v as number | bigint); break
      case 'double': this.#feed = (s, v) => k.updateDouble(s, v as number); break
      case 'string': this.#feed = (s, v) => k.updateString(s, v as string); break
      case 'binary': this.#feed = (s, v) => k.updateBytes(s, v as Uint8Array); break
    }
  }

  get kernel (): CpcKernel { return this.#k }

  prepare (input: unknown): number {
    const s = this.#k.x.cpc_new(this.lgK) >>> 0
    this.#feed(s, input)
    return s
  }

  update (ir: number, input: unknown): number {
    this.#feed(ir, input)
    return ir
  }

  merge (a: number, b: number): number {
    this.#k.x.cpc_merge_into(this.lgK, a, b)
    return a
  }

  finalize (ir: number): number { return Math.trunc(this.#k.x.cpc_estimate(ir)) }

  /** The unrounded estimate (HIP or ICON as finalize picks it). */
  estimate (ir: number): number { return this.#k.x.cpc_estimate(ir) }

  clone (ir: number): number { return this.#k.x.cpc_union_of(this.lgK, ir) >>> 0 }

  normalize (ir: number): Uint8Array { return this.#k.serialize(ir) }

  denormalize (normalized: unknown): number {
    if (!(normalized instanceof Uint8Array)) throw new CpcSketchError('a CPC IR must be bytes')
    return this.#k.deserialize(normalized)
  }

  /** Releases the IR's kernel memory; the handle must not be used again. */
  dispose (ir: number): void { this.#k.x.cpc_free(ir) }
}
