// CPC sketch (APPROX_UNIQUE_COUNT) kernel benchmark: update rate for long and string inputs through the WASM kernel
// (per call from JS, batched, and through the aggregator), a plain TypeScript baseline of the same hot path, merge /
// serialize / deserialize rates, and bytes per IR. Prints a table and writes bench/results/cpc.json.
//
//   npm run bench:cpc            (node dist/bench/sketch-cpc.js [--quick])

import { ApproxUniqueCount } from '../src/agg/sketch/cpc.ts'
import { CpcKernel } from '../src/agg/sketch/cpc-wasm.ts'
import { isMain, writeResults } from './report.ts'

// --- plain TypeScript baseline ------------------------------------------------------------------------------------
// The same hot path without WASM: MurmurHash3 x64-128 of one long on 32-bit halves (Math.imul), then the coupon's
// bit set in a full K×64 bit matrix. (Not a whole CPC implementation — no window/table/HIP — so it flatters TS.)
export function tsLongUpdates (lgK: number, n: number): number {
  const k = 1 << lgK
  const matrix = new Uint32Array(k * 2)
  let coupons = 0
  for (let i = 0; i < n; i++) {
    const v = i * 2654435761
    const lo = v | 0
    const hi = Math.floor(v / 4294967296) | 0
    const [a0, a1, b1] = murmurLong(lo, hi)
    const col = b1 === 0 ? 32 + Math.clz32(hashB0) : Math.clz32(b1)
    const row = a0 & (k - 1)
    const word = row * 2 + (col >= 32 ? 1 : 0)
    const bit = 1 << (col & 31)
    if ((matrix[word]! & bit) === 0) { matrix[word]! |= bit; coupons++ }
    void a1
  }
  return coupons
}

// 64-bit helpers on (lo, hi) pairs.
let hashB0 = 0
function mul64 (alo: number, ahi: number, blo: number, bhi: number): [number, number] {
  const a0 = alo & 0xffff; const a1 = alo >>> 16; const b0 = blo & 0xffff; const b1 = blo >>> 16
  const p00 = a0 * b0; const p01 = a0 * b1; const p10 = a1 * b0; const p11 = a1 * b1
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const lo = ((mid & 0xffff) << 16) | (p00 & 0xffff)
  const carry = Math.floor(mid / 65536) + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + p11
  const hi = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0
  return [lo | 0, hi]
}
function rotl64 (lo: number, hi: number, r: number): [number, number] {
  if (r >= 32) { const t = lo; lo = hi; hi = t; r -= 32 }
  if (r === 0) return [lo, hi]
  return [(lo << r) | (hi >>> (32 - r)), (hi << r) | (lo >>> (32 - r))]
}
function fmix (lo: number, hi: number): [number, number] {
  lo ^= hi >>> 1; [lo, hi] = mul64(lo, hi, 0xed558ccd | 0, 0xff51afd7 | 0)
  lo ^= hi >>> 1; [lo, hi] = mul64(lo, hi, 0x1a85ec53, 0xc4ceb9fe | 0)
  lo ^= hi >>> 1
  return [lo, hi]
}
function add64 (alo: number, ahi: number, blo: number, bhi: number): [number, number] {
  const lo = (alo >>> 0) + (blo >>> 0)
  return [lo | 0, (ahi + bhi + (lo > 0xffffffff ? 1 : 0)) | 0]
}
/** (first half low word, first half high word, second half high word); second half low word in hashB0. */
function murmurLong (lo: number, hi: number): [number, number, number] {
  let [klo, khi] = mul64(lo, hi, 0x114253d5, 0x87c37b91 | 0)
  ;[klo, khi] = rotl64(klo, khi, 31)
  ;[klo, khi] = mul64(klo, khi, 0x2745937f, 0x4cf5ad43)
  let alo = 9001 ^ klo; let ahi = khi
  let blo = 9001; let bhi = 0
  alo ^= 8; blo ^= 8
  ;[alo, ahi] = add64(alo, ahi, blo, bhi)
  ;[blo, bhi] = add64(blo, bhi, alo, ahi)
  ;[alo, ahi] = fmix(alo, ahi)
  ;[blo, bhi] = fmix(blo, bhi)
  ;[alo, ahi] = add64(alo, ahi, blo, bhi)
  ;[blo, bhi] = add64(blo, bhi, alo, ahi)
  hashB0 = blo
  return [alo, ahi, bhi]
}


