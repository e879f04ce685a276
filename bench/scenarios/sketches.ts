// KLL, frequent items and approximate histogram sketches (bench/sketch-kll-frequent.ts).
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'sketches',
  description: 'KLL and frequent-items sketch update/merge/serialize rates, WASM vs plain TS, bytes per IR',
  script: 'sketch-kll-frequent.js',
  resultName: 'sketches',
  options: {},
  args: () => [],
  rows: (d: { rows: unknown }) => flatRows(d.rows),
  headline: 'itemsPerSec'
})
