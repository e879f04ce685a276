// The CPC sketch (Lang, "Back to the Future: an Even More Nearly Optimal Cardinality Estimation Algorithm", 2017) in
// the representation DataSketches uses, so that its serialized form, HIP registers and estimates come out equal.
//
// Conceptually a sketch is a K×64 bit matrix (K = 2^lgK rows): an item whose hash picks row r and column c (c =
// number of leading zeros of the second hash half, capped at 63) sets bit (r, c); C = number of set bits ("coupons").
// It is stored as:
//   * SPARSE (C < 3K/32): a hash table of the set bits, each as rowCol = row << 6 | col;
//   * windowed (C ≥ 3K/32): an 8-bit sliding window per row over columns offset..offset+7, plus a hash table of the
//     "surprising" bits outside it: 0s left of the window (where nearly all bits are 1) and 1s right of it. The
//     window moves right by one when C reaches (27/8 + offset)·K, at which point the table is rebuilt.
//
// Sketch header in linear memory (SKETCH_BYTES = 48):
//   0 u8  lgK            1 u8  mergeFlag (1 = result of a union: ICON estimator, no HIP in the serial form)
//   2 u8  fiCol          3 u8  windowOffset
//   4 u32 numCoupons     8 u32 window pointer (0 = none, else K bytes)
//  12 u32 table pointer (0 = none, else 2^lgSize u32 slots; empty slot = 0xFFFFFFFF)
//  16 u32 table lgSize  20 u32 table numPairs
//  24 f64 kxp (HIP: Σ over cells not yet set of 2^-(col+1))
//  32 f64 HIP estimate accumulator
// The table is an open-addressing, linear-probing set whose probe starts at the item's top lgSize bits (of its
// 6 + lgK valid bits), so a slot scan yields items almost sorted. It grows past 3/4 load and shrinks below 1/4.

import { alloc, allocZeroed, free } from './alloc'
import { hashLong, h1, h2 } from './murmur'

export const SKETCH_BYTES: usize = 48
const EMPTY: u32 = 0xffffffff

export const FLAVOR_EMPTY = 0
export const FLAVOR_SPARSE = 1
export const FLAVOR_HYBRID = 2
export const FLAVOR_PINNED = 3
export const FLAVOR_SLIDING = 4

// --- header accessors ---------------------------------------------------------------------------------------------
@inline export function lgKOf (s: usize): i32 { return load<u8>(s) }
@inline export function mergeFlagOf (s: usize): bool { return load<u8>(s, 1) != 0 }
@inline export function setMergeFlag (s: usize, v: bool): void { store<u8>(s, v ? 1 : 0, 1) }
@inline export function fiColOf (s: usize): i32 { return load<u8>(s, 2) }
@inline export function setFiCol (s: usize, v: i32): void { store<u8>(s, <u8>v, 2) }
@inline export function offsetOf (s: usize): i32 { return load<u8>(s, 3) }
@inline export function setOffset (s: usize, v: i32): void { store<u8>(s, <u8>v, 3) }
@inline export function couponsOf (s: usize): u32 { return load<u32>(s, 4) }
@inline export function setCoupons (s: usize, v: u32): void { store<u32>(s, v, 4) }
@inline export function windowOf (s: usize): usize { return <usize>load<u32>(s, 8) }
@inline export function setWindow (s: usize, p: usize): void { store<u32>(s, <u32>p, 8) }
@inline export function tableOf (s: usize): usize { return <usize>load<u32>(s, 12) }
@inline export function tableLgSize (s: usize): i32 { return load<u32>(s, 16) }
@inline export function numPairsOf (s: usize): u32 { return load<u32>(s, 20) }
@inline export function kxpOf (s: usize): f64 { return load<f64>(s, 24) }
@inline export function setKxp (s: usize, v: f64): void { store<f64>(s, v, 24) }
@inline export function hipOf (s: usize): f64 { return load<f64>(s, 32) }
@inline export function setHip (s: usize, v: f64): void { store<f64>(s, v, 32) }

/** 2^-e for 0 ≤ e ≤ 1022, exactly. */
@inline export function invPow2 (e: i32): f64 { return reinterpret<f64>(<u64>(1023 - e) << 52) }

export function newSketch (lgK: i32): usize {
  const s = allocZeroed(SKETCH_BYTES)
  store<u8>(s, <u8>lgK)
  setKxp(s, <f64>(1 << lgK))
  return s
}

