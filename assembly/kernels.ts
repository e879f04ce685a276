// Aggregation kernels: fold one batch of rows into the per-(key, tile) IR state of one tile part.
//
// Memory is owned by the host (the worker's TypeScript side), shared and imported; these functions never
// allocate. The host lays out, at addresses it chooses:
//
//   entries  i32[n]   state entry index of each row (the (key, tile) the row belongs to)
//   ts       f64[n]   event time of each row (ms)
//   vals     f64[n]   the part's input value of each row (longs are exact below 2^53)
//   valid    u8[n]    1 when the input is not null
//   state    entry e's IR for this part starts at state + e * stride + off
//
// IR cell layouts (8-byte aligned; `set` is an i32 that is 0 until the first value):
//   COUNT        [i64 count]
//   SUM long     [i64 sum][i32 set]            SUM double   [f64 sum][i32 set]
//   AVERAGE      [f64 sum][i64 count]
//   VARIANCE     [i64 count][f64 mean][f64 m2]                      (Welford, Chronon's operation order)
//   MIN/MAX      [f64|i64 value][i32 set]                          (double: java.lang.Math.min/max semantics)
//   FIRST/LAST   [i64 ts][f64|i64 payload][i32 set]                (ties keep the earlier row)

@inline function cell (state: usize, entries: usize, r: i32, stride: i32, off: i32): usize {
  return state + <usize>load<i32>(entries + (<usize>r << 2)) * <usize>stride + <usize>off
}

export function count (n: i32, entries: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    store<i64>(p, load<i64>(p) + 1)
  }
}

export function sumLong (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    store<i64>(p, load<i64>(p) + i64(load<f64>(vals + (<usize>r << 3))))
    store<i32>(p + 8, 1)
  }
}

export function sumDouble (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    store<f64>(p, load<f64>(p) + load<f64>(vals + (<usize>r << 3)))
    store<i32>(p + 8, 1)
  }
}

export function average (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    store<f64>(p, load<f64>(p) + load<f64>(vals + (<usize>r << 3)))
    store<i64>(p + 8, load<i64>(p + 8) + 1)
  }
}

export function variance (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    const x = load<f64>(vals + (<usize>r << 3))
    const count = load<i64>(p) + 1
    const mean = load<f64>(p + 8)
    const delta = x - mean
    const mean2 = mean + delta / f64(count)
    const delta2 = x - mean2
    store<i64>(p, count)
    store<f64>(p + 8, mean2)
    store<f64>(p + 16, load<f64>(p + 16) + delta * delta2)
  }
}

export function maxDouble (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    const x = load<f64>(vals + (<usize>r << 3))
    store<f64>(p, load<i32>(p + 8) == 0 ? x : max<f64>(load<f64>(p), x))
    store<i32>(p + 8, 1)
  }
}

export function minDouble (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    const x = load<f64>(vals + (<usize>r << 3))
    store<f64>(p, load<i32>(p + 8) == 0 ? x : min<f64>(load<f64>(p), x))
    store<i32>(p + 8, 1)
  }
}

export function maxLong (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    const x = i64(load<f64>(vals + (<usize>r << 3)))
    if (load<i32>(p + 8) == 0 || x > load<i64>(p)) store<i64>(p, x)
    store<i32>(p + 8, 1)
  }
}

export function minLong (n: i32, entries: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    const x = i64(load<f64>(vals + (<usize>r << 3)))
    if (load<i32>(p + 8) == 0 || x < load<i64>(p)) store<i64>(p, x)
    store<i32>(p + 8, 1)
  }
}

/** FIRST (last == 0) or LAST (last == 1) with a numeric payload stored as f64 (doubles) or i64 (integers). */
export function firstLast (n: i32, entries: usize, ts: usize, vals: usize, valid: usize, state: usize, stride: i32, off: i32, last: i32, integral: i32): void {
  for (let r = 0; r < n; r++) {
    if (load<u8>(valid + <usize>r) == 0) continue
    const p = cell(state, entries, r, stride, off)
    const t = i64(load<f64>(ts + (<usize>r << 3)))
    const seen = load<i32>(p + 16) != 0
    const stored = load<i64>(p)
    const wins = !seen || (last != 0 ? t > stored : t < stored)
    if (!wins) continue
    store<i64>(p, t)
    const x = load<f64>(vals + (<usize>r << 3))
    if (integral != 0) store<i64>(p + 8, i64(x))
    else store<f64>(p + 8, x)
    store<i32>(p + 16, 1)
  }
}

/** Zeroes `bytes` bytes from `ptr` (a freed or new entry's IR region). */
export function clear (ptr: usize, bytes: i32): void {
  memory.fill(ptr, 0, <usize>bytes)
}

