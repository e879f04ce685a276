// KLL, frequent items and approximate histogram sketches (bench/sketch-kll-frequent.ts).
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'sketches',
  description: 'KLL and frequent-items sketch update/merge/serialize rates, WASM vs plain TS, bytes per IR',
  script: 'sketch-kll-frequent.js',
  resultName: 'sketches',
  options: { items: { help: 'items per KLL update run (frequent items: half as many)', default: 2_000_000, quick: 1_000_000 } },
  args: () => [],
  env: o => ({ SKETCH_BENCH_ITEMS: String(o.items) }),
  rows: (d: { rows: unknown }) => flatRows(d.rows),
  smoke: { items: 20_000 },
  headline: 'itemsPerSec'
})