export function freeSketch (s: usize): void {
  if (s == 0) return
  freeWindow(s)
  freeTable(s)
  free(s, SKETCH_BYTES)
}

function freeWindow (s: usize): void {
  const w = windowOf(s)
  if (w != 0) { free(w, <usize>1 << <usize>lgKOf(s)); setWindow(s, 0) }
}

function freeTable (s: usize): void {
  const t = tableOf(s)
  if (t != 0) { free(t, <usize>4 << <usize>tableLgSize(s)); store<u32>(s, 0, 12) }
}

export function copySketch (src: usize): usize {
  const s = alloc(SKETCH_BYTES)
  memory.copy(s, src, SKETCH_BYTES)
  const w = windowOf(src)
  if (w != 0) {
    const k = <usize>1 << <usize>lgKOf(src)
    const nw = alloc(k)
    memory.copy(nw, w, k)
    setWindow(s, nw)
  }
  const t = tableOf(src)
  if (t != 0) {
    const bytes = <usize>4 << <usize>tableLgSize(src)
    const nt = alloc(bytes)
    memory.copy(nt, t, bytes)
    store<u32>(s, <u32>nt, 12)
  }
  return s
}

/** Moves everything of `src` into `dst` (whose old contents are released) and frees `src`'s header. */
export function moveSketch (dst: usize, src: usize): void {
  freeWindow(dst)
  freeTable(dst)
  memory.copy(dst, src, SKETCH_BYTES)
  free(src, SKETCH_BYTES)
}

export function flavorOf (lgK: i32, c: u64): i32 {
  const k = <u64>1 << <u64>lgK
  if (c == 0) return FLAVOR_EMPTY
  if ((c << 5) < 3 * k) return FLAVOR_SPARSE
  if ((c << 1) < k) return FLAVOR_HYBRID
  if ((c << 3) < 27 * k) return FLAVOR_PINNED
  return FLAVOR_SLIDING
}

/** The window offset a sketch with C coupons has: max(0, floor((8C − 19K) / 8K)). */
export function offsetFor (lgK: i32, c: u64): i32 {
  const k = <i64>1 << <i64>lgK
  const t = (<i64>c << 3) - 19 * k
  if (t < 0) return 0
  return <i32>(t >> (<i64>lgK + 3))
}

// --- pair table ---------------------------------------------------------------------------------------------------

/** Gives the sketch a fresh empty table of 2^lgSize slots (releasing any old one). */
export function newTable (s: usize, lgSize: i32): void {
  freeTable(s)
  const bytes = <usize>4 << <usize>lgSize
  const t = alloc(bytes)
  memory.fill(t, 0xff, bytes)
  store<u32>(s, <u32>t, 12)
  store<u32>(s, <u32>lgSize, 16)
  store<u32>(s, 0, 20)
}

@inline function probeStart (s: usize, item: u32, lgSize: i32): u32 {
  return item >> <u32>(6 + lgKOf(s) - lgSize)
}

/** Inserts an item known to be absent, without counting or resizing. */
function place (s: usize, t: usize, lgSize: i32, item: u32): void {
  const mask = (<u32>1 << <u32>lgSize) - 1
  let probe = probeStart(s, item, lgSize)
  while (load<u32>(t + (<usize>probe << 2)) != EMPTY) probe = (probe + 1) & mask
  store<u32>(t + (<usize>probe << 2), item)
}

function rebuild (s: usize, newLgSize: i32): void {
  const old = tableOf(s)
  const oldLg = tableLgSize(s)
  const oldSize = <usize>1 << <usize>oldLg
  const bytes = <usize>4 << <usize>newLgSize
  const t = alloc(bytes)
  memory.fill(t, 0xff, bytes)
  for (let i: usize = 0; i < oldSize; i++) {
    const item = load<u32>(old + (i << 2))
    if (item != EMPTY) place(s, t, newLgSize, item)
  }
  free(old, oldSize << 2)
  store<u32>(s, <u32>t, 12)
  store<u32>(s, <u32>newLgSize, 16)
}

/** The slot holding `item`, or the empty slot where linear probing for it from `probe` stops. */
@inline function findSlot (t: usize, item: u32, probe: u32, mask: u32): u32 {
  let got = load<u32>(t + (<usize>probe << 2))
  while (got != item && got != EMPTY) {
    probe = (probe + 1) & mask
    got = load<u32>(t + (<usize>probe << 2))
  }
  return probe
}

