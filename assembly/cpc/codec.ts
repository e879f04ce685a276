// Serialized (compressed) form of a CPC sketch, byte-identical to DataSketches' CpcSketch.toByteArray (serial
// version 1), and its inverse.
//
// All fields little-endian. Bytes 0..7 are common to every format:
//   0 preInts (preamble length in 4-byte words)   1 serVer = 1   2 family = 16 (CPC)   3 lgK
//   4 fiCol (0 in the EMPTY and SPARSE/HYBRID formats)
//   5 flags = format << 2 | 2 (compressed); format bits: 1 = HIP registers present, 2 = surprising-value (SV)
//     stream present, 4 = window stream present
//   6 u16 seed hash (of seed 9001)
// Then, by format (offsets in bytes; "wLen"/"svLen" are stream lengths in 4-byte words):
//   0 EMPTY_MERGED, 1 EMPTY_HIP           preInts 2   nothing else
//   2 SPARSE_HYBRID_MERGED                preInts 4   8 numCoupons  12 svLen                        16 SV stream
//   3 SPARSE_HYBRID_HIP                   preInts 8   8 numCoupons  12 svLen  16 f64 kxp  24 f64 hip  32 SV stream
//   4 PINNED_SLIDING_MERGED_NOSV          preInts 4   8 numCoupons  12 wLen                         16 window stream
//   5 PINNED_SLIDING_HIP_NOSV             preInts 8   8 numCoupons  12 wLen   16 f64 kxp  24 f64 hip  32 window stream
//   6 PINNED_SLIDING_MERGED               preInts 6   8 numCoupons  12 numSV  16 svLen  20 wLen
//                                                     24 window stream, then SV stream
//   7 PINNED_SLIDING_HIP                  preInts 10  8 numCoupons  12 numSV  16 f64 kxp  24 f64 hip  32 svLen
//                                                     36 wLen  40 window stream, then SV stream
// Streams are sequences of u32 words holding a bit stream, least significant bit first.
//   * Window stream (PINNED/SLIDING): each of the K window bytes with one of 22 prefix codes (≤ 12 bits), chosen
//     by the "pseudo-phase" of C/K; then 11 zero bits of padding; the last partial word is flushed.
//   * SV stream: the surprising values as rowCol (row << 6 | col) ascending; for each: the column delta (col −
//     predicted col, where the prediction is 0 on a new row and last col + 1 on the same row) with the 65-symbol
//     length-limited unary code, then the row delta as a Golomb code with B base bits (the quotient in unary: q
//     zeros — emitted 16 at a time — then a 1; then the low B bits), B = floor(log2(K / numPairs)) (0 if K <
//     numPairs); then max(0, 10 − B) zero bits of padding. SPARSE/HYBRID store every coupon (window bits of a HYBRID
//     sketch included); PINNED stores the table's pairs with 8 subtracted from the column; SLIDING rotates each
//     column to c = (col + 56 − offset) mod 64 and maps it through the column permutation of the phase first.

import { alloc, free } from './alloc'
import { BYTE_ENCODING, COLUMN_PERMUTATIONS, UNARY65_ENCODING } from './tables'
import {
  FLAVOR_EMPTY, FLAVOR_HYBRID, FLAVOR_PINNED, FLAVOR_SLIDING, FLAVOR_SPARSE, couponsOf, fiColOf, flavorOf, hipOf,
  kxpOf, lgKOf, mergeFlagOf, newSketch, newTable, numPairsOf, offsetFor, offsetOf, setCoupons, setFiCol, setHip,
  setKxp, setMergeFlag, setOffset, setWindow, sortU32, sortedItems, tableInsert, windowOf, freeSketch
} from './sketch'

// Decoding tables (4096 entries of (length << 8) | symbol per code) and inverse permutations, built at start-up.
let byteDecoding: usize = 0
let unaryDecoding: usize = 0
let permDecoding: usize = 0
export let seedHash: u16 = 0

