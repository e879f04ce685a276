// Selects, wheres and the time column per event (bench/expr.ts): generated code vs the naive interpreter.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'expr',
  description: 'records/s through the generated expression code vs a tree-walking interpreter (pass-through and Zipline canary)',
  script: 'expr.js',
  resultName: 'expr',
  options: { 'round-ms': { help: 'milliseconds per timed round (5 rounds, median)', default: 300, quick: 150 } },
  args: () => [],
  env: o => ({ BENCH_ROUND_MS: String(o['round-ms']) }),
  rows: (d: { results: unknown }) => flatRows(d.results),
  smoke: { 'round-ms': 20 },
  headline: 'compiled.recordsPerSec'
})