function main (): void {
  const quick = process.argv.includes('--quick')
  const N = quick ? 2_000_000 : 10_000_000
  const REPEATS = 3

  interface Row { name: string, items: number, seconds: number, perSecond: number }
  const rows: Row[] = []

  /** Best of REPEATS runs of fn (which processes `items` items). */
  function measure (name: string, items: number, fn: () => void): Row {
    let best = Infinity
    for (let r = 0; r < REPEATS; r++) {
      const t0 = process.hrtime.bigint()
      fn()
      const s = Number(process.hrtime.bigint() - t0) / 1e9
      best = Math.min(best, s)
    }
    const row = { name, items, seconds: best, perSecond: items / best }
    rows.push(row)
    console.log(`${name.padEnd(58)} ${(row.perSecond / 1e6).toFixed(1).padStart(7)} M/s`)
    return row
  }

  const kernel = new CpcKernel()
  const x = kernel.x

  // --- long updates -------------------------------------------------------------------------------------------------
  for (const lgK of [8, 12]) {
    measure(`WASM long update, per call (lgK ${lgK})`, N, () => {
      const s = x.cpc_new(lgK)
      for (let i = 0; i < N; i++) x.cpc_update_int53(s, i * 2654435761)
      x.cpc_free(s)
    })
  }

  const BATCH = 65_536
  const batchPtr = kernel.scratch(BATCH * 8)
  const batch = new BigInt64Array(kernel.memory.buffer, batchPtr, BATCH)
  for (let i = 0; i < BATCH; i++) batch[i] = BigInt(i) * 0x9e3779b97f4a7c15n
  measure('WASM long update, batch of 64 Ki in wasm memory (lgK 8)', N, () => {
    const s = x.cpc_new(8)
    for (let done = 0; done < N; done += BATCH) x.cpc_update_longs(s, batchPtr, Math.min(BATCH, N - done))
    x.cpc_free(s)
  })

  const aggLong = new ApproxUniqueCount('long', 8, kernel)
  measure('aggregator.update(ir, long) (lgK 8)', N, () => {
    const ir = aggLong.prepare(0)
    for (let i = 1; i < N; i++) aggLong.update(ir, i * 2654435761)
    aggLong.dispose(ir)
  })

  // Many small sketches: a tile per key, a few distinct values each (the common case in a keyed stream).
  const KEYS = 100_000
  measure(`aggregator, ${KEYS / 1000}k sketches × ${N / KEYS} updates round-robin (lgK 8)`, N, () => {
    const irs: number[] = new Array(KEYS)
    for (let k = 0; k < KEYS; k++) irs[k] = aggLong.prepare(k)
    for (let i = KEYS; i < N; i++) aggLong.update(irs[i % KEYS]!, (i % 5_000_000) * 7)
    for (const ir of irs) aggLong.dispose(ir)
  })

  // --- string updates -----------------------------------------------------------------------------------------------
  const STRINGS = 1 << 20
  const strings: string[] = new Array(STRINGS)
  for (let i = 0; i < STRINGS; i++) strings[i] = `user-${(i * 2654435761) % 1e9}`
  const aggString = new ApproxUniqueCount('string', 8, kernel)
  measure('aggregator.update(ir, string ~14 B) (lgK 8)', N, () => {
    const ir = aggString.prepare('')
    for (let i = 0; i < N; i++) aggString.update(ir, strings[i & (STRINGS - 1)]!)
    aggString.dispose(ir)
  })

  {
    // The baseline must hash exactly like DataSketches: its coupon count must equal the kernel's.
    const s = x.cpc_new(8)
    for (let i = 0; i < 100_000; i++) x.cpc_update_int53(s, i * 2654435761)
    if (tsLongUpdates(8, 100_000) !== x.cpc_coupons(s)) throw new Error('TS baseline hashes differently')
    x.cpc_free(s)
  }
  measure('plain TS: murmur3 + bit-matrix update, long (lgK 8)', N, () => { tsLongUpdates(8, N) })

  // --- merge / serialize / deserialize -----------------------------------------------------------------------------
  const bigA = aggLong.prepare(0)
  const bigB = aggLong.prepare(0)
  for (let i = 0; i < 20_000; i++) { aggLong.update(bigA, i); aggLong.update(bigB, i + 10_000) }
  const MERGES = quick ? 20_000 : 100_000
  measure('merge two lgK 8 sketches of 20k items (CpcUnion)', MERGES, () => {
    for (let i = 0; i < MERGES; i++) aggLong.dispose(aggLong.merge(aggLong.clone(bigA), bigB))
  })
  measure('normalize (toByteArray) lgK 8, 20k items', MERGES, () => {
    for (let i = 0; i < MERGES; i++) aggLong.normalize(bigA)
  })
  const bytesA = aggLong.normalize(bigA)
  measure('denormalize (heapify) lgK 8, 20k items', MERGES, () => {
    for (let i = 0; i < MERGES; i++) aggLong.dispose(aggLong.denormalize(bytesA))
  })

  // --- bytes per IR -------------------------------------------------------------------------------------------------
  interface Size { lgK: number, items: number, serializedBytes: number, memoryBytes: number }
  const sizes: Size[] = []
  console.log('\nbytes per IR          serialized (tile)   in WASM memory')
  for (const lgK of [8, 12]) {
    const agg = new ApproxUniqueCount('long', lgK, kernel)
    for (const n of [1, 10, 100, 1_000, 10_000, 1_000_000]) {
      const before = kernel.liveBytes()
      const ir = agg.prepare(0)
      for (let i = 1; i < n; i++) agg.update(ir, i)
      const mem = kernel.liveBytes() - before
      const ser = agg.normalize(ir).length
      agg.dispose(ir)
      sizes.push({ lgK, items: n, serializedBytes: ser, memoryBytes: mem })
      console.log(`lgK ${String(lgK).padStart(2)}, ${String(n).padStart(9)} items  ${String(ser).padStart(10)} B   ${String(mem).padStart(12)} B`)
    }
  }

  const out = writeResults('cpc', {
    items: N,
    quick,
    rates: rows.map(r => ({ name: r.name, itemsPerSecond: Math.round(r.perSecond), items: r.items, seconds: r.seconds })),
    sizes
  })
  console.log(`\nwrote ${out}`)
}

if (isMain(import.meta.url)) main()
