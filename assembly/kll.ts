// KLL floats sketch, state- and byte-compatible with Apache DataSketches' KllFloatsSketch (Java), in both the
// Yahoo sketches-core 0.13.4 flavour (airbnb Chronon) and the datasketches-java 6 flavour (Zipline).
//
// The algorithm follows the published KLL design as DataSketches implements it (levels stored top-down in one items
// array, level 0 growing downwards from the free space, compaction of the lowest full level by sorting, keeping
// every other item at a random offset and merging into the level above). Every step that influences the retained
// items is reproduced exactly (capacities, the compaction order, in-place merge tie rules, float ordering), so that
// given the same coin flips the serialized bytes are identical to Java's.
//
// Coin flips. Java draws them from one static java.util.Random per JVM (KllHelper.random in 0.13.4,
// KllSketch.random in 6.x), shared by all sketches and threads and seeded from the clock, so Java's own output is
// not reproducible. Here each sketch carries a java.util.Random-compatible 48-bit LCG and one of two modes:
//   RNG_PURE   (default) every compaction triggered by an update reseeds from the sketch's item count n, and every
//              merge reseeds once from (n, other n) at its start. The coins are then a pure function of the visible
//              state, so a sketch rebuilt from bytes (checkpoint restore, replay) evolves exactly as the original.
//   RNG_STREAM the LCG is seeded once (create / kll_set_seed) and consumed as Java consumes its static Random.
// Java reproduces either mode by calling setSeed on that static Random (see test/vectors/kll/).
//
// Memory: all blocks come from sketch-heap.ts and are returned by kll_free.

import { heapAlloc, heapFree } from './sketch-heap'
import { heapLiveBytes, heapTop } from './sketch-heap'

// Every entry of asconfig.json ends up in every module the build makes, so all exports carry a kll_ prefix.
export function kll_alloc (size: usize): usize { return heapAlloc(size) }
export function kll_dealloc (ptr: usize): void { heapFree(ptr) }
export function kll_heap_live_bytes (): usize { return heapLiveBytes() }
export function kll_heap_top (): usize { return heapTop() }

// ---- sketch header (64 bytes) -------------------------------------------------------------------------------
const H_K: usize = 0 // u32
const H_M: usize = 4 // u32, always 8
const H_MINK: usize = 8 // u32
const H_NUMLEVELS: usize = 12 // u32
const H_N: usize = 16 // u64
const H_LEVELS: usize = 24 // u32 pointer to i32[levelsCap]
const H_LEVELSCAP: usize = 28 // u32
const H_ITEMS: usize = 32 // u32 pointer to f32[itemsCap]
const H_ITEMSCAP: usize = 36 // u32 (== levels[numLevels])
const H_MIN: usize = 40 // f32
const H_MAX: usize = 44 // f32
const H_SORTED: usize = 48 // u8 level zero sorted
const H_FLAVOUR: usize = 49 // u8
const H_RNGMODE: usize = 50 // u8
const H_RNG: usize = 56 // u64 LCG state
const H_SIZE: usize = 64

const FLAVOUR_YAHOO: i32 = 0 // com.yahoo.sketches 0.13.4
const FLAVOUR_APACHE: i32 = 1 // org.apache.datasketches 6.x
const RNG_PURE: i32 = 0
const RNG_STREAM: i32 = 1

const DEFAULT_M: i32 = 8
const MAX_K: i32 = 65535
const MAX_LEVELS: i32 = 64

// ---- java.util.Random -----------------------------------------------------------------------------------------
const LCG_MUL: u64 = 0x5DEECE66D
const LCG_ADD: u64 = 0xB
const LCG_MASK: u64 = (<u64>1 << 48) - 1

function scramble (seed: u64): u64 { return (seed ^ LCG_MUL) & LCG_MASK }

/** nextInt(2) of java.util.Random: bit 47 of the advanced state. */
function nextCoin (h: usize): i32 {
  const s = (load<u64>(h + H_RNG) * LCG_MUL + LCG_ADD) & LCG_MASK
  store<u64>(h + H_RNG, s)
  return <i32>(s >>> 47)
}

function mix64 (z: u64): u64 {
  z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccd
  z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53
  return z ^ (z >>> 33)
}

const GOLDEN: u64 = 0x9E3779B97F4A7C15
/** RNG_PURE seed of the compaction inside an update made when the sketch holds n items. */
function seedForUpdate (n: u64): u64 { return mix64(n + GOLDEN) }
/** RNG_PURE seed of a merge of a sketch holding n items with one holding m. */
function seedForMerge (n: u64, m: u64): u64 { return mix64(mix64(n + GOLDEN) ^ m) }

// ---- small helpers --------------------------------------------------------------------------------------------
@inline function lv (h: usize, i: i32): i32 { return load<i32>(<usize>load<u32>(h + H_LEVELS) + (<usize>i << 2)) }
@inline function setLv (h: usize, i: i32, v: i32): void { store<i32>(<usize>load<u32>(h + H_LEVELS) + (<usize>i << 2), v) }
@inline function itemsPtr (h: usize): usize { return <usize>load<u32>(h + H_ITEMS) }
@inline function numLevels (h: usize): i32 { return load<i32>(h + H_NUMLEVELS) }
@inline function itemAt (p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)) }
@inline function setItem (p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v) }

function intCapAuxAux (k: i32, depth: i32): i32 {
  let p3: i64 = 1
  for (let i = 0; i < depth; i++) p3 *= 3
  const twok = <i64>(k << 1)
  const tmp = <i32>((twok << depth) / p3)
  return (tmp + 1) >> 1
}

