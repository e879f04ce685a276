// Bridge to the WASM aggregation kernels (assembly/kernels.ts): which tile parts run in a kernel, where each
// part's IR lives inside an entry's state, and how to write that IR into a tile (the Avro union for the part).
//
// A part runs in a kernel when it is a direct (unbucketed, scalar-input) COUNT, SUM, AVERAGE, VARIANCE, MIN/MAX
// over numbers, or FIRST/LAST with a numeric payload. Everything else keeps JS IRs (see worker/object-parts).

import { readFileSync } from 'node:fs'
import type { DataType } from '../api/data-type.ts'
import { Operation } from '../api/group-by.ts'
import type { ByteWriter } from '../codec/bytes.ts'
import type { TilePart } from '../config/plan.ts'
import type { WasmMemory } from '../types/wasm-memory.ts'
import { combinedMean } from './numeric.ts'

export interface KernelExports {
  count (n: number, entries: number, valid: number, state: number, stride: number, off: number): void
  sumLong (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  sumDouble (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  average (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  variance (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  maxDouble (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  minDouble (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  maxLong (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  minLong (n: number, entries: number, vals: number, valid: number, state: number, stride: number, off: number): void
  firstLast (n: number, entries: number, ts: number, vals: number, valid: number, state: number, stride: number, off: number, last: number, integral: number): void
  clear (ptr: number, bytes: number): void
  encodeTiles (n: number, list: number, state: number, stride: number, meta: number, desc: number, parts: number, out: number, cap: number, complete: number): number
  decodeNumbers (n: number, data: number, starts: number, ends: number, base: number, skip: number, fields: number, nFields: number, branches: number, vals: number, valid: number, status: number): number
}

/** Part kinds as encodeTiles (assembly/kernels.ts) numbers them. */
export function encodeKind (p: KernelPart): number {
  switch (p.kind) {
    case 'count': return 0
    case 'sumLong': return 1
    case 'sumDouble': return 2
    case 'average': return 3
    case 'variance': return 4
    case 'minLong': case 'maxLong': return 5
    case 'minDouble': case 'maxDouble': return 6
    case 'first': case 'last': return 7
  }
}

/** How encodeTiles writes a MIN/MAX value or FIRST/LAST payload: 0 zig-zag long, 1 double, 2 float. */
export function encodeValueKind (p: KernelPart): number {
  if (p.kind === 'sumDouble') return 1
  if (p.kind === 'sumLong' || p.kind === 'count') return 0
  return p.valueType.kind === 'double' ? 1 : p.valueType.kind === 'float' ? 2 : 0
}

let kernelModule: WebAssembly.Module | undefined

/** Compiled once per thread; instances share the caller's (shared) memory. */
export function instantiateKernels (memory: WasmMemory): KernelExports {
  kernelModule ??= new WebAssembly.Module(readFileSync(new URL('../../../build/kernels.wasm', import.meta.url)))
  const instance = new WebAssembly.Instance(kernelModule, {
    env: {
      memory,
      abort: (_msg: number, _file: number, line: number, col: number) => { throw new Error(`kernel abort at ${line}:${col}`) }
    }
  })
  return instance.exports as unknown as KernelExports
}

export type KernelKind =
  | 'count' | 'sumLong' | 'sumDouble' | 'average' | 'variance' | 'minLong' | 'maxLong' | 'minDouble' | 'maxDouble' | 'first' | 'last'

export interface KernelPart {
  readonly part: number
  readonly kind: KernelKind
  /** Column of the evaluated row that feeds it. */
  readonly input: number
  /** Byte offset of this part's IR inside an entry's state. */
  offset: number
  readonly bytes: number
  /** Avro type of the stored value (MIN/MAX value, FIRST/LAST payload). */
  readonly valueType: DataType
}

const BYTES: Record<KernelKind, number> = {
  count: 8, sumLong: 16, sumDouble: 16, average: 16, variance: 24, minLong: 16, maxLong: 16, minDouble: 16, maxDouble: 16, first: 24, last: 24
}

function numericClass (t: DataType): 'integral' | 'fractional' | 'boolean' | null {
  switch (t.kind) {
    case 'int': case 'long': case 'short': case 'byte': return 'integral'
    case 'float': case 'double': return 'fractional'
    case 'boolean': return 'boolean'
    default: return null
  }
}

/** The kernel for a tile part, or null when it needs JS IRs. */
export function kernelFor (part: TilePart, input: number, inputType: DataType): KernelPart | null {
  const agg = part.aggregation
  if (part.bucket !== null || agg.elementWise) return null
  if (inputType.kind === 'list' || inputType.kind === 'map' || inputType.kind === 'struct') return null
  const cls = numericClass(inputType)
  let kind: KernelKind | null = null
  switch (agg.operation) {
    case Operation.COUNT: kind = 'count'; break
    case Operation.SUM: kind = cls === 'fractional' ? 'sumDouble' : cls === null ? null : 'sumLong'; break
    case Operation.AVERAGE: kind = cls === 'integral' || cls === 'fractional' ? 'average' : null; break
    case Operation.VARIANCE: kind = cls === 'integral' || cls === 'fractional' ? 'variance' : null; break
    case Operation.MIN: kind = cls === 'integral' ? 'minLong' : cls === 'fractional' ? 'minDouble' : null; break
    case Operation.MAX: kind = cls === 'integral' ? 'maxLong' : cls === 'fractional' ? 'maxDouble' : null; break
    case Operation.FIRST: kind = cls === 'integral' || cls === 'fractional' ? 'first' : null; break
    case Operation.LAST: kind = cls === 'integral' || cls === 'fractional' ? 'last' : null; break
    default: kind = null
  }
  if (kind === null) return null
  return { part: part.index, kind, input, offset: 0, bytes: BYTES[kind], valueType: inputType }
}

/** Runs one part's kernel over rows [0, n). Pointers are byte addresses in the shared memory. */
export function runKernel (k: KernelExports, p: KernelPart, n: number, entries: number, ts: number, vals: number, valid: number, state: number, stride: number): void {
  const off = p.offset
  switch (p.kind) {
    case 'count': k.count(n, entries, valid, state, stride, off); return
    case 'sumLong': k.sumLong(n, entries, vals, valid, state, stride, off); return
    case 'sumDouble': k.sumDouble(n, entries, vals, valid, state, stride, off); return
    case 'average': k.average(n, entries, vals, valid, state, stride, off); return
    case 'variance': k.variance(n, entries, vals, valid, state, stride, off); return
    case 'minLong': k.minLong(n, entries, vals, valid, state, stride, off); return
    case 'maxLong': k.maxLong(n, entries, vals, valid, state, stride, off); return
    case 'minDouble': k.minDouble(n, entries, vals, valid, state, stride, off); return
    case 'maxDouble': k.maxDouble(n, entries, vals, valid, state, stride, off); return
    case 'first': case 'last':
      k.firstLast(n, entries, ts, vals, valid, state, stride, off, p.kind === 'last' ? 1 : 0, numericClass(p.valueType) === 'integral' ? 1 : 0)
  }
}

/** i64 at ptr as a number when it fits ±2^53, else a bigint. */
export function readI64 (dv: DataView, ptr: number): number | bigint {
  const lo = dv.getUint32(ptr, true)
  const hi = dv.getInt32(ptr + 4, true)
  if (hi >= -0x200000 && hi < 0x200000) return hi * 4294967296 + lo
  return dv.getBigInt64(ptr, true)
}

function writeValue (w: ByteWriter, dv: DataView, ptr: number, t: DataType): void {
  switch (t.kind) {
    case 'double': w.double(dv.getFloat64(ptr, true)); return
    case 'float': w.float(dv.getFloat64(ptr, true)); return
    default: w.zigzag(readI64(dv, ptr))
  }
}

/** Writes the part's IR as its Avro union: 00 when null, 02 + IR otherwise. */
export function writeKernelIr (w: ByteWriter, dv: DataView, base: number, p: KernelPart): void {
  const ptr = base + p.offset
  switch (p.kind) {
    case 'count': {
      const c = readI64(dv, ptr)
      if (c === 0) { w.byte(0); return }
      w.byte(2); w.zigzag(c); return
    }
    case 'sumLong':
      if (dv.getInt32(ptr + 8, true) === 0) { w.byte(0); return }
      w.byte(2); w.zigzag(readI64(dv, ptr)); return
    case 'sumDouble':
      if (dv.getInt32(ptr + 8, true) === 0) { w.byte(0); return }
      w.byte(2); w.double(dv.getFloat64(ptr, true)); return
    case 'average': {
      const c = readI64(dv, ptr + 8)
      if (c === 0) { w.byte(0); return }
      // AvgIr { sum: ["null", double], count: ["null", int|long] }
      w.byte(2); w.byte(2); w.double(dv.getFloat64(ptr, true)); w.byte(2); w.zigzag(c); return
    }
    case 'variance': {
      const c = readI64(dv, ptr)
      if (c === 0) { w.byte(0); return }
      // VarianceIr { count, mean, m2 }
      w.byte(2); w.byte(2); w.zigzag(c); w.byte(2); w.double(dv.getFloat64(ptr + 8, true)); w.byte(2); w.double(dv.getFloat64(ptr + 16, true)); return
    }
    case 'minLong': case 'maxLong': case 'minDouble': case 'maxDouble':
      if (dv.getInt32(ptr + 8, true) === 0) { w.byte(0); return }
      w.byte(2); writeValue(w, dv, ptr, p.valueType); return
    case 'first': case 'last':
      if (dv.getInt32(ptr + 16, true) === 0) { w.byte(0); return }
      // TimePair { epochMillis: ["null", long], payload: ["null", T] }
      w.byte(2); w.byte(2); w.zigzag(readI64(dv, ptr)); w.byte(2); writeValue(w, dv, ptr + 8, p.valueType)
  }
}

function writeI64 (dv: DataView, ptr: number, v: unknown): void {
  dv.setBigInt64(ptr, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))), true)
}

function writeValueCell (dv: DataView, ptr: number, t: DataType, v: unknown): void {
  if (t.kind === 'double' || t.kind === 'float') dv.setFloat64(ptr, Number(v), true)
  else writeI64(dv, ptr, v)
}

/**
 * Loads a normalized IR (as TileCodec decodes it) into the part's cells: the inverse of writeKernelIr, used to
 * restore a worker's state from a checkpoint. The cells must be zeroed (a fresh entry); null leaves them empty.
 */
export function loadKernelIr (dv: DataView, base: number, p: KernelPart, ir: unknown): void {
  if (ir === null || ir === undefined) return
  const ptr = base + p.offset
  switch (p.kind) {
    case 'count': writeI64(dv, ptr, ir); return
    case 'sumLong': writeI64(dv, ptr, ir); dv.setInt32(ptr + 8, 1, true); return
    case 'sumDouble': dv.setFloat64(ptr, Number(ir), true); dv.setInt32(ptr + 8, 1, true); return
    case 'average': {
      const a = ir as unknown[]
      dv.setFloat64(ptr, Number(a[0]), true); writeI64(dv, ptr + 8, a[1]); return
    }
    case 'variance': {
      const a = ir as unknown[]
      writeI64(dv, ptr, a[0]); dv.setFloat64(ptr + 8, Number(a[1]), true); dv.setFloat64(ptr + 16, Number(a[2]), true); return
    }
    case 'minLong': case 'maxLong': case 'minDouble': case 'maxDouble':
      writeValueCell(dv, ptr, p.valueType, ir); dv.setInt32(ptr + 8, 1, true); return
    case 'first': case 'last': {
      const a = ir as unknown[]
      writeI64(dv, ptr, a[0]); writeValueCell(dv, ptr + 8, p.valueType, a[1]); dv.setInt32(ptr + 16, 1, true)
    }
  }
}

/** i64 at p += i64 at q, wrapping as the kernels' i64 arithmetic does (no BigInt). */
function addI64 (dv: DataView, p: number, q: number): void {
  const lo = dv.getUint32(p, true) + dv.getUint32(q, true)
  const hi = (dv.getInt32(p + 4, true) + dv.getInt32(q + 4, true) + (lo > 0xffffffff ? 1 : 0)) | 0
  dv.setUint32(p, lo >>> 0, true)
  dv.setInt32(p + 4, hi, true)
}

/** Signed comparison of the i64s at p and q: < 0, 0, > 0. */
function compareI64 (dv: DataView, p: number, q: number): number {
  const hp = dv.getInt32(p + 4, true)
  const hq = dv.getInt32(q + 4, true)
  if (hp !== hq) return hp < hq ? -1 : 1
  const lp = dv.getUint32(p, true)
  const lq = dv.getUint32(q, true)
  return lp === lq ? 0 : lp < lq ? -1 : 1
}

function copyCells (dv: DataView, dst: number, src: number, bytes: number): void {
  for (let i = 0; i < bytes; i += 4) dv.setUint32(dst + i, dv.getUint32(src + i, true), true)
}

/**
 * Merges the part's IR of the entry at `srcBase` into the one at `dstBase` (a rolled-up tile, worker/rollups.ts),
 * with the rules of the part's JS aggregator merge (ColumnAggregator.merge: an empty left takes a copy of the right;
 * then numeric.ts, min-max.ts, first-last.ts), so the result encodes exactly as the read side's merge of the two
 * decoded IRs would. Allocates nothing.
 */
export function mergeKernelIr (dv: DataView, dstBase: number, srcBase: number, p: KernelPart): void {
  const d = dstBase + p.offset
  const s = srcBase + p.offset
  switch (p.kind) {
    case 'count': addI64(dv, d, s); return
    case 'sumLong':
      if (dv.getInt32(s + 8, true) === 0) return
      if (dv.getInt32(d + 8, true) === 0) { copyCells(dv, d, s, 16); return }
      addI64(dv, d, s); return
    case 'sumDouble':
      if (dv.getInt32(s + 8, true) === 0) return
      if (dv.getInt32(d + 8, true) === 0) { copyCells(dv, d, s, 16); return }
      dv.setFloat64(d, dv.getFloat64(d, true) + dv.getFloat64(s, true), true); return
    case 'average': {
      // empty = count 0 (written as null)
      const sc = readI64(dv, s + 8)
      if (sc === 0) return
      if (readI64(dv, d + 8) === 0) { copyCells(dv, d, s, 16); return }
      dv.setFloat64(d, dv.getFloat64(d, true) + dv.getFloat64(s, true), true)
      addI64(dv, d + 8, s + 8); return
    }
    case 'variance': {
      const bn = Number(readI64(dv, s))
      if (bn === 0) return
      const an = Number(readI64(dv, d))
      if (an === 0) { copyCells(dv, d, s, 24); return }
      // numeric.ts Variance.merge, step for step
      const am = dv.getFloat64(d + 8, true)
      const bm = dv.getFloat64(s + 8, true)
      const count = an + bn
      const delta = bm - am
      const deltaN = delta / count
      const mean = combinedMean(an, am, bn, bm)
      const m2 = dv.getFloat64(d + 16, true) + dv.getFloat64(s + 16, true) + (delta * deltaN * an * bn)
      addI64(dv, d, s)
      dv.setFloat64(d + 8, mean, true)
      dv.setFloat64(d + 16, m2, true)
      return
    }
    case 'minLong': case 'maxLong': case 'minDouble': case 'maxDouble': {
      if (dv.getInt32(s + 8, true) === 0) return
      if (dv.getInt32(d + 8, true) === 0) { copyCells(dv, d, s, 16); return }
      if (p.kind === 'minDouble' || p.kind === 'maxDouble') {
        const a = dv.getFloat64(d, true)
        const b = dv.getFloat64(s, true)
        dv.setFloat64(d, p.kind === 'maxDouble' ? Math.max(a, b) : Math.min(a, b), true)
      } else {
        const c = compareI64(dv, d, s)
        if (p.kind === 'maxLong' ? c < 0 : c > 0) copyCells(dv, d, s, 8)
      }
      return
    }
    case 'first': case 'last': {
      if (dv.getInt32(s + 16, true) === 0) return
      if (dv.getInt32(d + 16, true) === 0) { copyCells(dv, d, s, 24); return }
      // the right one wins only when strictly later (LAST) or earlier (FIRST): ties keep the left
      const c = compareI64(dv, s, d)
      if (p.kind === 'last' ? c > 0 : c < 0) copyCells(dv, d, s, 16)
    }
  }
}