// ---- tile encoding ------------------------------------------------------------------------------------------------
//
// encodeTiles writes, for each entry in `list`, one record of the put batch format (src/sink/tile-puts.ts):
//
//   u16 key length | key bytes | f64 tile start | u32 value length | tile value (Avro, see src/codec/tile.ts)
//
// for GroupBys whose every tile part is a kernel part. The entry's key and tile start are kept inside its state at
// `meta` (f64 tile start | u8 key length | key bytes ≤ 31). Parts are described by `desc`, 3 × i32 per part in
// tile order: kind, byte offset in the entry, value kind (0 long, 1 double, 2 float). Returns the bytes written, or
// -1 when `cap` bytes would not hold them all (the caller encodes fewer entries at a time).

// @ts-ignore: decorator
@inline function zigzag (p: usize, v: i64): usize {
  let u = <u64>((v << 1) ^ (v >> 63))
  while (u >= 0x80) {
    store<u8>(p, <u8>(u & 0x7f) | 0x80)
    p++
    u >>= 7
  }
  store<u8>(p, <u8>u)
  return p + 1
}

// @ts-ignore: decorator
@inline function value (p: usize, cell: usize, vk: i32): usize {
  if (vk == 1) { store<f64>(p, load<f64>(cell)); return p + 8 }
  if (vk == 2) { store<f32>(p, <f32>load<f64>(cell)); return p + 4 }
  return zigzag(p, load<i64>(cell))
}

export function encodeTiles (n: i32, list: usize, state: usize, stride: i32, meta: i32, desc: usize, parts: i32, out: usize, cap: i32, complete: i32): i32 {
  let p = out
  const end = out + <usize>cap
  for (let i = 0; i < n; i++) {
    const base = state + <usize>load<i32>(list + (<usize>i << 2)) * <usize>stride
    const m = base + <usize>meta
    const keyLen = <i32>load<u8>(m + 8)
    // Worst case of one record: header + key + every part at its largest (3 varints of 10 bytes + 2 doubles).
    if (p + <usize>(16 + keyLen + parts * 40 + 8) > end) return -1
    store<u8>(p, <u8>(keyLen & 0xff)); store<u8>(p + 1, 0)
    memory.copy(p + 2, m + 9, <usize>keyLen)
    p += 2 + <usize>keyLen
    store<f64>(p, load<f64>(m))
    p += 8
    const lenAt = p
    p += 4
    const valueStart = p
    store<u8>(p, 2); p++ // collapsedIr present
    for (let j = 0; j < parts; j++) {
      const d = desc + <usize>(j * 12)
      const kind = load<i32>(d)
      const cell = base + <usize>load<i32>(d + 4)
      const vk = load<i32>(d + 8)
      if (kind == 0) { // COUNT [i64]
        const c = load<i64>(cell)
        if (c == 0) { store<u8>(p, 0); p++ } else { store<u8>(p, 2); p = zigzag(p + 1, c) }
      } else if (kind == 1 || kind == 5 || kind == 2 || kind == 6) { // SUM / MIN / MAX [value][i32 set]
        if (load<i32>(cell + 8) == 0) { store<u8>(p, 0); p++ } else { store<u8>(p, 2); p = value(p + 1, cell, vk) }
      } else if (kind == 3) { // AVERAGE [f64 sum][i64 count]
        const c = load<i64>(cell + 8)
        if (c == 0) { store<u8>(p, 0); p++ } else {
          store<u8>(p, 2); store<u8>(p + 1, 2); store<f64>(p + 2, load<f64>(cell)); store<u8>(p + 10, 2)
          p = zigzag(p + 11, c)
        }
      } else if (kind == 4) { // VARIANCE [i64 count][f64 mean][f64 m2]
        const c = load<i64>(cell)
        if (c == 0) { store<u8>(p, 0); p++ } else {
          store<u8>(p, 2); store<u8>(p + 1, 2)
          p = zigzag(p + 2, c)
          store<u8>(p, 2); store<f64>(p + 1, load<f64>(cell + 8))
          store<u8>(p + 9, 2); store<f64>(p + 10, load<f64>(cell + 16))
          p += 18
        }
      } else { // FIRST / LAST [i64 ts][payload][i32 set]
        if (load<i32>(cell + 16) == 0) { store<u8>(p, 0); p++ } else {
          store<u8>(p, 2); store<u8>(p + 1, 2)
          p = zigzag(p + 2, load<i64>(cell))
          store<u8>(p, 2)
          p = value(p + 1, cell + 8, vk)
        }
      }
    }
    store<u8>(p, 2); store<u8>(p + 1, <u8>(complete != 0 ? 1 : 0)); p += 2 // isComplete
    store<u32>(lenAt, <u32>(p - valueStart))
  }
  return <i32>(p - out)
}