function intCapAux (k: i32, depth: i32): i32 {
  if (depth <= 30) return intCapAuxAux(k, depth)
  const half = depth / 2
  const rest = depth - half
  return intCapAuxAux(intCapAuxAux(k, half), rest)
}

/** Nominal capacity of level `height` in a sketch of `nl` levels: max(m, round(k * (2/3)^depth)). */
function levelCapacity (k: i32, nl: i32, height: i32, m: i32): i32 {
  const c = intCapAux(k, nl - height - 1)
  return c > m ? c : m
}

function totalCapacity (k: i32, m: i32, nl: i32): i32 {
  let t = 0
  for (let h = 0; h < nl; h++) t += levelCapacity(k, nl, h, m)
  return t
}

// Float.compare order as an unsigned key (-0.0 < +0.0); no NaN ever reaches a sketch.
@inline function fkey (v: f32): u32 {
  const b = reinterpret<u32>(v)
  return b ^ (<u32>(<i32>b >> 31) | 0x80000000)
}

function sortFloats (p: usize, lo: i32, hi: i32): void { // sorts items [lo, hi)
  while (hi - lo > 16) {
    // median of three pivot, Hoare-style partition on keys
    const mid = lo + ((hi - lo) >> 1)
    let a = fkey(itemAt(p, lo)); let b = fkey(itemAt(p, mid)); let c = fkey(itemAt(p, hi - 1))
    let pivot: u32
    if (a < b) pivot = b < c ? b : (a < c ? c : a)
    else pivot = a < c ? a : (b < c ? c : b)
    let i = lo - 1
    let j = hi
    while (true) {
      do { i++ } while (fkey(itemAt(p, i)) < pivot)
      do { j-- } while (fkey(itemAt(p, j)) > pivot)
      if (i >= j) break
      const t = itemAt(p, i); setItem(p, i, itemAt(p, j)); setItem(p, j, t)
    }
    // recurse into the smaller part, loop on the larger
    if (j + 1 - lo < hi - j - 1) { sortFloats(p, lo, j + 1); lo = j + 1 } else { sortFloats(p, j + 1, hi); hi = j + 1 }
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = itemAt(p, i)
    const kv = fkey(v)
    let j = i - 1
    while (j >= lo && fkey(itemAt(p, j)) > kv) { setItem(p, j + 1, itemAt(p, j)); j-- }
    setItem(p, j + 1, v)
  }
}

/** Merge of two sorted runs into C with DataSketches' tie rule (take B unless A < B); C may overlap as in Java. */
function mergeSorted (pa: usize, startA: i32, lenA: i32, pb: usize, startB: i32, lenB: i32, pc: usize, startC: i32): void {
  const limA = startA + lenA
  const limB = startB + lenB
  const limC = startC + lenA + lenB
  let a = startA
  let b = startB
  for (let c = startC; c < limC; c++) {
    if (a == limA) { setItem(pc, c, itemAt(pb, b)); b++ }
    else if (b == limB) { setItem(pc, c, itemAt(pa, a)); a++ }
    else if (itemAt(pa, a) < itemAt(pb, b)) { setItem(pc, c, itemAt(pa, a)); a++ }
    else { setItem(pc, c, itemAt(pb, b)); b++ }
  }
}

function halveDown (h: usize, p: usize, start: i32, length: i32): void {
  const half = length / 2
  let j = start + nextCoin(h)
  for (let i = start; i < start + half; i++) { setItem(p, i, itemAt(p, j)); j += 2 }
}

function halveUp (h: usize, p: usize, start: i32, length: i32): void {
  const half = length / 2
  let j = start + length - 1 - nextCoin(h)
  for (let i = start + length - 1; i >= start + half; i--) { setItem(p, i, itemAt(p, j)); j -= 2 }
}

function ensureLevelsCap (h: usize, need: i32): void {
  const cap = load<i32>(h + H_LEVELSCAP)
  if (cap >= need) return
  let ncap = cap * 2
  if (ncap < need) ncap = need
  const np = heapAlloc(<usize>ncap << 2)
  const op = <usize>load<u32>(h + H_LEVELS)
  memory.copy(np, op, <usize>cap << 2)
  memory.fill(np + (<usize>cap << 2), 0, <usize>(ncap - cap) << 2)
  heapFree(op)
  store<u32>(h + H_LEVELS, <u32>np)
  store<i32>(h + H_LEVELSCAP, ncap)
}

function replaceItems (h: usize, cap: i32): usize {
  const np = heapAlloc(<usize>cap << 2)
  store<u32>(h + H_ITEMS, <u32>np)
  store<i32>(h + H_ITEMSCAP, cap)
  return np
}

// ---- lifecycle ----------------------------------------------------------------------------------------------------
function allocSketch (k: i32, flavour: i32, rngMode: i32, levelsCap: i32, itemsCap: i32): usize {
  const h = heapAlloc(H_SIZE)
  if (h == 0) return 0
  memory.fill(h, 0, H_SIZE)
  store<i32>(h + H_K, k)
  store<i32>(h + H_M, DEFAULT_M)
  store<i32>(h + H_MINK, k)
  store<i32>(h + H_NUMLEVELS, 1)
  store<u8>(h + H_FLAVOUR, <u8>flavour)
  store<u8>(h + H_RNGMODE, <u8>rngMode)
  store<u64>(h + H_RNG, scramble(0))
  const lp = heapAlloc(<usize>levelsCap << 2)
  memory.fill(lp, 0, <usize>levelsCap << 2)
  store<u32>(h + H_LEVELS, <u32>lp)
  store<i32>(h + H_LEVELSCAP, levelsCap)
  replaceItems(h, itemsCap)
  store<f32>(h + H_MIN, NaN)
  store<f32>(h + H_MAX, NaN)
  return h
}