function buildDecoding (enc: usize, numSymbols: i32, out: usize): void {
  for (let sym = 0; sym < numSymbols; sym++) {
    const e = <u32>load<u16>(enc + (<usize>sym << 1))
    const len = e >> 12
    const code = e & 0xfff
    const entry = <u16>((len << 8) | <u32>sym)
    for (let pad: u32 = 0; pad < (<u32>1 << (12 - len)); pad++) {
      store<u16>(out + (<usize>((code | (pad << len)) & 0xfff) << 1), entry)
    }
  }
}

export function initCodec (seedHashValue: u16): void {
  seedHash = seedHashValue
  unaryDecoding = alloc(4096 * 2)
  buildDecoding(changetype<usize>(UNARY65_ENCODING), 65, unaryDecoding)
  byteDecoding = alloc(22 * 4096 * 2)
  for (let t = 0; t < 22; t++) {
    buildDecoding(changetype<usize>(BYTE_ENCODING) + <usize>(t * 512), 256, byteDecoding + <usize>(t * 8192))
  }
  permDecoding = alloc(16 * 56)
  for (let p = 0; p < 16; p++) {
    for (let i = 0; i < 56; i++) {
      store<u8>(permDecoding + <usize>(p * 56) + <usize>load<u8>(changetype<usize>(COLUMN_PERMUTATIONS) + <usize>(p * 56 + i)), <u8>i)
    }
  }
}

/** Which of the 22 byte codes (and, below 16, which column permutation) the window of a sketch with C coupons uses. */
function pseudoPhase (lgK: i32, c: u64): i32 {
  const k = <u64>1 << <u64>lgK
  if (1000 * c < 2375 * k) {
    if (4 * c < 3 * k) return 16
    if (10 * c < 11 * k) return 17
    if (100 * c < 132 * k) return 18
    if (3 * c < 5 * k) return 19
    if (1000 * c < 1965 * k) return 20
    if (1000 * c < 2275 * k) return 21
    return 6
  }
  return <i32>((c >> <u64>(lgK - 4)) & 15)
}

/** Golomb base bits for the row deltas: floor(log2(K / numPairs)), 0 when K < numPairs. */
function baseBits (k: u32, numPairs: u32): i32 {
  const q = k / numPairs
  if (q == 0) return 0
  return 31 - <i32>clz<u32>(q)
}

// --- bit writer (module state; one stream at a time) ---------------------------------------------------------------
let outWords: usize = 0
let outIndex: usize = 0
let bitBuf: u64 = 0
let bufBits: i32 = 0

@inline function beginWrite (words: usize): void { outWords = words; outIndex = 0; bitBuf = 0; bufBits = 0 }

@inline function flush32 (): void {
  if (bufBits >= 32) {
    store<u32>(outWords + (outIndex << 2), <u32>bitBuf)
    outIndex++
    bitBuf >>= 32
    bufBits -= 32
  }
}

@inline function writeBits (value: u64, n: i32): void {
  bitBuf |= value << <u64>bufBits
  bufBits += n
  flush32()
}

function endWrite (padding: i32): usize {
  bufBits += padding
  flush32()
  if (bufBits > 0) { store<u32>(outWords + (outIndex << 2), <u32>bitBuf); outIndex++ }
  return outIndex
}

function writeUnary (v: u32): void {
  while (v >= 16) { v -= 16; bufBits += 16; flush32() }
  writeBits(<u64>1 << <u64>v, 1 + <i32>v)
}

function compressWindow (w: usize, k: usize, phase: i32, out: usize): usize {
  const enc = changetype<usize>(BYTE_ENCODING) + <usize>(phase * 512)
  beginWrite(out)
  for (let i: usize = 0; i < k; i++) {
    const e = <u32>load<u16>(enc + (<usize>load<u8>(w + i) << 1))
    writeBits(<u64>(e & 0xfff), <i32>(e >> 12))
  }
  return endWrite(11)
}

function compressPairs (pairs: usize, n: u32, b: i32, out: usize): usize {
  beginWrite(out)
  const loMask = (<u64>1 << <u64>b) - 1
  let predRow: u32 = 0
  let predCol: u32 = 0
  for (let i: usize = 0; i < <usize>n; i++) {
    const rowCol = load<u32>(pairs + (i << 2))
    const row = rowCol >> 6
    const col = rowCol & 63
    if (row != predRow) predCol = 0
    const dy = row - predRow
    const e = <u32>load<u16>(changetype<usize>(UNARY65_ENCODING) + (<usize>(col - predCol) << 1))
    predRow = row
    predCol = col + 1
    writeBits(<u64>(e & 0xfff), <i32>(e >> 12))
    writeUnary(dy >> <u32>b)
    writeBits(<u64>dy & loMask, b)
  }
  return endWrite(max(0, 10 - b))
}

