// Feature reads by window (bench/fetch.ts): p50/p99 of one key and of batches of 100 keys for 1 h … 30 d windows,
// embedded and Redis, with rolled-up tiles and fine tiles only. The report (bench/report-page.ts) reads its rows'
// `store`, `window`, `keys` and `p50 ms` / `p99 ms` columns.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'fetch',
  description: 'feature read latency (p50/p99) by window length, one key and batches, embedded and Redis stores, with and without rolled-up tiles',
  script: 'fetch.js',
  resultName: 'fetch',
  nodeArgs: ['--expose-gc'],
  options: {
    events: { help: 'generated events over 31 days', default: 1_000_000, quick: 200_000 },
    keys: { help: 'keys', default: 100, quick: 100 },
    reads: { help: 'reads per cell (at most)', default: 2000, quick: 500 },
    seconds: { help: 'seconds per cell (at most)', default: 3, quick: 1 },
    batch: { help: 'keys per batch read', default: 100 }
  },
  args: o => ['--events', String(o.events), '--keys', String(o.keys), '--reads', String(o.reads), '--seconds', String(o.seconds), '--batch', String(o.batch)],
  // A smoke run checks that the scenario works, in seconds even on a loaded machine: batches of 5 keys, not 100.
  smoke: { events: 20_000, keys: 10, reads: 20, seconds: 1, batch: 5 },
  rows: (d: unknown) => flatRows(Array.isArray(d) ? d : (d as { rows?: unknown }).rows),
  headline: 'p99 ms'
})
