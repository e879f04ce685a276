// Frequent items sketch (DataSketches ItemsSketch<T> for T = String, Long, Double), state- and byte-compatible with
// com.yahoo.sketches.frequencies 0.13.4 and org.apache.datasketches.frequencies 6.x.
//
// The sketch is a "reverse purge" hash map: linear probing over a power-of-two table whose slots record their drift
// from the home slot; when the table is at its maximum size and over its load threshold, the median of the first
// `sampleSize` counts (in slot order) is subtracted from every count and the non-positive entries are deleted (with
// back-shifting deletion), the median going to the sketch's error offset. The home slot is Java's hashCode of the
// item, sign-extended and mixed with MurmurHash3's 64-bit finalizer. Every rule that decides slot positions is
// reproduced (probe order, deletion order, resize re-insertion order, the golden-ratio iteration order used by merge
// and by getFrequentItems), so layouts, purges and bytes come out exactly as in Java.
//
// Keys: longs are stored as i64, doubles as their IEEE bits (NaN canonicalized by the host, as Double.equals and
// hashCode do), strings as a block {u32 length, UTF-16 code units} allocated from sketch-heap.ts. Java's String
// hashCode and equality are over UTF-16 code units, so keeping UTF-16 makes both direct; UTF-8 is produced only when
// serializing (unpaired surrogates become '?', as String.getBytes(UTF_8) does).
//
// Every entry of asconfig.json ends up in every module the build makes, so all exports carry an fi_ prefix.

import { heapAlloc, heapFree, heapLiveBytes, heapTop } from './sketch-heap'

export function fi_alloc (size: usize): usize { return heapAlloc(size) }
export function fi_dealloc (ptr: usize): void { heapFree(ptr) }
export function fi_heap_live_bytes (): usize { return heapLiveBytes() }
export function fi_heap_top (): usize { return heapTop() }

const TYPE_STRING: u8 = 0
const TYPE_LONG: u8 = 1
const TYPE_DOUBLE: u8 = 2
const FLAVOUR_YAHOO: u8 = 0

const LG_MIN_MAP_SIZE: i32 = 3
const SAMPLE_SIZE: i32 = 1024

// ---- sketch header (64 bytes) -------------------------------------------------------------------------------------
const S_TYPE: usize = 0 // u8
const S_FLAVOUR: usize = 1 // u8
const S_LGMAX: usize = 4 // i32, at least 3
const S_CURCAP: usize = 8 // i32, purge/resize threshold of the current table
const S_SAMPLE: usize = 12 // i32
const S_OFFSET: usize = 16 // i64
const S_WEIGHT: usize = 24 // i64 stream weight
const S_LGLEN: usize = 32 // i32
const S_ACTIVE: usize = 36 // i32
const S_KEYS: usize = 40 // u32 -> i64[len] (long/double) or u32[len] string blocks
const S_VALUES: usize = 44 // u32 -> i64[len]
const S_STATES: usize = 48 // u32 -> u16[len] drift (0 = empty)
const S_HASHES: usize = 52 // u32 -> i32[len] Java hashCode of each key
const S_SIZE: usize = 64

@inline function len (h: usize): i32 { return 1 << load<i32>(h + S_LGLEN) }
@inline function keysP (h: usize): usize { return <usize>load<u32>(h + S_KEYS) }
@inline function valuesP (h: usize): usize { return <usize>load<u32>(h + S_VALUES) }
@inline function statesP (h: usize): usize { return <usize>load<u32>(h + S_STATES) }
@inline function hashesP (h: usize): usize { return <usize>load<u32>(h + S_HASHES) }
@inline function state (h: usize, i: i32): i32 { return <i32>load<u16>(statesP(h) + (<usize>i << 1)) }
@inline function setState (h: usize, i: i32, v: i32): void { store<u16>(statesP(h) + (<usize>i << 1), <u16>v) }
@inline function value (h: usize, i: i32): i64 { return load<i64>(valuesP(h) + (<usize>i << 3)) }
@inline function setValue (h: usize, i: i32, v: i64): void { store<i64>(valuesP(h) + (<usize>i << 3), v) }
@inline function hashAt (h: usize, i: i32): i32 { return load<i32>(hashesP(h) + (<usize>i << 2)) }
@inline function isString (h: usize): bool { return load<u8>(h + S_TYPE) == TYPE_STRING }
// A key slot holds an i64 (long/double bits) or, for strings, a block pointer in the low 32 bits.
@inline function keyAt (h: usize, i: i32): i64 { return load<i64>(keysP(h) + (<usize>i << 3)) }
@inline function setKey (h: usize, i: i32, k: i64): void { store<i64>(keysP(h) + (<usize>i << 3), k) }
@inline function setHash (h: usize, i: i32, v: i32): void { store<i32>(hashesP(h) + (<usize>i << 2), v) }

