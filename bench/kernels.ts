// Aggregation kernel throughput: the WASM kernels (assembly/kernels.ts) against the same update loop in plain
// TypeScript over typed arrays, and against the idiomatic JS baseline (a Map of IR objects), for the
// SUM + COUNT + AVERAGE parts of one tile. Also the full per-row path of the worker state (key/tile lookup + kernel
// + tile encoding) that the engine runs. Writes bench/results/kernels.json.
//
//   npm run bench:kernels
import { type StructType, T } from '../src/api/data-type.ts'
import { instantiateKernels } from '../src/agg/kernels.ts'
import { bindGroupBy } from '../src/config/bind.ts'
import { compilePlan } from '../src/config/plan.ts'
import { compileColumnRefs } from '../src/expr/column-refs.ts'
import { Random } from '../src/source/generator.ts'
import { tileStartOf } from '../src/window/resolution.ts'
import { TileState } from '../src/worker/tile-state.ts'
import { printTable, writeResults } from './report.ts'

const ROWS = 8192
const BATCHES = 1500
const ENTRIES = 100_000

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

function timeIt (fn: () => void, passes = 5): number {
  fn() // warm-up
  const rates: number[] = []
  for (let p = 0; p < passes; p++) {
    const t = performance.now()
    fn()
    rates.push(ROWS * BATCHES / ((performance.now() - t) / 1000))
  }
  return median(rates)
}

const r = new Random(7)
const entryIdx = Int32Array.from({ length: ROWS * 8 }, () => r.int(ENTRIES))
const values = Float64Array.from({ length: ROWS * 8 }, () => r.next() * 100)

// --- WASM: the engine's kernels, SUM(double) + COUNT + AVERAGE over one shared row buffer -----------------------
const memory = new WebAssembly.Memory({ initial: 256, maximum: 4096, shared: true })
const k = instantiateKernels(memory)
const base = 65536
const entriesPtr = base
const valsPtr = entriesPtr + 4 * ROWS
const validPtr = valsPtr + 8 * ROWS
const statePtr = validPtr + ROWS + 64
const stride = 40 // sum 16 | count 8 | average 16
const buf = memory.buffer
new Uint8Array(buf, validPtr, ROWS).fill(1)
const wEntries = new Int32Array(buf, entriesPtr, ROWS)
const wVals = new Float64Array(buf, valsPtr, ROWS)
const wasm = timeIt(() => {
  for (let b = 0; b < BATCHES; b++) {
    const off = (b & 7) * ROWS
    wEntries.set(entryIdx.subarray(off, off + ROWS))
    wVals.set(values.subarray(off, off + ROWS))
    k.sumDouble(ROWS, entriesPtr, valsPtr, validPtr, statePtr, stride, 0)
    k.count(ROWS, entriesPtr, validPtr, statePtr, stride, 16)
    k.average(ROWS, entriesPtr, valsPtr, validPtr, statePtr, stride, 24)
  }
})

// --- plain TS over typed arrays: the same layout and loops ------------------------------------------------------
const sum = new Float64Array(ENTRIES)
const sumSet = new Uint8Array(ENTRIES)
const count = new Float64Array(ENTRIES)
const avgSum = new Float64Array(ENTRIES)
const avgCount = new Float64Array(ENTRIES)
const jsTyped = timeIt(() => {
  for (let b = 0; b < BATCHES; b++) {
    const off = (b & 7) * ROWS
    for (let i = 0; i < ROWS; i++) { const e = entryIdx[off + i]!; sum[e] = sum[e]! + values[off + i]!; sumSet[e] = 1 }
    for (let i = 0; i < ROWS; i++) { const e = entryIdx[off + i]!; count[e] = count[e]! + 1 }
    for (let i = 0; i < ROWS; i++) { const e = entryIdx[off + i]!; avgSum[e] = avgSum[e]! + values[off + i]!; avgCount[e] = avgCount[e]! + 1 }
  }
})

