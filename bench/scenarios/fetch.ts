// Feature reads by window (bench/fetch.ts, written on the multires branch): runs it when it is built here. The
// report (bench/report-page.ts) expects its rows to carry `store`, `window`, `keys` (keys per request) and latency
// columns named like `p50 µs` / `p99 µs` (or `… ms`).
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'fetch',
  description: 'feature read latency (p50/p99) by window length, one key and batches, embedded and Redis stores',
  script: 'fetch.js',
  resultName: 'fetch',
  options: { quick: { help: 'pass --quick to bench/fetch.ts', default: false, quick: true } },
  args: o => (o.quick === true ? ['--quick'] : []),
  rows: (d: unknown) => flatRows(Array.isArray(d) ? d : (d as { rows?: unknown }).rows),
  smoke: { quick: true },
  headline: 'p99 µs'
})