/** DataSketches frequencies Util.hash: MurmurHash3 fmix64 of the sign-extended hashCode. */
@inline function homeSlot (hashCode: i32, mask: i32): i32 {
  let k = <u64><i64>hashCode
  k ^= k >>> 33
  k *= 0xff51afd7ed558ccd
  k ^= k >>> 33
  k *= 0xc4ceb9fe1a85ec53
  k ^= k >>> 33
  return <i32>k & mask
}

// ---- strings ------------------------------------------------------------------------------------------------------
@inline function strLen (block: usize): i32 { return load<i32>(block) }
@inline function strChars (block: usize): usize { return block + 4 }

function newString (chars: usize, n: i32): usize {
  const b = heapAlloc(4 + (<usize>n << 1))
  store<i32>(b, n)
  memory.copy(b + 4, chars, <usize>n << 1)
  return b
}

/** java.lang.String.hashCode over UTF-16 code units. */
function stringHash (chars: usize, n: i32): i32 {
  let h: i32 = 0
  for (let i = 0; i < n; i++) h = 31 * h + <i32>load<u16>(chars + (<usize>i << 1))
  return h
}

@inline function stringEquals (block: usize, chars: usize, n: i32): bool {
  return strLen(block) == n && memory.compare(strChars(block), chars, <usize>n << 1) == 0
}

// ---- table --------------------------------------------------------------------------------------------------------
function allocTable (h: usize, lg: i32): void {
  const n = 1 << lg
  const k = heapAlloc(<usize>n << 3)
  const v = heapAlloc(<usize>n << 3)
  const s = heapAlloc(<usize>n << 1)
  const hs = heapAlloc(<usize>n << 2)
  memory.fill(s, 0, <usize>n << 1)
  store<u32>(h + S_KEYS, <u32>k)
  store<u32>(h + S_VALUES, <u32>v)
  store<u32>(h + S_STATES, <u32>s)
  store<u32>(h + S_HASHES, <u32>hs)
  store<i32>(h + S_LGLEN, lg)
  store<i32>(h + S_ACTIVE, 0)
}

function freeTable (keys: usize, values: usize, states: usize, hashes: usize): void {
  heapFree(keys); heapFree(values); heapFree(states); heapFree(hashes)
}

// The probe loop of adjustOrPutValue, for the three key kinds. Returns the slot: an empty one (state 0) or the
// key's. `drift` of the final probe is left in probeDrift.
let probeDrift: i32 = 0

function probeNumber (h: usize, key: i64, hashCode: i32): i32 {
  const mask = len(h) - 1
  let probe = homeSlot(hashCode, mask)
  let drift = 1
  while (state(h, probe) != 0 && keyAt(h, probe) != key) {
    probe = (probe + 1) & mask
    drift++
  }
  probeDrift = drift
  return probe
}

function probeString (h: usize, chars: usize, n: i32, hashCode: i32): i32 {
  const mask = len(h) - 1
  let probe = homeSlot(hashCode, mask)
  let drift = 1
  while (state(h, probe) != 0 && !(hashAt(h, probe) == hashCode && stringEquals(<usize>keyAt(h, probe), chars, n))) {
    probe = (probe + 1) & mask
    drift++
  }
  probeDrift = drift
  return probe
}

/** Inserts a key that is known to be absent (resize): keeps the given key storage (string blocks move as is). */
function putAbsent (h: usize, key: i64, hashCode: i32, count: i64): void {
  const mask = len(h) - 1
  let probe = homeSlot(hashCode, mask)
  let drift = 1
  while (state(h, probe) != 0) {
    probe = (probe + 1) & mask
    drift++
  }
  setKey(h, probe, key)
  setHash(h, probe, hashCode)
  setValue(h, probe, count)
  setState(h, probe, drift)
  store<i32>(h + S_ACTIVE, load<i32>(h + S_ACTIVE) + 1)
}