// ---- flat Avro records as numbers ---------------------------------------------------------------------------------
//
// decodeNumbers reads records of a flat Avro record schema (src/codec/flat-avro.ts) into numbers, as that reader's
// readNumbers does, for the worker's numeric path (src/worker/flat-numbers.ts). Only the regular case is read here:
// record r is accepted (status 0) when every field reads within its bytes, every int/long's zig-zag value is below
// 2^53 (exact as a double, and within avsc's precision bound), no float or double is NaN (its bits are the JS
// reader's to keep), every union index is in range and the record ends exactly at its end. Anything else is status 1,
// and the host reads that record with the JS reader, which makes the same values or the same refusal as always.
//
//   data        the records' bytes; record r is [data + starts[r] - base, data + ends[r] - base)
//   fields      i32 per field: kind (0 null, 1 boolean, 2 int, 3 long, 4 float, 5 double, 6 string, 7 union) in
//               bits 0-3, 1 in bit 4 when its value is kept; a union's first branch index into `branches` in
//               bits 8-19 and its branch count in bits 20-31
//   branches    i32 per union branch: its kind (0-6)
//   vals/valid  f64 / u8 per record and field (record-major): the kept fields' values and 1 when not null
//   skip        bytes before each record's Avro (5 for Confluent framing: magic byte 0 and the schema id), else 0
// Returns how many records have status 1.

const TWO_53: u64 = 1 << 53

/** Where the last varint() ended; 0 when it could not be read (past the record's end, or more than 64 bits). */
let varintEnd: usize = 0

/**
 * The unsigned varint at p (zig-zag form undone by the caller). A tenth byte may carry bit 63 only: more would wrap
 * here and not in the JS reader, so such a varint is not read (the record goes to the JS reader).
 */
// @ts-ignore: decorator
@inline function varint (p: usize, end: usize): u64 {
  let z: u64 = 0
  let shift: u64 = 0
  let b: u32 = 0x80
  while ((b & 0x80) != 0) {
    if (p >= end || shift > 63) { varintEnd = 0; return 0 }
    b = load<u8>(p++)
    if (shift == 63 && (b & 0x7e) != 0) { varintEnd = 0; return 0 }
    z |= <u64>(b & 0x7f) << shift
    shift += 7
  }
  varintEnd = p
  return z
}

export function decodeNumbers (n: i32, data: usize, starts: usize, ends: usize, base: i32, skip: i32, fields: usize, nFields: i32, branches: usize, vals: usize, valid: usize, status: usize): i32 {
  let failed = 0
  for (let r = 0; r < n; r++) {
    let p = data + <usize>(load<i32>(starts + (<usize>r << 2)) - base)
    const end = data + <usize>(load<i32>(ends + (<usize>r << 2)) - base)
    const out = vals + <usize>(r * nFields) * 8
    const ov = valid + <usize>(r * nFields)
    let ok = true
    if (skip > 0) {
      if (end - p < <usize>skip || load<u8>(p) != 0) ok = false
      p += <usize>skip
    }
    for (let f = 0; ok && f < nFields; f++) {
      const d = load<i32>(fields + (<usize>f << 2))
      let k = d & 15
      if (k == 7) {
        // The branch index: a zig-zag varint, as a long.
        const z = varint(p, end)
        if (varintEnd == 0) { ok = false; break }
        p = varintEnd
        const count = (d >>> 20) & 0xfff
        if ((z & 1) != 0 || (z >> 1) >= <u64>count) { ok = false; break }
        k = load<i32>(branches + (<usize>(((d >>> 8) & 0xfff) + <i32>(z >> 1)) << 2))
      }
      const keep = (d & 16) != 0
      const at = <usize>f
      if (k == 0) {
        if (keep) store<u8>(ov + at, 0)
      } else if (k == 2 || k == 3) {
        const z = varint(p, end)
        if (varintEnd == 0 || z >= TWO_53) { ok = false; break }
        p = varintEnd
        if (keep) {
          const v = <i64>(z >> 1) ^ -<i64>(z & 1)
          store<f64>(out + (at << 3), <f64>v)
          store<u8>(ov + at, 1)
        }
      } else if (k == 5) {
        if (p + 8 > end) { ok = false; break }
        const v = load<f64>(p)
        if (v != v) { ok = false; break }
        p += 8
        if (keep) { store<f64>(out + (at << 3), v); store<u8>(ov + at, 1) }
      } else if (k == 4) {
        if (p + 4 > end) { ok = false; break }
        const v = <f64>load<f32>(p)
        if (v != v) { ok = false; break }
        p += 4
        if (keep) { store<f64>(out + (at << 3), v); store<u8>(ov + at, 1) }
      } else if (k == 1) {
        // Never kept (not a number field): skipped as the JS reader skips it.
        if (keep || p >= end) { ok = false; break }
        p++
      } else {
        // A string, skipped: its length is a zig-zag varint.
        const z = varint(p, end)
        if (varintEnd == 0) { ok = false; break }
        p = varintEnd
        if (keep || (z & 1) != 0 || (z >> 1) > <u64>(end - p)) { ok = false; break }
        p += <usize>(z >> 1)
      }
    }
    if (ok && p != end) ok = false
    store<u8>(status + <usize>r, ok ? 0 : 1)
    if (!ok) failed++
  }
  return failed
}
