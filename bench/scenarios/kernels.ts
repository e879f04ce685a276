// Aggregation kernels (bench/kernels.ts): WASM vs TypeScript update rate per operation, and the worker's per-row path.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'kernels',
  description: 'update rate per aggregation operation, WASM kernel vs plain TypeScript, and bytes per IR',
  script: 'kernels.js',
  resultName: 'kernels',
  options: {
    updates: { help: 'updates per operation', default: 300_000, quick: 100_000 },
    batches: { help: 'batches of 8,192 rows in the SUM + COUNT + AVERAGE part', default: 1500, quick: 500 }
  },
  args: () => [],
  env: o => ({ AGG_BENCH_EVENTS: String(o.updates), KERNEL_BENCH_BATCHES: String(o.batches) }),
  rows: (d: { operations: unknown }) => flatRows(d.operations),
  smoke: { updates: 5000, batches: 10 }
})
