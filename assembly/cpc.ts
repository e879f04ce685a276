// CPC (Compressed Probabilistic Counting) distinct-count sketch, binary compatible with Apache DataSketches
// (CpcSketch / CpcUnion, serial version 1, seed 9001): the IR of Chronon's APPROX_UNIQUE_COUNT.
//
// The module owns its linear memory (one instance per thread; the host gives each instance a memory of its own)
// and a free-capable allocator, so sketches can be created and released for ever. Handles are pointers into that
// memory and mean nothing to another instance: move sketches between threads as serialized bytes.
//
// Host protocol: byte inputs (strings as UTF-8, binaries, serialized sketches) are written to the scratch buffer
// (`cpc_scratch(n)` returns a pointer with room for n bytes); `cpc_serialize` leaves its bytes at `cpc_out()`.

import { alloc, free, heapBytes, liveBytes } from './cpc/alloc'
import { hashBytes, hashLong, h1, h2 } from './cpc/murmur'
import {
  SEED, copySketch, couponsOf, freeSketch, hashUpdate, hipOf, initSketchTables, lgKOf, mergeFlagOf, moveSketch,
  newSketch, updateLong
} from './cpc/sketch'
import { deserialize, initCodec, lastError, outPtr, serialize } from './cpc/codec'
import { freeUnion, newUnion, unionResult, unionUpdate } from './cpc/union'
import { iconEstimate } from './cpc/icon'

// DataSketches' seed hash: the low 16 bits of the first half of MurmurHash3(seed as one long, seed 0).
hashLong(SEED, 0)
initSketchTables()
initCodec(<u16>(h1 & 0xffff))

let scratch: usize = 0
let scratchBytes: usize = 0

export function cpc_scratch (size: usize): usize {
  if (size > scratchBytes) {
    free(scratch, scratchBytes)
    scratchBytes = max<usize>(size, 256)
    scratch = alloc(scratchBytes)
  }
  return scratch
}

export function cpc_new (lgK: i32): usize {
  if (lgK < 4 || lgK > 26) return 0
  return newSketch(lgK)
}

export function cpc_free (s: usize): void { freeSketch(s) }

export function cpc_copy (s: usize): usize { return copySketch(s) }

/** A long given as its low and high 32 bits. */
export function cpc_update_long (s: usize, lo: i32, hi: i32): void {
  updateLong(s, (<u64>hi << 32) | <u64><u32>lo)
}

/** A long given as an integral double (exact up to 2^53; JavaScript numbers). */
export function cpc_update_int53 (s: usize, v: f64): void {
  updateLong(s, <u64><i64>v)
}

@inline function doubleBits (v: f64): u64 {
  if (v == 0.0) return 0 // −0.0 and 0.0 are one item
  if (v != v) return 0x7ff8000000000000 // every NaN is Java's canonical NaN
  return reinterpret<u64>(v)
}

export function cpc_update_double (s: usize, v: f64): void {
  updateLong(s, doubleBits(v))
}

/** `len` bytes at `ptr` (UTF-8 of a string, or a binary); empty input is ignored, as in DataSketches. */
export function cpc_update_bytes (s: usize, ptr: usize, len: usize): void {
  if (len == 0) return
  hashBytes(ptr, len, SEED)
  hashUpdate(s, h1, h2)
}

/** `n` little-endian i64 at `ptr`. */
export function cpc_update_longs (s: usize, ptr: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) updateLong(s, load<u64>(ptr + (i << 3)))
}

/** `n` f64 at `ptr`. */
export function cpc_update_doubles (s: usize, ptr: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) updateLong(s, doubleBits(load<f64>(ptr + (i << 3))))
}

/** HIP for a sketch that was only updated (or deserialized with HIP registers); ICON once it came from a union. */
export function cpc_estimate (s: usize): f64 {
  if (mergeFlagOf(s)) return iconEstimate(lgKOf(s), <u64>couponsOf(s))
  return hipOf(s)
}

export function cpc_icon (lgK: i32, c: f64): f64 { return iconEstimate(lgK, <u64>c) }
export function cpc_coupons (s: usize): u32 { return couponsOf(s) }
export function cpc_lgk (s: usize): i32 { return lgKOf(s) }
export function cpc_merged (s: usize): i32 { return mergeFlagOf(s) ? 1 : 0 }

export function cpc_serialize (s: usize): usize { return serialize(s) }
export function cpc_out (): usize { return outPtr() }

/** New sketch from `len` serialized bytes at `ptr`, or 0 (see cpc_error). */
export function cpc_deserialize (ptr: usize, len: usize): usize { return deserialize(ptr, len) }
export function cpc_error (): i32 { return lastError }

export function cpc_union_new (lgK: i32): usize { return newUnion(lgK) }
export function cpc_union_update (u: usize, s: usize): void { unionUpdate(u, s) }
export function cpc_union_result (u: usize): usize { return unionResult(u) }
export function cpc_union_free (u: usize): void { freeUnion(u) }

/** A new sketch: CpcUnion(lgK){s}.getResult() — Chronon's clone (ICON from then on, folded to lgK if s is larger). */
export function cpc_union_of (lgK: i32, s: usize): usize {
  const u = newUnion(lgK)
  unionUpdate(u, s)
  const r = unionResult(u)
  freeUnion(u)
  return r
}

/** a ← CpcUnion(lgK){a, b}.getResult(), in place (a keeps its handle); b is untouched. */
export function cpc_merge_into (lgK: i32, a: usize, b: usize): void {
  const u = newUnion(lgK)
  unionUpdate(u, a)
  if (b != 0) unionUpdate(u, b)
  const r = unionResult(u)
  freeUnion(u)
  moveSketch(a, r)
}

export function mem_live (): usize { return liveBytes() }
export function mem_heap (): usize { return heapBytes() }
