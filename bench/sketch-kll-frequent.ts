// Sketch kernels: KLL floats (APPROX_PERCENTILE), frequent items (APPROX_FREQUENT_K / HEAVY_HITTERS_K) and
// APPROX_HISTOGRAM_K. Update rates (items/s) through the JS → WASM boundary one item per call (what the engine's
// per-event path does) and batched, merge / serialize rates, and bytes per IR. Plain-TS baselines: a TS transcription
// of our own KLL update path (same algorithm, same coins, checked to give the same bytes) and, for frequent items,
// the idiomatic JS alternative (an exact Map of counts, which is not a sketch: it has no size bound).
//
//   npm run bench:sketches            → table on stdout, JSON in bench/results/sketches.json
import { ApproxHistogram } from '../src/agg/sketch/approx-histogram.ts'
import { frequentKernel, ziplineSketchSize } from '../src/agg/sketch/frequent.ts'
import { kllKernel } from '../src/agg/sketch/kll.ts'
import { TsKll } from '../src/agg/sketch/kll-ts.ts'
import { writeResults } from './report.ts'

interface Row { scenario: string, impl: string, itemsPerSec: number | null, bytesPerIr: number | null, note: string }
const rows: Row[] = []

/** Median rate over `reps` timed runs after one warm-up; fn returns the number of items it processed. */
function rate (fn: () => number, reps = 3): number {
  fn()
  const r: number[] = []
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint()
    const n = fn()
    const dt = Number(process.hrtime.bigint() - t0) / 1e9
    r.push(n / dt)
  }
  r.sort((a, b) => a - b)
  return r[Math.floor(r.length / 2)]!
}

function uniformFloats (n: number, seed: number): Float32Array {
  let s = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 4294967296 * 1000 }
  return out
}

function skewedInts (n: number, m: number, seed: number): Int32Array {
  let s = seed >>> 0
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; const u = s / 4294967296; out[i] = Math.floor(m * u * u * u) }
  return out
}

// ---- KLL --------------------------------------------------------------------------------------------------------
const kll = kllKernel()
// SKETCH_BENCH_ITEMS: fewer items for the runner's smoke size (frequent items take half as many).
const N = Number(process.env.SKETCH_BENCH_ITEMS ?? 2_000_000)
const NAME = N === 2_000_000 ? '2e6' : N.toLocaleString('en-US')
const floats = uniformFloats(N, 7)
for (const k of [128, 200]) {
  const perCall = rate(() => {
    const h = kll.create(k)
    for (let i = 0; i < N; i++) kll.update(h, floats[i]!)
    kll.free(h)
    return N
  })
  const h = kll.create(k)
  kll.updateMany(h, floats)
  const bytes = kll.serialize(h).length
  kll.free(h)
  rows.push({ scenario: `KLL update, k=${k}, ${NAME} floats`, impl: 'wasm, 1 call/item', itemsPerSec: perCall, bytesPerIr: bytes, note: `IR bytes at n=${NAME}` })
  rows.push({
    scenario: `KLL update, k=${k}, ${NAME} floats`,
    impl: 'wasm, batched',
    itemsPerSec: rate(() => { const h = kll.create(k); kll.updateMany(h, floats); kll.free(h); return N }),
    bytesPerIr: bytes,
    note: 'updateMany (copy into WASM + loop)'
  })
  // plain TS transcription of the same update path (and proof that it is the same: identical bytes)
  const ts = new TsKll(k)
  for (let i = 0; i < N; i++) ts.update(floats[i]!)
  const check = kll.create(k)
  kll.updateMany(check, floats)
  const same = Buffer.from(ts.toBytes()).equals(Buffer.from(kll.serialize(check)))
  kll.free(check)
  rows.push({
    scenario: `KLL update, k=${k}, ${NAME} floats`,
    impl: 'plain TS',
    itemsPerSec: rate(() => { const t = new TsKll(k); for (let i = 0; i < N; i++) t.update(floats[i]!); return N }),
    bytesPerIr: bytes,
    note: same ? 'bytes identical to wasm' : 'BYTES DIFFER from wasm'
  })
}
{
  // tile-like: many short-lived small sketches
  const sketches = 20000
  const per = 50
  rows.push({
    scenario: `KLL tiles: ${sketches} sketches × ${per} items, create+update+serialize+free`,
    impl: 'wasm, 1 call/item',
    itemsPerSec: rate(() => {
      let o = 0
      for (let s = 0; s < sketches; s++) {
        const h = kll.create(128)
        for (let i = 0; i < per; i++) kll.update(h, floats[o++]!)
        kll.serialize(h)
        kll.free(h)
      }
      return sketches * per
    }),
    bytesPerIr: (() => { const h = kll.create(128); for (let i = 0; i < per; i++) kll.update(h, floats[i]!); const b = kll.serialize(h).length; kll.free(h); return b })(),
    note: `IR bytes at n=${per}`
  })
  // merge: 200 sketches of 10k items into one (read-side window merge)
  const parts: number[] = []
  for (let p = 0; p < 200; p++) { const h = kll.create(200); kll.updateMany(h, floats.subarray(p * 10000, (p + 1) * 10000)); parts.push(h) }
  const partBytes = parts.map(h => kll.serialize(h))
  const mergesPerSec = rate(() => { const acc = kll.create(200); for (const h of parts) kll.merge(acc, h); kll.free(acc); return parts.length })
  rows.push({ scenario: 'KLL merge, k=200, sketches of 1e4 items', impl: 'wasm', itemsPerSec: mergesPerSec, bytesPerIr: partBytes[0]!.length, note: 'merges/s (not items/s)' })
  const desPerSec = rate(() => { for (const b of partBytes) kll.free(kll.deserialize(b)); return partBytes.length })
  rows.push({ scenario: 'KLL deserialize, k=200, sketches of 1e4 items', impl: 'wasm', itemsPerSec: desPerSec, bytesPerIr: partBytes[0]!.length, note: 'sketches/s' })
  for (const h of parts) kll.free(h)
}

