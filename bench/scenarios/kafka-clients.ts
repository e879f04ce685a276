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
    rounds: { help: 'consumption runs per library (interleaved) inside one round', default: 3, quick: 1 },
    partitions: { help: 'topic partitions', default: 4 },
    only: { help: 'variants (kafkajs-direct,kafkajs,platformatic); empty: all', default: '' }
  },
  args: o => ['--records', String(o.records), '--rounds', String(o.rounds), '--partitions', String(o.partitions), ...(o.only !== '' ? ['--only', String(o.only)] : [])],
  rows: (d: { summary: unknown }) => flatRows(d.summary),
  smoke: { records: 5000, rounds: 1, only: 'platformatic' },
  rounds: 1,
  headline: 'records/s (median)'
})
