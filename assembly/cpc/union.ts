// CpcUnion with DataSketches' semantics. While every input is SPARSE the union keeps a sparse accumulator sketch;
// once an input is past SPARSE or the accumulator graduates, it keeps a K×64 bit matrix (K u64 rows). An input with
// a smaller lgK first folds the union down to that lgK (rows OR-ed by row mod K'); an input with a larger lgK is
// folded the same way as it is added. Empty inputs are ignored (they do not lower lgK either).
//
// Union header (UNION_BYTES = 16): 0 u32 lgK, 4 u32 accumulator sketch (0 = none), 8 u32 bit matrix (0 = none).

import { alloc, allocZeroed, free } from './alloc'
import {
  FLAVOR_EMPTY, FLAVOR_SLIDING, FLAVOR_SPARSE, bitMatrixInto, copySketch, couponsOf, flavorOf, freeSketch,
  lgKOf, loadFromMatrix, newSketch, newTable, offsetFor, offsetOf, rowColUpdate, scratchMatrixFor, setCoupons,
  setMergeFlag, setWindow, tableLgSize, tableOf, windowOf
} from './sketch'

export const UNION_BYTES: usize = 16

@inline function uLgK (u: usize): i32 { return load<u32>(u) }
@inline function uAcc (u: usize): usize { return <usize>load<u32>(u, 4) }
@inline function uMatrix (u: usize): usize { return <usize>load<u32>(u, 8) }
@inline function setAcc (u: usize, s: usize): void { store<u32>(u, <u32>s, 4) }
@inline function setMatrix (u: usize, m: usize): void { store<u32>(u, <u32>m, 8) }

export function newUnion (lgK: i32): usize {
  const u = alloc(UNION_BYTES)
  store<u32>(u, <u32>lgK)
  setAcc(u, newSketch(lgK))
  setMatrix(u, 0)
  return u
}

export function freeUnion (u: usize): void {
  freeSketch(uAcc(u))
  const m = uMatrix(u)
  if (m != 0) free(m, <usize>8 << <usize>uLgK(u))
  free(u, UNION_BYTES)
}

function matrixOfSketch (s: usize): usize {
  const m = alloc(<usize>8 << <usize>lgKOf(s))
  bitMatrixInto(s, m)
  return m
}

/** Feeds every pair of a sketch's table to `dest` (folding rows to dest's lgK). */
function walkTable (dest: usize, src: usize): void {
  const t = tableOf(src)
  if (t == 0) return
  const mask = (((<u32>1 << <u32>lgKOf(dest)) - 1) << 6) | 63
  const size = <usize>1 << <usize>tableLgSize(src)
  for (let i: usize = 0; i < size; i++) {
    const item = load<u32>(t + (i << 2))
    if (item != 0xffffffff) rowColUpdate(dest, item & mask)
  }
}

function orTable (m: usize, lgK: i32, src: usize): void {
  const t = tableOf(src)
  if (t == 0) return
  const mask = (<u32>1 << <u32>lgK) - 1
  const size = <usize>1 << <usize>tableLgSize(src)
  for (let i: usize = 0; i < size; i++) {
    const item = load<u32>(t + (i << 2))
    if (item == 0xffffffff) continue
    const p = m + (<usize>((item >> 6) & mask) << 3)
    store<u64>(p, load<u64>(p) | (<u64>1 << <u64>(item & 63)))
  }
}

function orMatrix (dst: usize, dstLgK: i32, src: usize, srcLgK: i32): void {
  const mask = (<usize>1 << <usize>dstLgK) - 1
  const n = <usize>1 << <usize>srcLgK
  for (let i: usize = 0; i < n; i++) {
    const p = dst + ((i & mask) << 3)
    store<u64>(p, load<u64>(p) | load<u64>(src + (i << 3)))
  }
}

function reduceLgK (u: usize, newLgK: i32): void {
  const m = uMatrix(u)
  const oldLgK = uLgK(u)
  if (m != 0) {
    const nm = allocZeroed(<usize>8 << <usize>newLgK)
    orMatrix(nm, newLgK, m, oldLgK)
    free(m, <usize>8 << <usize>oldLgK)
    setMatrix(u, nm)
  } else {
    const old = uAcc(u)
    const fresh = newSketch(newLgK)
    if (couponsOf(old) != 0) walkTable(fresh, old)
    freeSketch(old)
    if (flavorOf(newLgK, <u64>couponsOf(fresh)) <= FLAVOR_SPARSE) {
      setAcc(u, fresh)
    } else {
      setMatrix(u, matrixOfSketch(fresh))
      freeSketch(fresh)
      setAcc(u, 0)
    }
  }
  store<u32>(u, <u32>newLgK)
}

export function unionUpdate (u: usize, src: usize): void {
  const srcLgK = lgKOf(src)
  const flavor = flavorOf(srcLgK, <u64>couponsOf(src))
  if (flavor == FLAVOR_EMPTY) return
  if (srcLgK < uLgK(u)) reduceLgK(u, srcLgK)
  const lgK = uLgK(u)
  if (flavor > FLAVOR_SPARSE && uAcc(u) != 0) {
    setMatrix(u, matrixOfSketch(uAcc(u)))
    freeSketch(uAcc(u))
    setAcc(u, 0)
  }
  const acc = uAcc(u)
  if (acc != 0) {
    if (couponsOf(acc) == 0 && lgK == srcLgK) {
      freeSketch(acc)
      setAcc(u, copySketch(src))
      return
    }
    walkTable(acc, src)
    if (flavorOf(lgK, <u64>couponsOf(acc)) > FLAVOR_SPARSE) {
      setMatrix(u, matrixOfSketch(acc))
      freeSketch(acc)
      setAcc(u, 0)
    }
    return
  }
  const m = uMatrix(u)
  if (flavor == FLAVOR_SLIDING || (flavor > FLAVOR_SPARSE && offsetOf(src) != 0)) {
    const sm = scratchMatrixFor(srcLgK)
    bitMatrixInto(src, sm)
    orMatrix(m, lgK, sm, srcLgK)
    return
  }
  const w = windowOf(src)
  if (w != 0) {
    const mask = (<usize>1 << <usize>lgK) - 1
    const n = <usize>1 << <usize>srcLgK
    for (let i: usize = 0; i < n; i++) {
      const p = m + ((i & mask) << 3)
      store<u64>(p, load<u64>(p) | <u64>load<u8>(w + i))
    }
  }
  orTable(m, lgK, src)
}

/** The union's result as a new sketch with the merge flag set (so it estimates with ICON). */
export function unionResult (u: usize): usize {
  const lgK = uLgK(u)
  const acc = uAcc(u)
  if (acc != 0) {
    const r = couponsOf(acc) == 0 ? newSketch(lgK) : copySketch(acc)
    setMergeFlag(r, true)
    return r
  }
  const m = uMatrix(u)
  const k = <usize>1 << <usize>lgK
  let c: u64 = 0
  for (let i: usize = 0; i < k; i++) c += popcnt<u64>(load<u64>(m + (i << 3)))
  const r = newSketch(lgK)
  setCoupons(r, <u32>c)
  setWindow(r, alloc(k))
  newTable(r, max(lgK - 4, 2))
  loadFromMatrix(r, m, offsetFor(lgK, c))
  setMergeFlag(r, true)
  return r
}