// ---- frequent items -----------------------------------------------------------------------------------------
const fi = frequentKernel()
const M = Math.ceil(N / 2)
const longs = skewedInts(M, 100_000, 11)
const strings = Array.from(longs, v => 'user-' + v)
for (const k of [8, 100]) {
  const size = ziplineSketchSize(k)
  const hL = fi.create('long', size)
  for (let i = 0; i < M; i++) fi.updateLong(hL, longs[i]!)
  const bytesL = fi.serialize(hL).length
  fi.free(hL)
  rows.push({
    scenario: `frequent items, long, k=${k} (map ${size}), 1e6 skewed over 1e5`,
    impl: 'wasm, 1 call/item',
    itemsPerSec: rate(() => { const h = fi.create('long', size); for (let i = 0; i < M; i++) fi.updateLong(h, longs[i]!); fi.free(h); return M }),
    bytesPerIr: bytesL + 1,
    note: 'IR = type byte + sketch'
  })
  const hS = fi.create('string', size)
  for (let i = 0; i < M; i++) fi.updateString(hS, strings[i]!)
  const bytesS = fi.serialize(hS).length
  fi.free(hS)
  rows.push({
    scenario: `frequent items, string, k=${k} (map ${size}), 1e6 skewed over 1e5`,
    impl: 'wasm, 1 call/item',
    itemsPerSec: rate(() => { const h = fi.create('string', size); for (let i = 0; i < M; i++) fi.updateString(h, strings[i]!); fi.free(h); return M }),
    bytesPerIr: bytesS + 1,
    note: 'strings copied as UTF-16 into WASM'
  })
}
rows.push({
  scenario: 'exact counts, string, 1e6 skewed over 1e5 (no bound)',
  impl: 'plain TS Map',
  itemsPerSec: rate(() => { const m = new Map<string, number>(); for (let i = 0; i < M; i++) m.set(strings[i]!, (m.get(strings[i]!) ?? 0) + 1); return M }),
  bytesPerIr: null,
  note: 'not a sketch: grows with distinct items'
})
{
  const agg = new ApproxHistogram(8, 'string')
  rows.push({
    scenario: 'APPROX_HISTOGRAM_K k=8, string, 1e6 skewed over 1e5',
    impl: 'wasm sketch + TS exact map',
    itemsPerSec: rate(() => { let ir = agg.prepare(strings[0]!); for (let i = 1; i < M; i++) ir = agg.update(ir, strings[i]!); agg.dispose(ir); return M }),
    bytesPerIr: (() => { let ir = agg.prepare(strings[0]!); for (let i = 1; i < M; i++) ir = agg.update(ir, strings[i]!); const b = agg.normalize(ir).length; agg.dispose(ir); return b })(),
    note: 'switches to the sketch after 8 distinct'
  })
}

// ---- report -----------------------------------------------------------------------------------------------------
const fmt = (x: number | null): string => x === null ? '–' : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0)
const lines = [
  '| scenario | implementation | rate (/s) | bytes per IR | note |',
  '|---|---|---|---|---|',
  ...rows.map(r => `| ${r.scenario} | ${r.impl} | ${fmt(r.itemsPerSec)} | ${r.bytesPerIr ?? '–'} | ${r.note} |`)
]
console.log(lines.join('\n'))
const out = writeResults('sketches', { rows })
console.log(`\nwrote ${out}`)