function resize (h: usize, newLg: i32): void {
  const oldLen = len(h)
  const oK = keysP(h); const oV = valuesP(h); const oS = statesP(h); const oH = hashesP(h)
  allocTable(h, newLg)
  for (let i = 0; i < oldLen; i++) {
    if (load<u16>(oS + (<usize>i << 1)) > 0) {
      putAbsent(h, load<i64>(oK + (<usize>i << 3)), load<i32>(oH + (<usize>i << 2)), load<i64>(oV + (<usize>i << 3)))
    }
  }
  freeTable(oK, oV, oS, oH)
  store<i32>(h + S_CURCAP, <i32>(<f64>(1 << newLg) * 0.75))
}

/** Deletes the entry at deleteProbe and shifts later entries of its cluster back (DataSketches hashDelete). */
function hashDelete (h: usize, deleteProbe: i32): void {
  setState(h, deleteProbe, 0)
  let drift = 1
  const mask = len(h) - 1
  let probe = (deleteProbe + drift) & mask
  while (state(h, probe) != 0) {
    if (state(h, probe) > drift) {
      setKey(h, deleteProbe, keyAt(h, probe))
      setHash(h, deleteProbe, hashAt(h, probe))
      setValue(h, deleteProbe, value(h, probe))
      setState(h, deleteProbe, state(h, probe) - drift)
      setState(h, probe, 0)
      drift = 0
      deleteProbe = probe
    }
    probe = (probe + 1) & mask
    drift++
  }
}

function deleteAt (h: usize, probe: i32): void {
  if (isString(h)) heapFree(<usize>keyAt(h, probe))
  hashDelete(h, probe)
  store<i32>(h + S_ACTIVE, load<i32>(h + S_ACTIVE) - 1)
}

function keepOnlyPositiveCounts (h: usize): void {
  const n = len(h)
  // start just below the last empty slot so that no cluster wraps under the scan, then do the wrapped tail
  let first = n - 1
  while (state(h, first) > 0) first--
  for (let probe = first; probe-- > 0;) {
    if (state(h, probe) > 0 && value(h, probe) <= 0) deleteAt(h, probe)
  }
  for (let probe = n; probe-- > first;) {
    if (state(h, probe) > 0 && value(h, probe) <= 0) deleteAt(h, probe)
  }
}

// scratch for the purge sample (at most SAMPLE_SIZE longs)
const sample = memory.data(8 * SAMPLE_SIZE, 8)

@inline function sAt (i: i32): i64 { return load<i64>(sample + (<usize>i << 3)) }
@inline function sSet (i: i32, v: i64): void { store<i64>(sample + (<usize>i << 3), v) }

/**
 * k-th smallest (0-based) of sample[0..n): the value QuickSelect.select returns (any selection algorithm gives the
 * same value). Three-way partitioning keeps runs of equal counts (very common: many items seen once) linear.
 */
function selectKth (n: i32, kth: i32): i64 {
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const pv = sAt(lo + ((hi - lo) >> 1))
    let lt = lo
    let gt = hi
    let i = lo
    while (i <= gt) {
      const v = sAt(i)
      if (v < pv) { sSet(i, sAt(lt)); sSet(lt, v); lt++; i++ } else if (v > pv) { sSet(i, sAt(gt)); sSet(gt, v); gt-- } else i++
    }
    if (kth < lt) hi = lt - 1
    else if (kth > gt) lo = gt + 1
    else return pv
  }
  return sAt(lo)
}

function purge (h: usize): i64 {
  const active = load<i32>(h + S_ACTIVE)
  const ss = load<i32>(h + S_SAMPLE)
  const limit = ss < active ? ss : active
  let got = 0
  let i = 0
  while (got < limit) {
    if (state(h, i) > 0) { store<i64>(sample + (<usize>got << 3), value(h, i)); got++ }
    i++
  }
  const val = selectKth(got, limit / 2)
  const n = len(h)
  for (let j = 0; j < n; j++) if (state(h, j) > 0) setValue(h, j, value(h, j) - val)
  keepOnlyPositiveCounts(h)
  return val
}