/** Adds `item` to the table; false if it was there already. */
export function tableInsert (s: usize, item: u32): bool {
  const t = tableOf(s)
  const lgSize = tableLgSize(s)
  const mask = (<u32>1 << <u32>lgSize) - 1
  const probe = findSlot(t, item, probeStart(s, item, lgSize), mask)
  if (load<u32>(t + (<usize>probe << 2)) == item) return false
  store<u32>(t + (<usize>probe << 2), item)
  const n = numPairsOf(s) + 1
  store<u32>(s, n, 20)
  if (n * 4 > (<u32>3 << <u32>lgSize)) rebuild(s, lgSize + 1)
  return true
}

/** Removes `item` from the table; false if it was not there. */
export function tableDelete (s: usize, item: u32): bool {
  const t = tableOf(s)
  const lgSize = tableLgSize(s)
  const mask = (<u32>1 << <u32>lgSize) - 1
  let probe = findSlot(t, item, probeStart(s, item, lgSize), mask)
  if (load<u32>(t + (<usize>probe << 2)) == EMPTY) return false
  store<u32>(t + (<usize>probe << 2), EMPTY)
  const n = numPairsOf(s) - 1
  store<u32>(s, n, 20)
  // Re-place the rest of the probe run so that no lookup stops early at the hole.
  probe = (probe + 1) & mask
  let got = load<u32>(t + (<usize>probe << 2))
  while (got != EMPTY) {
    store<u32>(t + (<usize>probe << 2), EMPTY)
    place(s, t, lgSize, got)
    probe = (probe + 1) & mask
    got = load<u32>(t + (<usize>probe << 2))
  }
  if (n * 4 < (<u32>1 << <u32>lgSize) && lgSize > 2) {
    let lg = lgSize - 1
    while (n * 4 < (<u32>1 << <u32>lg) && lg > 2) lg--
    rebuild(s, lg)
  }
  return true
}

/** Writes the table's items to `out` (u32 each) in unsigned ascending order; returns how many. */
export function sortedItems (s: usize, out: usize): u32 {
  const t = tableOf(s)
  if (t == 0) return 0
  const size = <usize>1 << <usize>tableLgSize(s)
  let n: usize = 0
  for (let i: usize = 0; i < size; i++) {
    const item = load<u32>(t + (i << 2))
    if (item != EMPTY) { store<u32>(out + (n << 2), item); n++ }
  }
  sortU32(out, n)
  return <u32>n
}

/**
 * Sorts n u32 ascending: insertion sort, which is linear on the nearly sorted output of a table scan, falling back
 * to a heap sort when the input turns out not to be nearly sorted (e.g. after a column permutation).
 */
export function sortU32 (a: usize, n: usize): void {
  let cost: usize = 0
  const limit = n * 8 + 64
  for (let i: usize = 1; i < n; i++) {
    const v = load<u32>(a + (i << 2))
    let j = i
    while (j > 0) {
      const w = load<u32>(a + ((j - 1) << 2))
      if (w <= v) break
      store<u32>(a + (j << 2), w)
      j--
    }
    store<u32>(a + (j << 2), v)
    cost += i - j
    if (cost > limit) { heapSort(a, n); return }
  }
}

function siftDown (a: usize, start: usize, end: usize): void {
  let root = start
  while (true) {
    let child = root * 2 + 1
    if (child >= end) return
    let cv = load<u32>(a + (child << 2))
    if (child + 1 < end) {
      const rv = load<u32>(a + ((child + 1) << 2))
      if (rv > cv) { child++; cv = rv }
    }
    const v = load<u32>(a + (root << 2))
    if (v >= cv) return
    store<u32>(a + (root << 2), cv)
    store<u32>(a + (child << 2), v)
    root = child
  }
}

function heapSort (a: usize, n: usize): void {
  if (n < 2) return
  for (let i = <isize>(n / 2) - 1; i >= 0; i--) siftDown(a, <usize>i, n)
  for (let end = n - 1; end > 0; end--) {
    const v = load<u32>(a)
    store<u32>(a, load<u32>(a + (end << 2)))
    store<u32>(a + (end << 2), v)
    siftDown(a, 0, end)
  }
}

// --- bit matrix ---------------------------------------------------------------------------------------------------