/** A new empty sketch; returns 0 for an invalid k (DataSketches accepts 8..65535). */
export function kll_create (k: i32, flavour: i32, rngMode: i32, seedLo: u32, seedHi: u32): usize {
  if (k < DEFAULT_M || k > MAX_K) return 0
  const h = allocSketch(k, flavour, rngMode, 8, k)
  setLv(h, 0, k)
  setLv(h, 1, k)
  store<u64>(h + H_RNG, scramble((<u64>seedHi << 32) | <u64>seedLo))
  return h
}

export function kll_free (h: usize): void {
  if (h == 0) return
  heapFree(<usize>load<u32>(h + H_LEVELS))
  heapFree(itemsPtr(h))
  heapFree(h)
}

/** java.util.Random.setSeed on this sketch's generator (RNG_STREAM; in RNG_PURE the next operation reseeds). */
export function kll_set_seed (h: usize, seedLo: u32, seedHi: u32): void {
  store<u64>(h + H_RNG, scramble((<u64>seedHi << 32) | <u64>seedLo))
}

export function kll_clone (h: usize): usize {
  const nl = numLevels(h)
  const cap = load<i32>(h + H_ITEMSCAP)
  const lcap = load<i32>(h + H_LEVELSCAP)
  const c = heapAlloc(H_SIZE)
  memory.copy(c, h, H_SIZE)
  const lp = heapAlloc(<usize>lcap << 2)
  memory.copy(lp, <usize>load<u32>(h + H_LEVELS), <usize>lcap << 2)
  store<u32>(c + H_LEVELS, <u32>lp)
  const ip = heapAlloc(<usize>cap << 2)
  const from = lv(h, 0)
  memory.copy(ip + (<usize>from << 2), itemsPtr(h) + (<usize>from << 2), <usize>(lv(h, nl) - from) << 2)
  store<u32>(c + H_ITEMS, <u32>ip)
  return c
}

// ---- update -------------------------------------------------------------------------------------------------------
function addEmptyTopLevel (h: usize): void {
  const k = load<i32>(h + H_K)
  const m = load<i32>(h + H_M)
  const nl = numLevels(h)
  const curTotalCap = lv(h, nl)
  ensureLevelsCap(h, nl + 2)
  const deltaCap = levelCapacity(k, nl + 1, 0, m)
  const newTotalCap = curTotalCap + deltaCap
  const op = itemsPtr(h)
  const np = replaceItems(h, newTotalCap)
  memory.copy(np + (<usize>deltaCap << 2), op, <usize>curTotalCap << 2)
  heapFree(op)
  for (let i = 0; i <= nl; i++) setLv(h, i, lv(h, i) + deltaCap)
  store<i32>(h + H_NUMLEVELS, nl + 1)
  setLv(h, nl + 1, newTotalCap)
}

function findLevelToCompact (h: usize): i32 {
  const k = load<i32>(h + H_K)
  const m = load<i32>(h + H_M)
  const nl = numLevels(h)
  let level = 0
  while (true) {
    const pop = lv(h, level + 1) - lv(h, level)
    if (pop >= levelCapacity(k, nl, level, m) || level >= nl - 1) return level
    level++
  }
}

function compressWhileUpdating (h: usize): void {
  const level = findLevelToCompact(h)
  if (level == numLevels(h) - 1) addEmptyTopLevel(h)
  const p = itemsPtr(h)
  const rawBeg = lv(h, level)
  const rawLim = lv(h, level + 1)
  const popAbove = lv(h, level + 2) - rawLim
  const rawPop = rawLim - rawBeg
  const oddPop = (rawPop & 1) != 0
  const adjBeg = oddPop ? rawBeg + 1 : rawBeg
  const adjPop = oddPop ? rawPop - 1 : rawPop
  const halfAdjPop = adjPop / 2
  if (level == 0) sortFloats(p, adjBeg, adjBeg + adjPop)
  if (popAbove == 0) {
    halveUp(h, p, adjBeg, adjPop)
  } else {
    halveDown(h, p, adjBeg, adjPop)
    mergeSorted(p, adjBeg, halfAdjPop, p, rawLim, popAbove, p, adjBeg + halfAdjPop)
  }
  setLv(h, level + 1, lv(h, level + 1) - halfAdjPop)
  if (oddPop) {
    setLv(h, level, lv(h, level + 1) - 1)
    setItem(p, lv(h, level), itemAt(p, rawBeg))
  } else {
    setLv(h, level, lv(h, level + 1))
  }
  if (level > 0) {
    const l0 = lv(h, 0)
    memory.copy(p + (<usize>(l0 + halfAdjPop) << 2), p + (<usize>l0 << 2), <usize>(rawBeg - l0) << 2)
    for (let l = 0; l < level; l++) setLv(h, l, lv(h, l) + halfAdjPop)
  }
}