/** After an insertion: grow the table, or purge once it has reached its maximum size. */
function afterInsert (h: usize): void {
  if (load<i32>(h + S_ACTIVE) > load<i32>(h + S_CURCAP)) {
    const lg = load<i32>(h + S_LGLEN)
    if (lg < load<i32>(h + S_LGMAX)) resize(h, lg + 1)
    else store<i64>(h + S_OFFSET, load<i64>(h + S_OFFSET) + purge(h))
  }
}

function updateNumber (h: usize, key: i64, hashCode: i32, count: i64): void {
  if (count <= 0) return // count 0 is ignored by Java; negative counts are rejected by the host
  store<i64>(h + S_WEIGHT, load<i64>(h + S_WEIGHT) + count)
  const probe = probeNumber(h, key, hashCode)
  if (state(h, probe) == 0) {
    setKey(h, probe, key)
    setHash(h, probe, hashCode)
    setValue(h, probe, count)
    setState(h, probe, probeDrift)
    store<i32>(h + S_ACTIVE, load<i32>(h + S_ACTIVE) + 1)
  } else {
    setValue(h, probe, value(h, probe) + count)
  }
  afterInsert(h)
}

function updateString (h: usize, chars: usize, n: i32, hashCode: i32, count: i64): void {
  if (count <= 0) return
  store<i64>(h + S_WEIGHT, load<i64>(h + S_WEIGHT) + count)
  const probe = probeString(h, chars, n, hashCode)
  if (state(h, probe) == 0) {
    setKey(h, probe, <i64>newString(chars, n))
    setHash(h, probe, hashCode)
    setValue(h, probe, count)
    setState(h, probe, probeDrift)
    store<i32>(h + S_ACTIVE, load<i32>(h + S_ACTIVE) + 1)
  } else {
    setValue(h, probe, value(h, probe) + count)
  }
  afterInsert(h)
}

@inline function longHash (v: i64): i32 { return <i32>(v ^ (v >>> 32)) }

// ---- lifecycle ----------------------------------------------------------------------------------------------------
function createRaw (type: i32, flavour: i32, lgMax: i32, lgCur: i32): usize {
  const h = heapAlloc(S_SIZE)
  if (h == 0) return 0
  memory.fill(h, 0, S_SIZE)
  store<u8>(h + S_TYPE, <u8>type)
  store<u8>(h + S_FLAVOUR, <u8>flavour)
  store<i32>(h + S_LGMAX, lgMax > LG_MIN_MAP_SIZE ? lgMax : LG_MIN_MAP_SIZE)
  const cur = lgCur > LG_MIN_MAP_SIZE ? lgCur : LG_MIN_MAP_SIZE
  allocTable(h, cur)
  store<i32>(h + S_CURCAP, <i32>(<f64>(1 << cur) * 0.75))
  // as in Java, the sample size uses the lgMaxMapSize as given, before it is raised to the minimum of 3
  const maxMapCap = <i32>(<f64>(1 << lgMax) * 0.75)
  store<i32>(h + S_SAMPLE, maxMapCap < SAMPLE_SIZE ? maxMapCap : SAMPLE_SIZE)
  return h
}

/**
 * New empty sketch of `maxMapSize` (a power of two ≥ 2) for item type 0 = String, 1 = Long, 2 = Double. flavour
 * 0 = sketches-core 0.13.4, 1 = datasketches-java 6 (they differ only in the empty sketch's flags byte).
 * Returns 0 if maxMapSize is not a power of two.
 */
export function fi_create (type: i32, maxMapSize: i32, flavour: i32): usize {
  if (maxMapSize <= 0 || (maxMapSize & (maxMapSize - 1)) != 0) return 0
  return createRaw(type, flavour, 31 - clz<i32>(maxMapSize), LG_MIN_MAP_SIZE)
}

export function fi_free (h: usize): void {
  if (h == 0) return
  if (isString(h)) {
    const n = len(h)
    for (let i = 0; i < n; i++) if (state(h, i) > 0) heapFree(<usize>keyAt(h, i))
  }
  freeTable(keysP(h), valuesP(h), statesP(h), hashesP(h))
  heapFree(h)
}

/** Update with a long item given as a double holding an integer (|v| < 2^53), `count` times. */
export function fi_update_long (h: usize, v: f64, count: f64): void {
  const k = <i64>v
  updateNumber(h, k, longHash(k), <i64>count)
}

