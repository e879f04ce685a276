// Where a worker's state lives in its WASM memory, decided once per GroupBy (pure: no memory is touched here):
//
//   [0, 64 KiB)            the kernels' own data
//   row region (ROWS_BASE) entries i32 × rowCap | ts f64 × rowCap | per kernel input: vals f64 × rowCap, valid u8 × rowCap
//   encoder region         (all-kernel GroupBys) part descriptors | entry list (EMIT_CHUNK) | output (EMIT_BYTES)
//   scratch region         `scratchBytes` for the caller (the numeric path's WASM reader, worker/flat-numbers.ts)
//   state (stateBase)      entry e at stateBase + e × stride: each kernel part's cells at its offset, then (all-kernel
//                          GroupBys) the meta: tile start f64, key length u8, key bytes (≤ INLINE_KEY)
//
// Which tile parts run in a kernel (agg/kernels.ts kernelFor) and which keep JS IRs is decided here too, with the
// encode step of each part in tile order.

import type { ColumnAggregator } from '../agg/column.ts'
import { type KernelPart, encodeKind, encodeValueKind, kernelFor } from '../agg/kernels.ts'
import type { Encoder } from '../codec/avro.ts'
import type { BoundGroupBy } from '../config/bind.ts'

export const ROWS_BASE = 64 * 1024
/** Entries encoded per encodeTiles call, and the output room for them. */
export const EMIT_CHUNK = 4096
export const EMIT_BYTES = 1 << 20
/** Longest key kept inside an entry's state for the WASM encoder; longer keys are encoded in JS. */
export const INLINE_KEY = 31

/** How one tile part is encoded: its kernel part, or its index among the JS-IR parts. */
export interface EncodeStep { readonly kernel: KernelPart | null, readonly object: number, readonly encoder: Encoder }

export interface StateLayout {
  readonly kparts: readonly KernelPart[]
  /** Row columns the kernel parts read, in the order of the row region's value arrays. */
  readonly kinputs: readonly number[]
  readonly oparts: readonly ColumnAggregator[]
  /** JS parts that can refuse a row (element-wise tensors…): checked before anything is updated. */
  readonly checked: readonly number[]
  readonly steps: readonly EncodeStep[]
  readonly rowCap: number
  readonly entriesPtr: number
  readonly tsPtr: number
  readonly valsPtr: readonly number[]
  readonly validPtr: readonly number[]
  /** Entry meta offset when every part is a kernel part (tiles encoded in WASM), else −1. */
  readonly meta: number
  readonly descPtr: number
  readonly listPtr: number
  readonly outPtr: number
  /** Where the scratch region starts (its size is what stateLayout was given; 0 bytes: none). */
  readonly scratchPtr: number
  readonly stateBase: number
  readonly stride: number
}

export function stateLayout (bound: BoundGroupBy, rowCap: number, scratchBytes = 0): StateLayout {
  const kparts: KernelPart[] = []
  const kinputs: number[] = []
  const oparts: ColumnAggregator[] = []
  const checked: number[] = []
  const steps: EncodeStep[] = []
  const cols = bound.serving.rowColumns
  let offset = 0
  bound.plan.tileParts.forEach((part, i) => {
    const input = cols.findIndex(c => c.name === part.aggregation.inputColumn)
    const kp = input >= 0 ? kernelFor(part, input, cols[input]!.type) : null
    if (kp !== null) {
      kp.offset = offset
      offset += kp.bytes
      kparts.push(kp)
      if (!kinputs.includes(input)) kinputs.push(input)
      steps.push({ kernel: kp, object: -1, encoder: bound.tileCodec.partEncoders[i]! })
    } else {
      steps.push({ kernel: null, object: oparts.length, encoder: bound.tileCodec.partEncoders[i]! })
      if (bound.aggregators[i]!.check !== undefined) checked.push(oparts.length)
      oparts.push(bound.aggregators[i]!)
    }
  })
  // All-kernel GroupBys keep each entry's tile start and (short) key in its state, so WASM can encode its tile.
  const meta = oparts.length === 0 ? align(offset, 8) : -1
  const stride = Math.max(8, align(meta >= 0 ? meta + 8 + 1 + INLINE_KEY : offset, 8))

  let p = ROWS_BASE
  const entriesPtr = p; p = align(p + 4 * rowCap, 8)
  const tsPtr = p; p += 8 * rowCap
  const valsPtr: number[] = []
  const validPtr: number[] = []
  for (let j = 0; j < kinputs.length; j++) {
    valsPtr.push(p); p += 8 * rowCap
    validPtr.push(p); p = align(p + rowCap, 8)
  }
  let descPtr = 0
  let listPtr = 0
  let outPtr = 0
  if (meta >= 0) {
    descPtr = p; p = align(p + 12 * kparts.length, 8)
    listPtr = p; p += 4 * EMIT_CHUNK
    outPtr = p; p += EMIT_BYTES
  }
  const scratchPtr = p = align(p, 64)
  p += scratchBytes
  return { kparts, kinputs, oparts, checked, steps, rowCap, entriesPtr, tsPtr, valsPtr, validPtr, meta, descPtr, listPtr, outPtr, scratchPtr, stateBase: align(p, 64), stride }
}

/** The part descriptors encodeTiles reads (kind, offset, value kind per part), for an all-kernel layout. */
export function encoderDescriptors (layout: StateLayout): Int32Array {
  const desc = new Int32Array(3 * layout.kparts.length)
  layout.steps.forEach((step, j) => {
    desc[3 * j] = encodeKind(step.kernel!)
    desc[3 * j + 1] = step.kernel!.offset
    desc[3 * j + 2] = encodeValueKind(step.kernel!)
  })
  return desc
}

export function align (n: number, a: number): number { return Math.ceil(n / a) * a }