function updateMinMax (h: usize, x: f32): void {
  if (load<u64>(h + H_N) == 0) {
    store<f32>(h + H_MIN, x)
    store<f32>(h + H_MAX, x)
  } else if (load<u8>(h + H_FLAVOUR) == <u8>FLAVOUR_YAHOO) {
    // 0.13.4 compares with < and >, so +0.0 and -0.0 never replace each other
    if (x < load<f32>(h + H_MIN)) store<f32>(h + H_MIN, x)
    if (x > load<f32>(h + H_MAX)) store<f32>(h + H_MAX, x)
  } else {
    // 6.x uses Math.min / Math.max, which order -0.0 below +0.0
    store<f32>(h + H_MIN, Mathf.min(load<f32>(h + H_MIN), x))
    store<f32>(h + H_MAX, Mathf.max(load<f32>(h + H_MAX), x))
  }
}

/** One update; `reseed` is false inside a merge, whose coins come from the merge's own seed. */
function updateOne (h: usize, x: f32, reseed: bool): void {
  if (isNaN(x)) return
  updateMinMax(h, x)
  let free = lv(h, 0)
  if (free == 0) {
    if (reseed && load<u8>(h + H_RNGMODE) == <u8>RNG_PURE) store<u64>(h + H_RNG, scramble(seedForUpdate(load<u64>(h + H_N))))
    compressWhileUpdating(h)
    free = lv(h, 0)
  }
  store<u64>(h + H_N, load<u64>(h + H_N) + 1)
  store<u8>(h + H_SORTED, 0)
  free--
  setLv(h, 0, free)
  setItem(itemsPtr(h), free, x)
}

export function kll_update (h: usize, x: f32): void { updateOne(h, x, true) }

/** Updates with `count` floats stored at `src` (a host-written batch). */
export function kll_update_many (h: usize, src: usize, count: i32): void {
  for (let i = 0; i < count; i++) updateOne(h, load<f32>(src + (<usize>i << 2)), true)
}

// ---- merge --------------------------------------------------------------------------------------------------------
// Work arrays of a merge: levels up to MAX_LEVELS + 2 entries each; the item buffer is allocated per merge.
const workLevels = memory.data(4 * (MAX_LEVELS + 2), 8)
const outLevels = memory.data(4 * (MAX_LEVELS + 2), 8)
@inline function wl (i: i32): i32 { return load<i32>(workLevels + (<usize>i << 2)) }
@inline function setWl (i: i32, v: i32): void { store<i32>(workLevels + (<usize>i << 2), v) }
@inline function ol (i: i32): i32 { return load<i32>(outLevels + (<usize>i << 2)) }
@inline function setOl (i: i32, v: i32): void { store<i32>(outLevels + (<usize>i << 2), v) }

function levelSize (h: usize, level: i32): i32 {
  if (level >= numLevels(h)) return 0
  return lv(h, level + 1) - lv(h, level)
}

// The general compression of a merge: compacts levels bottom-up (in place in `buf`) until the total fits the
// capacity of the (possibly grown) number of levels. Returns numLevels; capacity and population via globals.
let gcTargetCount: i32 = 0
let gcCurrentCount: i32 = 0
function generalCompress (h: usize, k: i32, m: i32, numLevelsIn: i32, buf: usize, level0Sorted: bool): i32 {
  let nl = numLevelsIn
  let currentItemCount = wl(nl) - wl(0)
  let targetItemCount = totalCapacity(k, m, nl)
  let done = false
  setOl(0, 0)
  let cur = -1
  while (!done) {
    cur++
    if (cur == nl - 1) setWl(cur + 2, wl(cur + 1))
    const rawBeg = wl(cur)
    const rawLim = wl(cur + 1)
    const rawPop = rawLim - rawBeg
    if (currentItemCount < targetItemCount || rawPop < levelCapacity(k, nl, cur, m)) {
      memory.copy(buf + (<usize>ol(cur) << 2), buf + (<usize>rawBeg << 2), <usize>rawPop << 2)
      setOl(cur + 1, ol(cur) + rawPop)
    } else {
      const popAbove = wl(cur + 2) - rawLim
      const oddPop = (rawPop & 1) != 0
      const adjBeg = oddPop ? rawBeg + 1 : rawBeg
      const adjPop = oddPop ? rawPop - 1 : rawPop
      const halfAdjPop = adjPop / 2
      if (oddPop) {
        setItem(buf, ol(cur), itemAt(buf, rawBeg))
        setOl(cur + 1, ol(cur) + 1)
      } else {
        setOl(cur + 1, ol(cur))
      }
      if (cur == 0 && !level0Sorted) sortFloats(buf, adjBeg, adjBeg + adjPop)
      if (popAbove == 0) {
        halveUp(h, buf, adjBeg, adjPop)
      } else {
        halveDown(h, buf, adjBeg, adjPop)
        mergeSorted(buf, adjBeg, halfAdjPop, buf, rawLim, popAbove, buf, adjBeg + halfAdjPop)
      }
      currentItemCount -= halfAdjPop
      setWl(cur + 1, wl(cur + 1) - halfAdjPop)
      if (cur == nl - 1) {
        nl++
        targetItemCount += levelCapacity(k, nl, 0, m)
      }
    }
    if (cur == nl - 1) done = true
  }
  gcTargetCount = targetItemCount
  gcCurrentCount = currentItemCount
  return nl
}