/** Update with a long item given as two 32-bit halves. */
export function fi_update_long2 (h: usize, lo: u32, hi: u32, count: f64): void {
  const k = <i64>(((<u64>hi) << 32) | <u64>lo)
  updateNumber(h, k, longHash(k), <i64>count)
}

/** Update with a double item (NaN canonicalized as Double.doubleToLongBits does). */
export function fi_update_double (h: usize, v: f64, count: f64): void {
  const bits = isNaN(v) ? <i64>0x7ff8000000000000 : reinterpret<i64>(v)
  updateNumber(h, bits, longHash(bits), <i64>count)
}

/** Update with a string item: `n` UTF-16 code units at `chars` (written there by the host). */
export function fi_update_string (h: usize, chars: usize, n: i32, count: f64): void {
  updateString(h, chars, n, stringHash(chars, n), <i64>count)
}

/** Same, with the Java hashCode already computed by the host. */
export function fi_update_string_hashed (h: usize, chars: usize, n: i32, hashCode: i32, count: f64): void {
  updateString(h, chars, n, hashCode, <i64>count)
}

// ---- iteration (golden-ratio stride, as ReversePurgeItemHashMap.Iterator) ----------------------------------------
const GOLDEN_RATIO_RECIPROCAL: f64 = (Math.sqrt(5.0) - 1.0) / 2.0

/**
 * Writes the slots of the active entries in Java's iteration order to out (i32 each) and returns their number.
 * This is the order of merge and of getFrequentItems' rows before their (stable) sort.
 */
export function fi_iteration_order (h: usize, out: usize): i32 {
  const n = len(h)
  const active = load<i32>(h + S_ACTIVE)
  const stride = <i32>(<f64>n * GOLDEN_RATIO_RECIPROCAL) | 1
  const mask = n - 1
  let i = -stride
  let count = 0
  while (count < active) {
    i = (i + stride) & mask
    while (state(h, i) <= 0) i = (i + stride) & mask
    store<i32>(out + (<usize>count << 2), i)
    count++
  }
  return count
}

const orderBuf = memory.data(4 * 16, 8)

/** Merges o into h (o unchanged). Returns 1 if the item types differ or h == o, else 0. */
export function fi_merge (h: usize, o: usize): i32 {
  if (h == o || load<u8>(h + S_TYPE) != load<u8>(o + S_TYPE)) return 1
  const active = load<i32>(o + S_ACTIVE)
  if (active == 0) return 0
  const streamLen = load<i64>(h + S_WEIGHT) + load<i64>(o + S_WEIGHT)
  const order = active <= 16 ? orderBuf : heapAlloc(<usize>active << 2)
  fi_iteration_order(o, order)
  const str = isString(o)
  for (let j = 0; j < active; j++) {
    const slot = load<i32>(order + (<usize>j << 2))
    const key = keyAt(o, slot)
    const v = value(o, slot)
    if (str) {
      const b = <usize>key
      updateString(h, strChars(b), strLen(b), hashAt(o, slot), v)
    } else {
      updateNumber(h, key, hashAt(o, slot), v)
    }
  }
  if (order != orderBuf) heapFree(order)
  store<i64>(h + S_OFFSET, load<i64>(h + S_OFFSET) + load<i64>(o + S_OFFSET))
  store<i64>(h + S_WEIGHT, streamLen)
  return 0
}

// ---- serialization ------------------------------------------------------------------------------------------------
/*
 * Serialized form (little endian), as ItemsSketch.toByteArray with ArrayOf{Strings,Longs,Doubles}SerDe:
 *
 *   byte 0      preamble longs: 1 (empty) | 4
 *   byte 1      serial version 1
 *   byte 2      family id 10 (FREQUENCY)
 *   byte 3      lg max map size (at least 3)
 *   byte 4      lg current map size
 *   byte 5      flags: 0, or for an empty sketch 4 (sketches-core 0.13.4) / 5 (datasketches-java 6)
 *   bytes 6-7   0
 *   empty: nothing more (8 bytes)
 *   bytes 8-11  number of active items A (i32); bytes 12-15 0
 *   bytes 16-23 stream weight (i64)
 *   bytes 24-31 offset = maximum error (i64)
 *   then        A counts (i64), in table slot order
 *   then        A items, same order: Long / Double as 8 bytes (i64 / f64 bits); String as i32 UTF-8 byte length
 *               followed by the UTF-8 bytes
 */
