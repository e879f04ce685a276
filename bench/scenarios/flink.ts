// tilekiln beside Chronon's tiled job on Apache Flink (bench/flink.ts: same events, same tiles, interleaved runs).
// Needs a JDK 17+ and Maven; takes many minutes, so a bare `npm run bench` leaves it out.
import { flatRows } from '../lib/rows.ts'
import { scriptScenario } from '../lib/script.ts'

export const scenario = scriptScenario({
  name: 'flink',
  description: 'tilekiln vs Chronon\'s tiled Flink job (embedded MiniCluster) on the same events and tiles, events/s and latency',
  script: 'flink.js',
  resultName: 'flink',
  options: {
    events: { help: 'events per configuration', default: 3_000_000, quick: 1_000_000 },
    runs: { help: 'Flink job executions per JVM (first cold, rest warm)', default: 2 },
    'always-only': { help: 'only the four always-fire configurations, no Flink variants (bench/flink.ts --quick)', default: false, quick: true },
    verify: { help: 'also prove both engines write the same tiles', default: false }
  },
  args: o => ['--events', String(o.events), '--runs', String(o.runs), ...(o['always-only'] === true ? ['--quick'] : []), ...(o.verify === true ? ['--verify'] : [])],
  rows: (d: { rows: unknown }) => flatRows(d.rows),
  onlyWhenNamed: 'needs a JDK 17+ and Maven, and runs for many minutes',
  noSmoke: 'needs a JDK and Maven and a Flink MiniCluster start of several seconds',
  rounds: 1,
  headline: 'tilekiln ÷ flink'
})