/** Merges `o` into `h` (o unchanged). Returns 0, or 1 if the sketches are incompatible (different m). */
export function kll_merge (h: usize, o: usize): i32 {
  const on = load<u64>(o + H_N)
  if (on == 0) return 0
  if (load<i32>(h + H_M) != load<i32>(o + H_M)) return 1
  const myN = load<u64>(h + H_N)
  const myEmpty = myN == 0
  const myMin = load<f32>(h + H_MIN)
  const myMax = load<f32>(h + H_MAX)
  const finalN = myN + on
  if (load<u8>(h + H_RNGMODE) == <u8>RNG_PURE) store<u64>(h + H_RNG, scramble(seedForMerge(myN, on)))
  const op = itemsPtr(o)
  const oLim = lv(o, 1)
  for (let i = lv(o, 0); i < oLim; i++) updateOne(h, itemAt(op, i), false)
  const oNl = numLevels(o)
  if (oNl >= 2) {
    const k = load<i32>(h + H_K)
    const m = load<i32>(h + H_M)
    const myNl = numLevels(h)
    const mp = itemsPtr(h)
    const tmpSpace = (lv(h, myNl) - lv(h, 0)) + (lv(o, oNl) - lv(o, 1))
    const buf = heapAlloc(<usize>tmpSpace << 2)
    const provisional = myNl > oNl ? myNl : oNl
    // populate the work arrays: my level 0, then each higher level as the sorted merge of both sketches' levels
    setWl(0, 0)
    const selfPop0 = levelSize(h, 0)
    memory.copy(buf, mp + (<usize>lv(h, 0) << 2), <usize>selfPop0 << 2)
    setWl(1, selfPop0)
    for (let l = 1; l < provisional; l++) {
      const selfPop = levelSize(h, l)
      const otherPop = levelSize(o, l)
      setWl(l + 1, wl(l) + selfPop + otherPop)
      if (selfPop > 0 && otherPop == 0) {
        memory.copy(buf + (<usize>wl(l) << 2), mp + (<usize>lv(h, l) << 2), <usize>selfPop << 2)
      } else if (selfPop == 0 && otherPop > 0) {
        memory.copy(buf + (<usize>wl(l) << 2), op + (<usize>lv(o, l) << 2), <usize>otherPop << 2)
      } else if (selfPop > 0 && otherPop > 0) {
        mergeSorted(mp, lv(h, l), selfPop, op, lv(o, l), otherPop, buf, wl(l))
      }
    }
    const finalNl = generalCompress(h, k, m, provisional, buf, load<u8>(h + H_SORTED) != 0)
    const finalCap = gcTargetCount
    const finalPop = gcCurrentCount
    let np = mp
    if (finalCap != load<i32>(h + H_ITEMSCAP)) {
      np = replaceItems(h, finalCap)
      heapFree(mp)
    }
    const freeBottom = finalCap - finalPop
    memory.copy(np + (<usize>freeBottom << 2), buf + (<usize>ol(0) << 2), <usize>finalPop << 2)
    heapFree(buf)
    const shift = freeBottom - ol(0)
    ensureLevelsCap(h, finalNl + 2)
    for (let l = 0; l <= finalNl; l++) setLv(h, l, ol(l) + shift)
    store<i32>(h + H_NUMLEVELS, finalNl)
  }
  store<u64>(h + H_N, finalN)
  if (oNl > 1) {
    const omk = load<i32>(o + H_MINK)
    if (omk < load<i32>(h + H_MINK)) store<i32>(h + H_MINK, omk)
  }
  const oMin = load<f32>(o + H_MIN)
  const oMax = load<f32>(o + H_MAX)
  if (load<u8>(h + H_FLAVOUR) == <u8>FLAVOUR_YAHOO) {
    // 0.13.4: min/max were already moved by the level-0 updates; then compared with the other's
    const cmin = load<f32>(h + H_MIN)
    const cmax = load<f32>(h + H_MAX)
    if (isNaN(cmin) || oMin < cmin) store<f32>(h + H_MIN, oMin)
    if (isNaN(cmax) || oMax > cmax) store<f32>(h + H_MAX, oMax)
  } else if (myEmpty) {
    store<f32>(h + H_MIN, oMin)
    store<f32>(h + H_MAX, oMax)
  } else {
    store<f32>(h + H_MIN, Mathf.min(myMin, oMin))
    store<f32>(h + H_MAX, Mathf.max(myMax, oMax))
  }
  return 0
}

// ---- serialization ------------------------------------------------------------------------------------------------
/*
 * Compact serialized form (little endian), identical in sketches-core 0.13.4 and datasketches-java 6:
 *
 *   byte 0     preamble ints: 2 (empty or single item) | 5 (full)
 *   byte 1     serial version: 1 (empty or full) | 2 (single item)
 *   byte 2     family id 15 (KLL)
 *   byte 3     flags: bit0 empty, bit1 level zero sorted, bit2 single item
 *   bytes 4-5  k (u16)
 *   byte 6     m (8)
 *   byte 7     0
 *   empty:        nothing more (8 bytes)
 *   single item:  bytes 8-11 the item (f32)                                            (12 bytes)
 *   full:      bytes 8-15   n (i64)
 *              bytes 16-17  min k (u16)
 *              byte 18      number of levels L
 *              byte 19      0
 *              bytes 20..   levels[0..L-1] (i32 each; levels[0] is the free space in front of level 0, the
 *                           implicit levels[L] is the total capacity for k, m, L)
 *              then         min item (f32), max item (f32)
 *              then         the retained items in memory order (level 0 first, then level 1, ...) (f32 each)
 */
const SER_EMPTY_FULL: u8 = 1
const SER_SINGLE: u8 = 2
const FAMILY_KLL: u8 = 15

export function kll_serialized_size (h: usize): i32 {
  const n = load<u64>(h + H_N)
  if (n == 0) return 8
  if (n == 1) return 12
  const nl = numLevels(h)
  return 20 + nl * 4 + (lv(h, nl) - lv(h, 0) + 2) * 4
}