function utf8Len (block: usize): i32 {
  const n = strLen(block)
  const p = strChars(block)
  let bytes = 0
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1))
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(<i32>load<u16>(p + (<usize>(i + 1) << 1)))) { bytes += 4; i++ }
    else if (c >= 0xd800 && c <= 0xdfff) bytes += 1 // unpaired surrogate → '?'
    else bytes += 3
  }
  return bytes
}

@inline function isLow (c: i32): bool { return c >= 0xdc00 && c <= 0xdfff }

function writeUtf8 (block: usize, dst: usize): usize {
  const n = strLen(block)
  const p = strChars(block)
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1))
    if (c < 0x80) { store<u8>(dst++, <u8>c) }
    else if (c < 0x800) { store<u8>(dst++, <u8>(0xc0 | (c >> 6))); store<u8>(dst++, <u8>(0x80 | (c & 0x3f))) }
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(<i32>load<u16>(p + (<usize>(i + 1) << 1)))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (<i32>load<u16>(p + (<usize>(i + 1) << 1)) - 0xdc00)
      i++
      store<u8>(dst++, <u8>(0xf0 | (cp >> 18)))
      store<u8>(dst++, <u8>(0x80 | ((cp >> 12) & 0x3f)))
      store<u8>(dst++, <u8>(0x80 | ((cp >> 6) & 0x3f)))
      store<u8>(dst++, <u8>(0x80 | (cp & 0x3f)))
    } else if (c >= 0xd800 && c <= 0xdfff) { store<u8>(dst++, 0x3f) }
    else {
      store<u8>(dst++, <u8>(0xe0 | (c >> 12)))
      store<u8>(dst++, <u8>(0x80 | ((c >> 6) & 0x3f)))
      store<u8>(dst++, <u8>(0x80 | (c & 0x3f)))
    }
  }
  return dst
}

export function fi_serialized_size (h: usize): i32 {
  const active = load<i32>(h + S_ACTIVE)
  if (active == 0) return 8
  let bytes = 32 + active * 8
  if (isString(h)) {
    const n = len(h)
    for (let i = 0; i < n; i++) if (state(h, i) > 0) bytes += 4 + utf8Len(<usize>keyAt(h, i))
  } else {
    bytes += active * 8
  }
  return bytes
}

export function fi_serialize (h: usize, dst: usize): void {
  const active = load<i32>(h + S_ACTIVE)
  const empty = active == 0
  store<u64>(dst, 0)
  store<u8>(dst, empty ? 1 : 4)
  store<u8>(dst + 1, 1)
  store<u8>(dst + 2, 10)
  store<u8>(dst + 3, <u8>load<i32>(h + S_LGMAX))
  store<u8>(dst + 4, <u8>load<i32>(h + S_LGLEN))
  store<u8>(dst + 5, empty ? (load<u8>(h + S_FLAVOUR) == FLAVOUR_YAHOO ? 4 : 5) : 0)
  if (empty) return
  store<u64>(dst + 8, <u64><u32>active)
  store<i64>(dst + 16, load<i64>(h + S_WEIGHT))
  store<i64>(dst + 24, load<i64>(h + S_OFFSET))
  const n = len(h)
  let vo = dst + 32
  let ko = vo + (<usize>active << 3)
  const str = isString(h)
  for (let i = 0; i < n; i++) {
    if (state(h, i) <= 0) continue
    store<i64>(vo, value(h, i))
    vo += 8
    if (str) {
      const b = <usize>keyAt(h, i)
      const start = ko + 4
      const end = writeUtf8(b, start)
      store<i32>(ko, <i32>(end - start))
      ko = end
    } else {
      store<i64>(ko, keyAt(h, i))
      ko += 8
    }
  }
}

// decode scratch for one UTF-16 string (grown on demand)
let decodeBuf: usize = 0
let decodeCap: i32 = 0

