// The CPC sketch (bench/sketch-cpc.ts): update, merge and serialization rates, bytes per IR.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'cpc',
  description: 'CPC sketch (APPROX_UNIQUE_COUNT) update rates through WASM per call, batched and via the aggregator, vs plain TS',
  script: 'sketch-cpc.js',
  resultName: 'cpc',
  options: { small: { help: 'the script\'s --quick sizes (2 M items instead of 10 M)', default: false, quick: true } },
  args: o => (o.small === true ? ['--quick'] : []),
  rows: (d: { rates: unknown }) => flatRows(d.rates),
  smoke: { small: true },
  headline: 'itemsPerSecond'
})