/** Writes kll_serialized_size(h) bytes at dst. */
export function kll_serialize (h: usize, dst: usize): void {
  const n = load<u64>(h + H_N)
  const single = n == 1
  const empty = n == 0
  store<u8>(dst, empty || single ? 2 : 5)
  store<u8>(dst + 1, single ? SER_SINGLE : SER_EMPTY_FULL)
  store<u8>(dst + 2, FAMILY_KLL)
  store<u8>(dst + 3, <u8>((empty ? 1 : 0) | (load<u8>(h + H_SORTED) != 0 ? 2 : 0) | (single ? 4 : 0)))
  store<u16>(dst + 4, <u16>load<i32>(h + H_K))
  store<u8>(dst + 6, <u8>load<i32>(h + H_M))
  store<u8>(dst + 7, 0)
  if (empty) return
  const p = itemsPtr(h)
  if (single) {
    store<f32>(dst + 8, itemAt(p, lv(h, 0)))
    return
  }
  const nl = numLevels(h)
  store<u64>(dst + 8, n)
  store<u16>(dst + 16, <u16>load<i32>(h + H_MINK))
  store<u8>(dst + 18, <u8>nl)
  store<u8>(dst + 19, 0)
  let off = dst + 20
  for (let i = 0; i < nl; i++) { store<i32>(off, lv(h, i)); off += 4 }
  store<f32>(off, load<f32>(h + H_MIN))
  store<f32>(off + 4, load<f32>(h + H_MAX))
  off += 8
  const from = lv(h, 0)
  memory.copy(off, p + (<usize>from << 2), <usize>(lv(h, nl) - from) << 2)
}

/**
 * Rebuilds a sketch from `len` serialized bytes at src. Returns 0 when the bytes are not a valid KLL floats
 * sketch (the host reports the reason via kll_check).
 */
export function kll_deserialize (src: usize, len: i32, flavour: i32, rngMode: i32, seedLo: u32, seedHi: u32): usize {
  if (kll_check(src, len) != 0) return 0
  const flags = load<u8>(src + 3)
  const k = <i32>load<u16>(src + 4)
  const m = <i32>load<u8>(src + 6)
  const empty = (flags & 1) != 0
  const single = (flags & 4) != 0
  let h: usize
  if (empty) {
    h = allocSketch(k, flavour, rngMode, 8, k)
    setLv(h, 0, k); setLv(h, 1, k)
  } else if (single) {
    h = allocSketch(k, flavour, rngMode, 8, k)
    setLv(h, 0, k - 1); setLv(h, 1, k)
    const x = load<f32>(src + 8)
    setItem(itemsPtr(h), k - 1, x)
    store<f32>(h + H_MIN, x)
    store<f32>(h + H_MAX, x)
    store<u64>(h + H_N, 1)
  } else {
    const nl = <i32>load<u8>(src + 18)
    const cap = totalCapacity(k, m, nl)
    h = allocSketch(k, flavour, rngMode, nl + 2 > 8 ? nl + 2 : 8, cap)
    store<i32>(h + H_M, m)
    store<u64>(h + H_N, load<u64>(src + 8))
    store<i32>(h + H_MINK, <i32>load<u16>(src + 16))
    store<i32>(h + H_NUMLEVELS, nl)
    let off = src + 20
    for (let i = 0; i < nl; i++) { setLv(h, i, load<i32>(off)); off += 4 }
    setLv(h, nl, cap)
    store<f32>(h + H_MIN, load<f32>(off))
    store<f32>(h + H_MAX, load<f32>(off + 4))
    off += 8
    const from = lv(h, 0)
    memory.copy(itemsPtr(h) + (<usize>from << 2), off, <usize>(cap - from) << 2)
  }
  store<u8>(h + H_SORTED, (flags & 2) != 0 ? 1 : 0)
  store<u64>(h + H_RNG, scramble((<u64>seedHi << 32) | <u64>seedLo))
  return h
}

/**
 * Validates serialized bytes: 0 if fine, else an error code: 1 too short, 2 bad preamble ints, 3 bad serial
 * version, 4 wrong family, 5 m is not 8, 6 k out of range, 7 inconsistent levels / size.
 */
export function kll_check (src: usize, len: i32): i32 {
  if (len < 8) return 1
  const preInts = load<u8>(src)
  const serVer = load<u8>(src + 1)
  const flags = load<u8>(src + 3)
  const k = <i32>load<u16>(src + 4)
  const m = <i32>load<u8>(src + 6)
  if (load<u8>(src + 2) != FAMILY_KLL) return 4
  if (m != DEFAULT_M) return 5
  if (k < DEFAULT_M) return 6
  const empty = (flags & 1) != 0
  const single = (flags & 4) != 0
  if (empty || single) { if (preInts != 2) return 2 } else if (preInts != 5) return 2
  if (serVer != SER_EMPTY_FULL && serVer != SER_SINGLE) return 3
  if (empty) return 0
  if (single) return len < 12 ? 1 : 0
  if (len < 20) return 1
  const nl = <i32>load<u8>(src + 18)
  if (nl < 1 || nl > MAX_LEVELS - 2) return 7
  if (len < 20 + nl * 4 + 8) return 1
  const cap = totalCapacity(k, m, nl)
  let prev = load<i32>(src + 20)
  if (prev < 0 || prev > cap) return 7
  for (let i = 1; i < nl; i++) {
    const v = load<i32>(src + 20 + (<usize>i << 2))
    if (v < prev || v > cap) return 7
    prev = v
  }
  const retained = cap - load<i32>(src + 20)
  if (len < 20 + nl * 4 + (retained + 2) * 4) return 1
  // the level weights must add up to n
  let total: u64 = 0
  let w: u64 = 1
  for (let i = 0; i < nl; i++) {
    const a = load<i32>(src + 20 + (<usize>i << 2))
    const b = i + 1 < nl ? load<i32>(src + 20 + (<usize>(i + 1) << 2)) : cap
    total += w * <u64>(b - a)
    w <<= 1
  }
  if (total != load<u64>(src + 8)) return 7
  return 0
}

