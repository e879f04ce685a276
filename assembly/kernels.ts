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
