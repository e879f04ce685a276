// The daemon consuming from a real broker on this machine (bench/kafka.ts): events/s from start-up and sustained,
// per Kafka client library.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'kafka',
  description: 'engine events/s consuming Avro events from a local Kafka broker (same cores), per client library',
  script: 'kafka.js',
  resultName: 'kafka',
  options: {
    events: { help: 'events produced, then consumed', default: 1_000_000, quick: 200_000 },
    workers: { help: 'worker threads', default: 2 },
    keys: { help: 'distinct keys', default: 100_000 },
    only: { help: 'client libraries (kafkajs,platformatic); empty: both', default: '' },
    'store-sync': { help: 'embedded store flushing: commit (default) or checkpoint', default: 'commit' },
    rollups: { help: 'rolled-up tiles written beside the GroupBy\'s own: auto (the daemon\'s default: 1h,1d here) or none', default: 'auto' },
    brokers: { help: 'an existing broker (host:port); empty: start one', default: '' },
    'batch-max': { help: 'most records a worker batch grows to; 0: the engine\'s default', default: 0 }
  },
  args: o => ['--events', String(o.events), '--workers', String(o.workers), '--keys', String(o.keys), '--store-sync', String(o['store-sync']), '--rollups', String(o.rollups), ...(o.only !== '' ? ['--only', String(o.only)] : []), ...(o.brokers !== '' ? ['--brokers', String(o.brokers)] : []), ...(Number(o['batch-max']) > 0 ? ['--batch-max', String(o['batch-max'])] : [])],
  rows: (d: { rows: unknown }) => flatRows(d.rows),
  smoke: { events: 5000, keys: 1000, only: 'platformatic' },
  headline: 'events/s'
})