// --- serialize ------------------------------------------------------------------------------------------------------

let outBuf: usize = 0
let outBufBytes: usize = 0
let pairBuf: usize = 0
let pairBufBytes: usize = 0

function ensureOut (bytes: usize): usize {
  if (bytes > outBufBytes) {
    free(outBuf, outBufBytes)
    outBuf = alloc(bytes)
    outBufBytes = bytes
  }
  return outBuf
}

export function ensurePairs (n: usize): usize {
  const bytes = (n + 1) << 2
  if (bytes > pairBufBytes) {
    free(pairBuf, pairBufBytes)
    pairBuf = alloc(bytes)
    pairBufBytes = bytes
  }
  return pairBuf
}

export function outPtr (): usize { return outBuf }

/**
 * Upper bound on the words of an SV stream: 12 bits per column delta, 1 + B bits per row delta plus K >> B for the
 * unary quotients (n·B ≤ n·log2(K/n) < K), and the padding.
 */
function maxPairWords (k: usize, n: usize): usize {
  return ((n * 13 + k * 2 + 10 + 31) >> 5) + 1
}

function putFirst8 (out: usize, preInts: i32, lgK: i32, fiCol: i32, format: i32): void {
  store<u8>(out, <u8>preInts)
  store<u8>(out, 1, 1)
  store<u8>(out, 16, 2)
  store<u8>(out, <u8>lgK, 3)
  store<u8>(out, <u8>fiCol, 4)
  store<u8>(out, <u8>((format << 2) | 2), 5)
  store<u16>(out, seedHash, 6)
}

