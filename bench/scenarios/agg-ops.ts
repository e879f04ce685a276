// Aggregation operations on the plain TypeScript path (bench/agg-ops.ts): update rate and IR bytes.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'agg-ops',
  description: 'update rate per aggregation operation through the TypeScript aggregator, and bytes per IR after 100 events',
  script: 'agg-ops.js',
  resultName: 'agg-ops',
  options: { updates: { help: 'updates per operation', default: 300_000, quick: 100_000 } },
  args: () => [],
  env: o => ({ AGG_BENCH_EVENTS: String(o.updates) }),
  rows: (d: { results: unknown }) => flatRows(d.results),
  smoke: { updates: 5000 },
  headline: 'updatesPerSec'
})