/** Writes the sketch's K×64 bit matrix (K u64 rows) to `m`. */
export function bitMatrixInto (s: usize, m: usize): void {
  const k = <usize>1 << <usize>lgKOf(s)
  if (couponsOf(s) == 0) { memory.fill(m, 0, k << 3); return }
  const offset = <u64>offsetOf(s)
  const dflt: u64 = (<u64>1 << offset) - 1
  const w = windowOf(s)
  if (w != 0) {
    for (let i: usize = 0; i < k; i++) store<u64>(m + (i << 3), dflt | (<u64>load<u8>(w + i) << offset))
  } else {
    for (let i: usize = 0; i < k; i++) store<u64>(m + (i << 3), dflt)
  }
  const t = tableOf(s)
  if (t != 0) {
    const size = <usize>1 << <usize>tableLgSize(s)
    for (let i: usize = 0; i < size; i++) {
      const item = load<u32>(t + (i << 2))
      if (item == EMPTY) continue
      const p = m + (<usize>(item >> 6) << 3)
      store<u64>(p, load<u64>(p) ^ (<u64>1 << <u64>(item & 63)))
    }
  }
}

// --- HIP ----------------------------------------------------------------------------------------------------------

/** kxpByteLookup[b] = Σ over the 0 bits j of byte b of 2^-(j+1): the HIP probability mass a row byte still holds. */
let kxpByteLookup: usize = 0

export function initSketchTables (): void {
  kxpByteLookup = alloc(256 * 8)
  for (let b = 0; b < 256; b++) {
    let sum: f64 = 0
    for (let col = 0; col < 8; col++) if (((b >>> col) & 1) == 0) sum += invPow2(col + 1)
    store<f64>(kxpByteLookup + (<usize>b << 3), sum)
  }
}

/**
 * Recomputes kxp from the bit matrix, the way DataSketches does on every 8th window shift (to stop rounding drift):
 * per byte position j, sum the lookup of that byte over all rows; then add the sums scaled by 256^-j for j = 6..0
 * (in that order; byte 7, columns 56..63, is left out as in the reference implementation).
 */
function refreshKxp (s: usize, m: usize): void {
  const k = <usize>1 << <usize>lgKOf(s)
  let b0: f64 = 0, b1: f64 = 0, b2: f64 = 0, b3: f64 = 0, b4: f64 = 0, b5: f64 = 0, b6: f64 = 0
  for (let i: usize = 0; i < k; i++) {
    const row = load<u64>(m + (i << 3))
    b0 += load<f64>(kxpByteLookup + (<usize>(row & 255) << 3))
    b1 += load<f64>(kxpByteLookup + (<usize>((row >> 8) & 255) << 3))
    b2 += load<f64>(kxpByteLookup + (<usize>((row >> 16) & 255) << 3))
    b3 += load<f64>(kxpByteLookup + (<usize>((row >> 24) & 255) << 3))
    b4 += load<f64>(kxpByteLookup + (<usize>((row >> 32) & 255) << 3))
    b5 += load<f64>(kxpByteLookup + (<usize>((row >> 40) & 255) << 3))
    b6 += load<f64>(kxpByteLookup + (<usize>((row >> 48) & 255) << 3))
  }
  let total: f64 = 0
  total += invPow2(48) * b6
  total += invPow2(40) * b5
  total += invPow2(32) * b4
  total += invPow2(24) * b3
  total += invPow2(16) * b2
  total += invPow2(8) * b1
  total += invPow2(0) * b0
  setKxp(s, total)
}

@inline function updateHip (s: usize, col: i32): void {
  const k = <f64>(1 << lgKOf(s))
  const kxp = kxpOf(s)
  setHip(s, hipOf(s) + k / kxp)
  setKxp(s, kxp - invPow2(col + 1))
}

// --- updates ------------------------------------------------------------------------------------------------------

function promoteToWindowed (s: usize): void {
  const k = <usize>1 << <usize>lgKOf(s)
  const w = allocZeroed(k)
  const old = tableOf(s)
  const oldLg = tableLgSize(s)
  store<u32>(s, 0, 12) // detach the old table so newTable keeps it
  newTable(s, 2)
  const size = <usize>1 << <usize>oldLg
  for (let i: usize = 0; i < size; i++) {
    const item = load<u32>(old + (i << 2))
    if (item == EMPTY) continue
    const col = item & 63
    if (col < 8) {
      const p = w + <usize>(item >> 6)
      store<u8>(p, load<u8>(p) | <u8>(<u32>1 << col))
    } else {
      tableInsert(s, item)
    }
  }
  free(old, size << 2)
  setWindow(s, w)
}

/** Scratch bit matrix for window shifts, kept between calls. */
let scratchMatrix: usize = 0
let scratchMatrixBytes: usize = 0