/** Serializes the sketch into the output buffer (see outPtr); returns its length in bytes. */
export function serialize (s: usize): usize {
  const lgK = lgKOf(s)
  const k = <usize>1 << <usize>lgK
  const c = <u64>couponsOf(s)
  const hip = mergeFlagOf(s) ? 0 : 1
  const flavor = flavorOf(lgK, c)
  if (flavor == FLAVOR_EMPTY) {
    const out = ensureOut(8)
    putFirst8(out, 2, lgK, 0, hip)
    return 8
  }
  if (flavor == FLAVOR_SPARSE || flavor == FLAVOR_HYBRID) {
    // Every coupon as a pair: the table's, plus (HYBRID, offset 0) the window's bits, merged in order.
    const n = <usize>c
    const pairs = ensurePairs(2 * n)
    const fromTable = <usize>sortedItems(s, pairs)
    let all = pairs
    if (flavor == FLAVOR_HYBRID) {
      const w = windowOf(s)
      const win = pairs + (fromTable << 2)
      let m: usize = 0
      for (let row: usize = 0; row < k; row++) {
        let byte = <u32>load<u8>(w + row)
        while (byte != 0) {
          const col = ctz<u32>(byte)
          byte ^= 1 << col
          store<u32>(win + (m << 2), (<u32>row << 6) | col)
          m++
        }
      }
      all = pairs + (n << 2)
      let a: usize = 0, b: usize = 0
      for (let i: usize = 0; i < fromTable + m; i++) {
        let v: u32
        if (b >= m || (a < fromTable && load<u32>(pairs + (a << 2)) < load<u32>(win + (b << 2)))) {
          v = load<u32>(pairs + (a << 2)); a++
        } else {
          v = load<u32>(win + (b << 2)); b++
        }
        store<u32>(all + (i << 2), v)
      }
    }
    const b = baseBits(<u32>k, <u32>n)
    const preInts = hip ? 8 : 4
    const out = ensureOut(<usize>(preInts * 4) + (maxPairWords(k, n) << 2))
    const svLen = compressPairs(all, <u32>n, b, out + <usize>(preInts * 4))
    putFirst8(out, preInts, lgK, 0, 2 | hip)
    store<u32>(out, <u32>c, 8)
    store<u32>(out, <u32>svLen, 12)
    if (hip) { store<f64>(out, kxpOf(s), 16); store<f64>(out, hipOf(s), 24) }
    return <usize>(preInts * 4) + (svLen << 2)
  }
  // PINNED / SLIDING: window stream, then (if any) the surprising values.
  const phase = pseudoPhase(lgK, c)
  const numPairs = numPairsOf(s)
  const maxWindowWords: usize = (k * 12 + 11 + 31) >> 5
  const preInts = numPairs > 0 ? (hip ? 10 : 6) : (hip ? 8 : 4)
  const out = ensureOut(<usize>(preInts * 4) + ((maxWindowWords + maxPairWords(k, <usize>numPairs)) << 2))
  const wLen = compressWindow(windowOf(s), k, phase, out + <usize>(preInts * 4))
  let svLen: usize = 0
  if (numPairs > 0) {
    const pairs = ensurePairs(<usize>numPairs)
    sortedItems(s, pairs)
    if (flavor == FLAVOR_PINNED) {
      for (let i: usize = 0; i < <usize>numPairs; i++) store<u32>(pairs + (i << 2), load<u32>(pairs + (i << 2)) - 8)
    } else {
      const perm = changetype<usize>(COLUMN_PERMUTATIONS) + <usize>(phase * 56)
      const offset = <u32>offsetOf(s)
      for (let i: usize = 0; i < <usize>numPairs; i++) {
        const rowCol = load<u32>(pairs + (i << 2))
        const col = ((rowCol & 63) + 56 - offset) & 63
        store<u32>(pairs + (i << 2), (rowCol & ~63) | <u32>load<u8>(perm + <usize>col))
      }
      sortU32(pairs, <usize>numPairs)
    }
    const b = baseBits(<u32>k, numPairs)
    svLen = compressPairs(pairs, numPairs, b, out + <usize>(preInts * 4) + (wLen << 2))
  }
  const format = 4 | (numPairs > 0 ? 2 : 0) | hip
  putFirst8(out, preInts, lgK, fiColOf(s), format)
  store<u32>(out, <u32>c, 8)
  if (numPairs > 0) {
    store<u32>(out, numPairs, 12)
    if (hip) {
      store<f64>(out, kxpOf(s), 16); store<f64>(out, hipOf(s), 24)
      store<u32>(out, <u32>svLen, 32); store<u32>(out, <u32>wLen, 36)
    } else {
      store<u32>(out, <u32>svLen, 16); store<u32>(out, <u32>wLen, 20)
    }
  } else {
    store<u32>(out, <u32>wLen, 12)
    if (hip) { store<f64>(out, kxpOf(s), 16); store<f64>(out, hipOf(s), 24) }
  }
  return <usize>(preInts * 4) + ((wLen + svLen) << 2)
}

// --- deserialize ----------------------------------------------------------------------------------------------------

export const ERR_NONE = 0
export const ERR_SHORT = 1
export const ERR_HEADER = 2
export const ERR_SEED = 3
export const ERR_FORMAT = 4
export const ERR_STREAM = 5
export let lastError: i32 = 0

// bit reader state
let inWords: usize = 0
let inEnd: usize = 0
let inIndex: usize = 0
let readOverrun = false

@inline function beginRead (words: usize, n: usize): void {
  inWords = words; inEnd = n; inIndex = 0; bitBuf = 0; bufBits = 0; readOverrun = false
}

@inline function fill (need: i32): void {
  if (bufBits < need) {
    let w: u64 = 0
    if (inIndex < inEnd) w = <u64>load<u32>(inWords + (inIndex << 2))
    else readOverrun = true
    inIndex++
    bitBuf |= w << <u64>bufBits
    bufBits += 32
  }
}

function readUnary (): u32 {
  let total: u32 = 0
  while (true) {
    fill(8)
    const tz = min(8, <i32>ctz<u32>(<u32>(bitBuf & 0xff) | 0x100))
    if (tz == 8) {
      total += 8; bufBits -= 8; bitBuf >>= 8
      if (readOverrun || total > (1 << 27)) { readOverrun = true; return 0 }
      continue
    }
    bufBits -= 1 + tz
    bitBuf >>= <u64>(1 + tz)
    return total + <u32>tz
  }
}

