// Several daemons on one topic (bench/scale.ts): backlog events/s and the hand-over pause of moved partitions.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'scale',
  description: '1–3 daemons on a 12-partition topic with Redis: backlog events/s, hand-over pause per moved partition',
  script: 'scale.js',
  resultName: o => `scale-${String(o['kafka-library'])}`,
  options: {
    events: { help: 'backlog events', default: 600_000, quick: 100_000 },
    keys: { help: 'distinct keys', default: 20_000 },
    rate: { help: 'live events/s during the hand-overs', default: 8000, quick: 4000 },
    seconds: { help: 'live seconds (joins, leaves and a SIGKILL happen at ¼, ½, ¾)', default: 40, quick: 20 },
    'kafka-library': { help: 'the daemons\' Kafka client (platformatic | kafkajs)', default: 'platformatic' }
  },
  args: o => ['--events', String(o.events), '--keys', String(o.keys), '--rate', String(o.rate), '--seconds', String(o.seconds), '--kafka-library', String(o['kafka-library'])],
  rows: (d: { rows: unknown }) => flatRows(d.rows),
  noSmoke: 'a hand-over waits for consumer-group session expiry and rebalances (tens of seconds, three broker groups); test/integration/scale-out-*.test.ts cover the behaviour',
  rounds: 1,
  headline: 'backlog events/s'
})
