// Tile stores (bench/stores.ts): upserts/s through the KvWriter and read latency, LMDB vs Redis vs Redis Cluster.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'stores',
  description: 'tile upserts/s and 300-tile read latency: embedded LMDB, Redis, Redis Cluster (local servers on the same cores)',
  script: 'stores.js',
  resultName: 'stores',
  options: {
    batches: { help: 'batches of upserts', default: 30, quick: 10 },
    batch: { help: 'upserts per batch', default: 10_000, quick: 5000 },
    reads: { help: 'reads of one key\'s 300 tiles', default: 2000, quick: 500 },
    'value-bytes': { help: 'bytes per tile value', default: 40 },
    rewrites: { help: 'rewrite rounds inside one run, median (the script\'s --rounds)', default: 5, quick: 2 }
  },
  args: o => ['--batches', String(o.batches), '--batch', String(o.batch), '--reads', String(o.reads), '--value-bytes', String(o['value-bytes']), '--rounds', String(o.rewrites)],
  rows: (d: { rows: unknown }) => flatRows(d.rows),
  smoke: { batches: 2, batch: 500, reads: 20, rewrites: 1 },
  rounds: 1,
  headline: 'new tiles/s'
})