function uncompressWindow (w: usize, k: usize, phase: i32, words: usize, n: usize): void {
  const dec = byteDecoding + <usize>(phase * 8192)
  beginRead(words, n)
  for (let i: usize = 0; i < k; i++) {
    fill(12)
    const e = <u32>load<u16>(dec + (<usize>(bitBuf & 0xfff) << 1))
    const len = e >> 8
    store<u8>(w + i, <u8>e)
    bitBuf >>= <u64>len
    bufBits -= <i32>len
  }
}

function uncompressPairs (pairs: usize, numPairs: u32, b: i32, words: usize, n: usize, rowLimit: u32): void {
  beginRead(words, n)
  const loMask = (<u64>1 << <u64>b) - 1
  let predRow: u32 = 0
  let predCol: u32 = 0
  for (let i: usize = 0; i < <usize>numPairs; i++) {
    fill(12)
    const e = <u32>load<u16>(unaryDecoding + (<usize>(bitBuf & 0xfff) << 1))
    const len = e >> 8
    const dx = e & 0xff
    bitBuf >>= <u64>len
    bufBits -= <i32>len
    const hi = readUnary()
    fill(b)
    const lo = <u32>(bitBuf & loMask)
    bitBuf >>= <u64>b
    bufBits -= b
    const dy = (hi << <u32>b) | lo
    if (dy > 0) predCol = 0
    const row = predRow + dy
    const col = predCol + dx
    if (col > 63 || row >= rowLimit) readOverrun = true
    store<u32>(pairs + (i << 2), (row << 6) | col)
    predRow = row
    predCol = col + 1
  }
}

function tableFromPairs (s: usize, pairs: usize, n: usize): void {
  let lg = 2
  while (n * 4 > (<usize>3 << <usize>lg)) lg++
  newTable(s, lg)
  for (let i: usize = 0; i < n; i++) tableInsert(s, load<u32>(pairs + (i << 2)))
}

const PRE_INTS: StaticArray<u8> = [2, 2, 4, 8, 4, 8, 6, 10]