/** UTF-8 → UTF-16 into decodeBuf (malformed bytes become U+FFFD); returns the number of code units. */
function decodeUtf8 (src: usize, n: i32): i32 {
  if (decodeCap < n) {
    if (decodeBuf != 0) heapFree(decodeBuf)
    decodeCap = n < 64 ? 64 : n
    decodeBuf = heapAlloc(<usize>decodeCap << 1)
  }
  let out = 0
  let i = 0
  while (i < n) {
    const b0 = <i32>load<u8>(src + i)
    let cp = 0xfffd
    let used = 1
    if (b0 < 0x80) { cp = b0 }
    else if (b0 >= 0xc2 && b0 < 0xe0 && i + 1 < n && (load<u8>(src + i + 1) & 0xc0) == 0x80) {
      cp = ((b0 & 0x1f) << 6) | (<i32>load<u8>(src + i + 1) & 0x3f); used = 2
    } else if (b0 >= 0xe0 && b0 < 0xf0 && i + 2 < n && (load<u8>(src + i + 1) & 0xc0) == 0x80 && (load<u8>(src + i + 2) & 0xc0) == 0x80) {
      const c = ((b0 & 0x0f) << 12) | ((<i32>load<u8>(src + i + 1) & 0x3f) << 6) | (<i32>load<u8>(src + i + 2) & 0x3f)
      if (c >= 0x800 && (c < 0xd800 || c > 0xdfff)) { cp = c; used = 3 }
    } else if (b0 >= 0xf0 && b0 < 0xf5 && i + 3 < n && (load<u8>(src + i + 1) & 0xc0) == 0x80 &&
      (load<u8>(src + i + 2) & 0xc0) == 0x80 && (load<u8>(src + i + 3) & 0xc0) == 0x80) {
      const c = ((b0 & 0x07) << 18) | ((<i32>load<u8>(src + i + 1) & 0x3f) << 12) |
        ((<i32>load<u8>(src + i + 2) & 0x3f) << 6) | (<i32>load<u8>(src + i + 3) & 0x3f)
      if (c >= 0x10000 && c <= 0x10ffff) { cp = c; used = 4 }
    }
    i += used
    if (cp >= 0x10000) {
      const v = cp - 0x10000
      store<u16>(decodeBuf + (<usize>out << 1), <u16>(0xd800 + (v >> 10))); out++
      store<u16>(decodeBuf + (<usize>out << 1), <u16>(0xdc00 + (v & 0x3ff))); out++
    } else {
      store<u16>(decodeBuf + (<usize>out << 1), <u16>cp); out++
    }
  }
  return out
}

/**
 * Validates serialized bytes for item type `type`: 0 if fine, else 1 too short, 2 bad preamble longs, 3 bad serial
 * version, 4 wrong family, 5 empty flag inconsistent with preamble, 6 bad map sizes, 7 corrupt item data.
 */
export function fi_check (src: usize, len_: i32, type: i32): i32 {
  if (len_ < 8) return 1
  const preLongs = load<u8>(src)
  const empty = (load<u8>(src + 5) & 5) != 0
  if (preLongs != 1 && preLongs != 4) return 2
  if (load<u8>(src + 1) != 1) return 3
  if (load<u8>(src + 2) != 10) return 4
  if (empty != (preLongs == 1)) return 5
  const lgMax = <i32>load<u8>(src + 3)
  const lgCur = <i32>load<u8>(src + 4)
  if (lgMax > 30 || lgCur > 30 || lgCur > (lgMax > 3 ? lgMax : 3)) return 6
  if (empty) return 0
  if (len_ < 32) return 1
  const active = load<i32>(src + 8)
  if (active < 0 || active > (1 << (lgCur > 3 ? lgCur : 3))) return 7
  let off = 32 + active * 8
  if (len_ < off) return 1
  for (let i = 0; i < active; i++) if (load<i64>(src + 32 + (<usize>i << 3)) <= 0) return 7
  if (type == TYPE_STRING) {
    for (let i = 0; i < active; i++) {
      if (off + 4 > len_) return 1
      const n = load<i32>(src + off)
      if (n < 0 || off + 4 + n > len_) return 1
      off += 4 + n
    }
  } else if (off + active * 8 > len_) return 1
  return 0
}