export function scratchMatrixFor (lgK: i32): usize {
  const bytes = <usize>8 << <usize>lgK
  if (bytes > scratchMatrixBytes) {
    free(scratchMatrix, scratchMatrixBytes)
    scratchMatrix = alloc(bytes)
    scratchMatrixBytes = bytes
  }
  return scratchMatrix
}

/**
 * Rebuilds window + table from a bit matrix for window offset `offset`: window = the 8 columns at the offset, table =
 * the 0s left of it and the 1s right of it. Sets fiCol to the first column with any surprising value (at most the
 * offset). Used when the window moves and when a union's bit matrix becomes a sketch.
 */
export function loadFromMatrix (s: usize, m: usize, offset: i32): void {
  const k = <usize>1 << <usize>lgKOf(s)
  const w = windowOf(s)
  const clearWindow = ~(<u64>0xff << <u64>offset)
  const flipEarly = (<u64>1 << <u64>offset) - 1
  let all: u64 = 0
  for (let i: usize = 0; i < k; i++) {
    let pattern = load<u64>(m + (i << 3))
    store<u8>(w + i, <u8>(pattern >> <u64>offset))
    pattern = (pattern & clearWindow) ^ flipEarly
    all |= pattern
    while (pattern != 0) {
      const col = <u32>ctz<u64>(pattern)
      pattern ^= <u64>1 << <u64>col
      tableInsert(s, (<u32>i << 6) | col)
    }
  }
  setOffset(s, offset)
  setFiCol(s, min(<i32>ctz<u64>(all), offset))
}

function shiftWindow (s: usize, newOffset: i32): void {
  const m = scratchMatrixFor(lgKOf(s))
  bitMatrixInto(s, m)
  if ((newOffset & 7) == 0) refreshKxp(s, m)
  newTable(s, tableLgSize(s))
  loadFromMatrix(s, m, newOffset)
}

function updateWindowed (s: usize, rowCol: u32): void {
  const offset = offsetOf(s)
  const col = <i32>(rowCol & 63)
  let novel = false
  if (col < offset) {
    novel = tableDelete(s, rowCol) // a surprising 0 becomes a 1
  } else if (col < offset + 8) {
    const p = windowOf(s) + <usize>(rowCol >> 6)
    const old = load<u8>(p)
    const bits = old | <u8>(<u32>1 << <u32>(col - offset))
    if (bits != old) { store<u8>(p, bits); novel = true }
  } else {
    novel = tableInsert(s, rowCol)
  }
  if (novel) {
    const c = couponsOf(s) + 1
    setCoupons(s, c)
    updateHip(s, col)
    const k = <u64>1 << <u64>lgKOf(s)
    if ((<u64>c << 3) >= (27 + (<u64>offset << 3)) * k) shiftWindow(s, offset + 1)
  }
}

/** Sets bit (row, col) given as rowCol = row << 6 | col. */
export function rowColUpdate (s: usize, rowCol: u32): void {
  const col = <i32>(rowCol & 63)
  if (col < fiColOf(s)) return // every row already has this bit
  const c = couponsOf(s)
  const k = <u64>1 << <u64>lgKOf(s)
  if (c == 0) newTable(s, 2)
  if ((<u64>c << 5) < 3 * k) {
    if (tableInsert(s, rowCol)) {
      setCoupons(s, c + 1)
      updateHip(s, col)
      if ((<u64>(c + 1) << 5) >= 3 * k) promoteToWindowed(s)
    }
  } else {
    updateWindowed(s, rowCol)
  }
}

/** Feeds one 128-bit hash: row from the low bits of the first half, column from the leading zeros of the second. */
@inline export function hashUpdate (s: usize, a: u64, b: u64): void {
  let col = <i32>clz<u64>(b)
  if (col < fiColOf(s)) return
  if (col > 63) col = 63
  const lgK = lgKOf(s)
  let rowCol = (<u32>(a & ((<u64>1 << <u64>lgK) - 1)) << 6) | <u32>col
  // 0xFFFFFFFF is the table's empty marker; only reachable at lgK 26, merge that cell with its neighbour.
  if (rowCol == 0xffffffff) rowCol ^= 64
  rowColUpdate(s, rowCol)
}

export const SEED: u64 = 9001

@inline export function updateLong (s: usize, v: u64): void {
  hashLong(v, SEED)
  hashUpdate(s, h1, h2)
}
