// Kafka client libraries handing records to the engine with no processing (bench/kafka-clients.ts).
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'kafka-clients',
  description: 'records/s each Kafka client library consumes from a local broker, through tilekiln\'s client layer and directly',
  script: 'kafka-clients.js',
  resultName: 'kafka-clients',
  options: {
    records: { help: 'records produced once, consumed per run', default: 1_000_000, quick: 200_000 },
    runs: { help: 'consumption runs per library (interleaved) inside one round (the script\'s --rounds)', default: 3, quick: 1 },
    partitions: { help: 'topic partitions', default: 4 },
    'value-bytes': { help: 'bytes per record value', default: 90 },
    only: { help: 'variants (kafkajs-direct,kafkajs,platformatic); empty: all', default: '' }
  },
  args: o => ['--records', String(o.records), '--rounds', String(o.runs), '--partitions', String(o.partitions), '--value-bytes', String(o['value-bytes']), ...(o.only !== '' ? ['--only', String(o.only)] : [])],
  rows: (d: { summary: unknown }) => flatRows(d.summary),
  smoke: { records: 5000, runs: 1, only: 'platformatic' },
  rounds: 1,
  headline: 'records/s (median)'
})