/** ItemsSketch.getInstance: rebuilds by re-inserting the items in serialized order. Returns 0 on bad bytes. */
export function fi_deserialize (src: usize, len_: i32, type: i32, flavour: i32): usize {
  if (fi_check(src, len_, type) != 0) return 0
  const lgMax = <i32>load<u8>(src + 3)
  const lgCur = <i32>load<u8>(src + 4)
  if (load<u8>(src) == 1) return createRaw(type, flavour, lgMax, LG_MIN_MAP_SIZE)
  const h = createRaw(type, flavour, lgMax, lgCur)
  const active = load<i32>(src + 8)
  let ko = src + 32 + (<usize>active << 3)
  for (let i = 0; i < active; i++) {
    const count = load<i64>(src + 32 + (<usize>i << 3))
    if (type == TYPE_STRING) {
      const n = load<i32>(ko)
      const units = decodeUtf8(ko + 4, n)
      updateString(h, decodeBuf, units, stringHash(decodeBuf, units), count)
      ko += 4 + n
    } else {
      let k = load<i64>(ko)
      if (type == TYPE_DOUBLE && isNaN(reinterpret<f64>(k))) k = 0x7ff8000000000000
      updateNumber(h, k, longHash(k), count)
      ko += 8
    }
  }
  store<i64>(h + S_WEIGHT, load<i64>(src + 16))
  store<i64>(h + S_OFFSET, load<i64>(src + 24))
  return h
}

// ---- accessors (host reads keys through these and the typed views) ------------------------------------------------
export function fi_type (h: usize): i32 { return <i32>load<u8>(h + S_TYPE) }
export function fi_num_active (h: usize): i32 { return load<i32>(h + S_ACTIVE) }
export function fi_stream_weight (h: usize): f64 { return <f64>load<i64>(h + S_WEIGHT) }
export function fi_offset (h: usize): f64 { return <f64>load<i64>(h + S_OFFSET) }
export function fi_lg_max (h: usize): i32 { return load<i32>(h + S_LGMAX) }
export function fi_lg_cur (h: usize): i32 { return load<i32>(h + S_LGLEN) }
export function fi_sample_size (h: usize): i32 { return load<i32>(h + S_SAMPLE) }
export function fi_keys_ptr (h: usize): usize { return keysP(h) }
export function fi_values_ptr (h: usize): usize { return valuesP(h) }
/** Count (lower bound) of the entry in `slot`; its estimate is this plus the offset. */
export function fi_value (h: usize, slot: i32): f64 { return <f64>value(h, slot) }
export function fi_key_lo (h: usize, slot: i32): u32 { return <u32>keyAt(h, slot) }
export function fi_key_hi (h: usize, slot: i32): u32 { return <u32>(keyAt(h, slot) >>> 32) }
export function fi_key_f64 (h: usize, slot: i32): f64 { return reinterpret<f64>(keyAt(h, slot)) }
/** String entries: pointer to the UTF-16 code units and their number. */
export function fi_key_chars (h: usize, slot: i32): usize { return strChars(<usize>keyAt(h, slot)) }
export function fi_key_length (h: usize, slot: i32): i32 { return strLen(<usize>keyAt(h, slot)) }
/** Heap bytes held by one sketch (header, table and string blocks). */
export function fi_memory_bytes (h: usize): i32 {
  const n = len(h)
  let b = <i32>S_SIZE + n * 22
  if (isString(h)) for (let i = 0; i < n; i++) if (state(h, i) > 0) b += 4 + strLen(<usize>keyAt(h, i)) * 2
  return b
}

/**
 * An exact copy (same table layout, so the same iteration order and future purges). Chronon's own clone goes through
 * the bytes instead (see the host); this is for code paths where Chronon mutates the sketch it was given.
 */
export function fi_copy (h: usize): usize {
  const n = len(h)
  const c = heapAlloc(S_SIZE)
  memory.copy(c, h, S_SIZE)
  const k = heapAlloc(<usize>n << 3)
  const v = heapAlloc(<usize>n << 3)
  const s = heapAlloc(<usize>n << 1)
  const hs = heapAlloc(<usize>n << 2)
  memory.copy(k, keysP(h), <usize>n << 3)
  memory.copy(v, valuesP(h), <usize>n << 3)
  memory.copy(s, statesP(h), <usize>n << 1)
  memory.copy(hs, hashesP(h), <usize>n << 2)
  store<u32>(c + S_KEYS, <u32>k)
  store<u32>(c + S_VALUES, <u32>v)
  store<u32>(c + S_STATES, <u32>s)
  store<u32>(c + S_HASHES, <u32>hs)
  if (isString(h)) {
    for (let i = 0; i < n; i++) {
      if (state(h, i) > 0) {
        const b = <usize>keyAt(h, i)
        setKey(c, i, <i64>newString(strChars(b), strLen(b)))
      }
    }
  }
  return c
}