// ---- queries ------------------------------------------------------------------------------------------------------
export function kll_n_lo (h: usize): u32 { return <u32>load<u64>(h + H_N) }
export function kll_n_hi (h: usize): u32 { return <u32>(load<u64>(h + H_N) >>> 32) }
export function kll_n (h: usize): f64 { return <f64>load<u64>(h + H_N) }
export function kll_k (h: usize): i32 { return load<i32>(h + H_K) }
export function kll_min_k (h: usize): i32 { return load<i32>(h + H_MINK) }
export function kll_num_levels (h: usize): i32 { return numLevels(h) }
export function kll_num_retained (h: usize): i32 { const nl = numLevels(h); return lv(h, nl) - lv(h, 0) }
export function kll_min (h: usize): f32 { return load<f32>(h + H_MIN) }
export function kll_max (h: usize): f32 { return load<f32>(h + H_MAX) }
export function kll_flavour (h: usize): i32 { return <i32>load<u8>(h + H_FLAVOUR) }
/** Bytes this sketch holds in the heap (header, levels and items blocks). */
export function kll_memory_bytes (h: usize): i32 {
  return <i32>(H_SIZE + (<usize>load<i32>(h + H_LEVELSCAP) << 2) + (<usize>load<i32>(h + H_ITEMSCAP) << 2))
}

function tandemMerge (sI: usize, sW: usize, dI: usize, dW: usize, s1: i32, n1: i32, s2: i32, n2: i32): void {
  const to1 = wl(s1 + n1)
  const to2 = wl(s2 + n2)
  let i1 = wl(s1)
  let i2 = wl(s2)
  let d = i1
  while (i1 < to1 && i2 < to2) {
    if (load<f32>(sI + (<usize>i1 << 2)) < load<f32>(sI + (<usize>i2 << 2))) {
      store<f32>(dI + (<usize>d << 2), load<f32>(sI + (<usize>i1 << 2))); store<u64>(dW + (<usize>d << 3), load<u64>(sW + (<usize>i1 << 3))); i1++
    } else {
      store<f32>(dI + (<usize>d << 2), load<f32>(sI + (<usize>i2 << 2))); store<u64>(dW + (<usize>d << 3), load<u64>(sW + (<usize>i2 << 3))); i2++
    }
    d++
  }
  if (i1 < to1) {
    memory.copy(dI + (<usize>d << 2), sI + (<usize>i1 << 2), <usize>(to1 - i1) << 2)
    memory.copy(dW + (<usize>d << 3), sW + (<usize>i1 << 3), <usize>(to1 - i1) << 3)
  } else if (i2 < to2) {
    memory.copy(dI + (<usize>d << 2), sI + (<usize>i2 << 2), <usize>(to2 - i2) << 2)
    memory.copy(dW + (<usize>d << 3), sW + (<usize>i2 << 3), <usize>(to2 - i2) << 3)
  }
}

/** Sorts the runs [start, start + nl) (boundaries in workLevels) from (sI, sW) into (dI, dW), roles alternating. */
function tandemSortRec (sI: usize, sW: usize, dI: usize, dW: usize, start: i32, nl: i32): void {
  if (nl == 1) return
  const n1 = nl / 2
  const n2 = nl - n1
  tandemSortRec(dI, dW, sI, sW, start, n1)
  tandemSortRec(dI, dW, sI, sW, start + n1, n2)
  tandemMerge(sI, sW, dI, dW, start, n1, start + n1, n2)
}

function sortLevelZero (h: usize): void {
  if (load<u8>(h + H_SORTED) == 0) {
    sortFloats(itemsPtr(h), lv(h, 0), lv(h, 1))
    store<u8>(h + H_SORTED, 1)
  }
}

/**
 * Writes the quantiles of `count` normalized ranks (f64 at ranksPtr) as f32 to outPtr. As both Java libraries do,
 * this sorts level zero in place and sets the level-zero-sorted flag (which shows in later serialized bytes).
 * Yahoo 0.13.4 (airbnb): rank 0 → min, 1 → max, else the item whose weight span covers position floor(rank·n).
 * Apache 6.x (Zipline, INCLUSIVE criterion): the sorted view gets min and max added as end points, and the answer is
 * the first item whose cumulative weight reaches ceil(rank·n) (rank·n rounded to 7 decimals first when n ≤ 1e7).
 * Returns 0, or 1 if the sketch is empty or a rank is outside [0, 1] or NaN.
 */