/** Reads a serialized sketch at `ptr`; returns the new sketch, or 0 with `lastError` set. */
export function deserialize (ptr: usize, len: usize): usize {
  lastError = ERR_NONE
  if (len < 8) { lastError = ERR_SHORT; return 0 }
  const preInts = <i32>load<u8>(ptr)
  const lgK = <i32>load<u8>(ptr, 3)
  const flags = <i32>load<u8>(ptr, 5)
  if (load<u8>(ptr, 1) != 1 || load<u8>(ptr, 2) != 16 || lgK < 4 || lgK > 26 || (flags & 2) == 0) {
    lastError = ERR_HEADER; return 0
  }
  if (load<u16>(ptr, 6) != seedHash) { lastError = ERR_SEED; return 0 }
  const format = (flags >> 2) & 7
  if (preInts != <i32>PRE_INTS[format]) { lastError = ERR_FORMAT; return 0 }
  if (len < <usize>(preInts * 4)) { lastError = ERR_SHORT; return 0 }
  const hip = (format & 1) != 0
  const hasSv = (format & 2) != 0
  const hasWindow = (format & 4) != 0
  let c: u64 = 0
  let numSv: u32 = 0
  let svLen: usize = 0
  let wLen: usize = 0
  let kxp: f64 = <f64>(1 << lgK)
  let hipAccum: f64 = 0
  let fiCol = 0
  if (format >= 2) c = <u64>load<u32>(ptr, 8)
  if (format == 2 || format == 3) {
    numSv = <u32>c
    svLen = <usize>load<u32>(ptr, 12)
    if (format == 3) { kxp = load<f64>(ptr, 16); hipAccum = load<f64>(ptr, 24) }
  } else if (format == 4 || format == 5) {
    fiCol = load<u8>(ptr, 4)
    wLen = <usize>load<u32>(ptr, 12)
    if (format == 5) { kxp = load<f64>(ptr, 16); hipAccum = load<f64>(ptr, 24) }
  } else if (format == 6) {
    fiCol = load<u8>(ptr, 4)
    numSv = load<u32>(ptr, 12); svLen = <usize>load<u32>(ptr, 16); wLen = <usize>load<u32>(ptr, 20)
  } else if (format == 7) {
    fiCol = load<u8>(ptr, 4)
    numSv = load<u32>(ptr, 12)
    kxp = load<f64>(ptr, 16); hipAccum = load<f64>(ptr, 24)
    svLen = <usize>load<u32>(ptr, 32); wLen = <usize>load<u32>(ptr, 36)
  }
  if (<u64>len < 4 * (<u64>preInts + <u64>svLen + <u64>wLen)) { lastError = ERR_SHORT; return 0 }
  if ((hasSv && svLen == 0) || (hasWindow && wLen == 0)) { lastError = ERR_FORMAT; return 0 }
  const flavor = flavorOf(lgK, c)
  const windowed = flavor == FLAVOR_PINNED || flavor == FLAVOR_SLIDING
  if ((flavor == FLAVOR_EMPTY && format > 1) || (flavor != FLAVOR_EMPTY && format <= 1) ||
      (windowed != hasWindow) || (!windowed && flavor != FLAVOR_EMPTY && !hasSv) || fiCol > 63) {
    lastError = ERR_FORMAT; return 0
  }
  const k = <usize>1 << <usize>lgK
  const wStream = ptr + <usize>(preInts * 4)
  const svStream = wStream + (wLen << 2)

  const s = newSketch(lgK)
  setMergeFlag(s, !hip)
  setCoupons(s, <u32>c)
  setKxp(s, kxp)
  setHip(s, hipAccum)
  const offset = offsetFor(lgK, c)
  setOffset(s, offset)
  let bad = false
  if (flavor == FLAVOR_SPARSE || flavor == FLAVOR_HYBRID) {
    const pairs = ensurePairs(<usize>numSv)
    uncompressPairs(pairs, numSv, baseBits(<u32>k, numSv), svStream, svLen, <u32>k)
    bad = readOverrun
    if (bad) {
      // fall through to the error below without touching the table
    } else if (flavor == FLAVOR_SPARSE) {
      tableFromPairs(s, pairs, <usize>numSv)
    } else {
      const w = alloc(k)
      memory.fill(w, 0, k)
      setWindow(s, w)
      let kept: usize = 0
      for (let i: usize = 0; i < <usize>numSv; i++) {
        const rowCol = load<u32>(pairs + (i << 2))
        const col = rowCol & 63
        if (col < 8) {
          const p = w + <usize>(rowCol >> 6)
          store<u8>(p, load<u8>(p) | <u8>(<u32>1 << col))
        } else {
          store<u32>(pairs + (kept << 2), rowCol); kept++
        }
      }
      tableFromPairs(s, pairs, kept)
    }
  } else if (windowed) {
    setFiCol(s, fiCol)
    const w = alloc(k)
    setWindow(s, w)
    uncompressWindow(w, k, pseudoPhase(lgK, c), wStream, wLen)
    bad = readOverrun
    if (numSv == 0) {
      newTable(s, 2)
    } else {
      const pairs = ensurePairs(<usize>numSv)
      uncompressPairs(pairs, numSv, baseBits(<u32>k, numSv), svStream, svLen, <u32>k)
      bad = bad || readOverrun
      if (flavor == FLAVOR_PINNED) {
        for (let i: usize = 0; i < <usize>numSv; i++) store<u32>(pairs + (i << 2), load<u32>(pairs + (i << 2)) + 8)
      } else {
        const perm = permDecoding + <usize>(pseudoPhase(lgK, c) * 56)
        for (let i: usize = 0; i < <usize>numSv; i++) {
          const rowCol = load<u32>(pairs + (i << 2))
          const col = (<u32>load<u8>(perm + <usize>min(rowCol & 63, 55)) + <u32>offset + 8) & 63
          store<u32>(pairs + (i << 2), (rowCol & ~63) | col)
        }
      }
      if (!bad) tableFromPairs(s, pairs, <usize>numSv)
    }
  }
  if (bad) { freeSketch(s); lastError = ERR_STREAM; return 0 }
  return s
}