// --- idiomatic JS: a Map from key to an IR object ----------------------------------------------------------------
interface Ir { sum: number, count: number, avg: [number, number] }
const map = new Map<number, Ir>()
const jsMap = timeIt(() => {
  for (let b = 0; b < BATCHES; b++) {
    const off = (b & 7) * ROWS
    for (let i = 0; i < ROWS; i++) {
      const e = entryIdx[off + i]!
      const x = values[off + i]!
      let ir = map.get(e)
      if (ir === undefined) { ir = { sum: 0, count: 0, avg: [0, 0] }; map.set(e, ir) }
      ir.sum += x; ir.count += 1; ir.avg[0] += x; ir.avg[1] += 1
    }
  }
})

// --- the worker's whole per-row path: key → entry, kernels, and (always-fire) tile encoding per batch ----------
const groupBy = {
  metaData: { name: 'bench.kernels' },
  keyColumns: ['user_id'],
  sources: [{ events: { query: { timeColumn: 'ts' } } }],
  aggregations: [7, 6, 8].map(op => ({ inputColumn: 'price', operation: op, windows: [{ length: 1, timeUnit: 0 }, { length: 1, timeUnit: 1 }, { length: 7, timeUnit: 1 }] }))
}
const plan = compilePlan(groupBy)
const bound = bindGroupBy(plan, T.struct('In', [{ name: 'user_id', type: T.long }, { name: 'ts', type: T.long }, { name: 'price', type: T.double }]) as StructType, compileColumnRefs)
const stateMem = new WebAssembly.Memory({ initial: 32, maximum: 32768, shared: true })
const state = new TileState(bound, stateMem, { allowedLatenessMillis: 0, trigger: { kind: 'always' } })
const row: unknown[] = [0, 0, 0]
const t0 = 1_700_000_000_000
let encoded = 0
let batches = 0
const rowsOnly = timeIt(() => {
  for (let b = 0; b < BATCHES; b++) {
    const off = (b & 7) * ROWS
    for (let i = 0; i < ROWS; i++) {
      row[0] = entryIdx[off + i]!; row[1] = values[off + i]!; row[2] = t0
      state.row(row, t0, tileStartOf(t0, plan.tileSizeMillis), 0)
    }
    state.flush()
  }
}, 3)
const withEncode = timeIt(() => {
  for (let b = 0; b < BATCHES; b++) {
    const off = (b & 7) * ROWS
    state.puts.begin()
    for (let i = 0; i < ROWS; i++) {
      row[0] = entryIdx[off + i]!; row[1] = values[off + i]!; row[2] = t0
      state.row(row, t0, tileStartOf(t0, plan.tileSizeMillis), 0)
    }
    state.fireDirty()
    encoded += state.puts.count
    batches++
  }
}, 3)

const rows = [
  { path: 'WASM kernels (engine)', 'M rows/s': wasm / 1e6, 'vs Map of objects': wasm / jsMap },
  { path: 'plain TS, typed arrays', 'M rows/s': jsTyped / 1e6, 'vs Map of objects': jsTyped / jsMap },
  { path: 'idiomatic JS, Map of IR objects (key only)', 'M rows/s': jsMap / 1e6, 'vs Map of objects': 1 },
  { path: 'worker state: key+tile lookup + kernels', 'M rows/s': rowsOnly / 1e6, 'vs Map of objects': rowsOnly / jsMap },
  { path: 'worker state + tile encoding (always-fire)', 'M rows/s': withEncode / 1e6, 'vs Map of objects': withEncode / jsMap }
]
printTable(`SUM + COUNT + AVERAGE update, ${ENTRIES.toLocaleString('en-US')} keys, batches of ${ROWS} rows (median of 5 passes)`, rows)
process.stdout.write(`\nIR state per (key, tile): ${state.stride} bytes (SUM 16 + COUNT 8 + AVERAGE 16); always-fire wrote ${Math.round(encoded / batches).toLocaleString('en-US')} tiles per batch of ${ROWS} rows\n`)
process.stdout.write(`written ${writeResults('kernels', { rows, stateBytesPerEntry: state.stride })}\n`)