export function kll_quantiles (h: usize, ranksPtr: usize, count: i32, outPtr: usize): i32 {
  const n = load<u64>(h + H_N)
  if (n == 0) return 1
  for (let i = 0; i < count; i++) {
    const r = load<f64>(ranksPtr + (<usize>i << 3))
    if (!(r >= 0.0 && r <= 1.0)) return 1
  }
  sortLevelZero(h)
  const nl = numLevels(h)
  const p = itemsPtr(h)
  const offset = lv(h, 0)
  const num = lv(h, nl) - offset
  // sorted view: items + per-item weights, then merged level by level (levels are each sorted)
  const vItems = heapAlloc(<usize>(num + 2) << 2)
  const vW = heapAlloc(<usize>(num + 2) << 3)
  const tItems = heapAlloc(<usize>(num + 2) << 2)
  const tW = heapAlloc(<usize>(num + 2) << 3)
  memory.copy(vItems, p + (<usize>offset << 2), <usize>num << 2)
  // level boundaries of the non-empty levels, relative to offset, stored in workLevels
  let dst = 0
  let weight: u64 = 1
  for (let l = 0; l < nl; l++) {
    const from = lv(h, l) - offset
    const to = lv(h, l + 1) - offset
    if (from < to) {
      for (let i = from; i < to; i++) store<u64>(vW + (<usize>i << 3), weight)
      setWl(dst, from)
      setWl(dst + 1, to)
      dst++
    }
    weight <<= 1
  }
  // merge the sorted levels into one sorted run exactly as Java's blockyTandemMergeSort does (same recursion, same
  // tie rule), so that even the order of -0.0 and +0.0 entries comes out the same
  if (dst > 1) {
    memory.copy(tItems, vItems, <usize>num << 2)
    memory.copy(tW, vW, <usize>num << 3)
    tandemSortRec(tItems, tW, vItems, vW, 0, dst)
  }
  const srcI = vItems
  const srcW = vW
  // cumulative weights (inclusive)
  let cum: u64 = 0
  for (let i = 0; i < num; i++) {
    cum += load<u64>(srcW + (<usize>i << 3))
    store<u64>(srcW + (<usize>i << 3), cum)
  }
  const flavour = load<u8>(h + H_FLAVOUR)
  const minV = load<f32>(h + H_MIN)
  const maxV = load<f32>(h + H_MAX)
  if (flavour == <u8>FLAVOUR_YAHOO) {
    for (let q = 0; q < count; q++) {
      const r = load<f64>(ranksPtr + (<usize>q << 3))
      let v: f32
      if (r == 0.0) v = minV
      else if (r == 1.0) v = maxV
      else {
        let pos = <u64>Math.floor(r * <f64>n)
        if (pos == n) pos = n - 1
        // the item whose span [cum - w, cum) contains pos: first i with cum[i] > pos
        let lo = 0; let hi = num - 1
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (load<u64>(srcW + (<usize>mid << 3)) > pos) hi = mid; else lo = mid + 1
        }
        v = load<f32>(srcI + (<usize>lo << 2))
      }
      store<f32>(outPtr + (<usize>q << 2), v)
    }
  } else {
    // IncludeMinMax: prepend min (cum 1) if the first item is not min; append max if the last is not max, the
    // previous last then getting cum n - 1
    const adjLow = load<f32>(srcI) != minV
    const adjHigh = load<f32>(srcI + (<usize>(num - 1) << 2)) != maxV
    const len = num + (adjLow ? 1 : 0) + (adjHigh ? 1 : 0)
    const qI = heapAlloc(<usize>len << 2)
    const qW = heapAlloc(<usize>len << 3)
    const o = adjLow ? 1 : 0
    memory.copy(qI + (<usize>o << 2), srcI, <usize>num << 2)
    memory.copy(qW + (<usize>o << 3), srcW, <usize>num << 3)
    if (adjLow) { store<f32>(qI, minV); store<u64>(qW, 1) }
    if (adjHigh) {
      const last = load<u64>(srcW + (<usize>(num - 1) << 3))
      store<f32>(qI + (<usize>(len - 1) << 2), maxV)
      store<u64>(qW + (<usize>(len - 1) << 3), last)
      store<u64>(qW + (<usize>(len - 2) << 3), last - 1)
    }
    for (let q = 0; q < count; q++) {
      const r = load<f64>(ranksPtr + (<usize>q << 3))
      let nat = r * <f64>n
      if (n <= 10000000) {
        const x = nat * 1e7
        let rx = Math.floor(x)
        if (x - rx >= 0.5) rx += 1.0
        nat = rx / 1e7
      }
      const target = <u64>Math.ceil(nat)
      // first index with cum >= target, else the last
      let lo = 0; let hi = len - 1
      if (load<u64>(qW + (<usize>hi << 3)) < target) lo = hi
      else {
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (load<u64>(qW + (<usize>mid << 3)) >= target) hi = mid; else lo = mid + 1
        }
      }
      store<f32>(outPtr + (<usize>q << 2), load<f32>(qI + (<usize>lo << 2)))
    }
    heapFree(qI)
    heapFree(qW)
  }
  heapFree(vItems); heapFree(vW); heapFree(tItems); heapFree(tW)
  return 0
}

/** Normalized rank of `x` (fraction of weight strictly below x, as 0.13.4 getRank); for accuracy tests. */
export function kll_rank (h: usize, x: f32): f64 {
  const n = load<u64>(h + H_N)
  if (n == 0) return NaN
  const nl = numLevels(h)
  const p = itemsPtr(h)
  let total: u64 = 0
  let weight: u64 = 1
  for (let l = 0; l < nl; l++) {
    for (let i = lv(h, l); i < lv(h, l + 1); i++) if (itemAt(p, i) < x) total += weight
    weight <<= 1
  }
  return <f64>total / <f64>n
}
