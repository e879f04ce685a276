// Aggregation kernels (bench/kernels.ts): WASM vs TypeScript update rate per operation, and the worker's per-row path.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'kernels',
  description: 'update rate per aggregation operation, WASM kernel vs plain TypeScript, and bytes per IR',
  script: 'kernels.js',
  resultName: 'kernels',
  options: { updates: { help: 'updates per operation', default: 300_000, quick: 100_000 } },
  args: () => [],
  env: o => ({ AGG_BENCH_EVENTS: String(o.updates) }),
  rows: (d: { operations: unknown }) => flatRows(d.operations),
  smoke: { updates: 5000 }
})
