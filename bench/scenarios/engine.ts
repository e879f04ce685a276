// End-to-end engine throughput (bench/engine.ts's measurement, one fresh process per configuration): generator →
// workers → embedded LMDB over workers × keys × key distribution (+ one buffered-trigger row), events/s,
// tile writes per event, event→store latency over the whole run and peak RSS.
import { engineScenarios, runScenarioIsolated, type Scenario as EngineCase } from '../engine.ts'
import { numberList, num, type Row, type Scenario } from '../lib/scenario.ts'

export const scenario: Scenario = {
  name: 'engine',
  description: 'engine events/s end to end (generator → workers → embedded LMDB), by workers, keys and key distribution',
  options: {
    events: { help: 'events per configuration', default: 3_000_000, quick: 500_000 },
    workers: { help: 'worker threads', default: '1,2' },
    keys: { help: 'distinct keys', default: '100000', quick: '1000,100000' },
    zipf: { help: 'key distributions (0 uniform, s > 0 Zipf)', default: '0,1.1' },
    buffered: { help: 'also 2 workers, uniform keys, buffered:1000 trigger', default: true, quick: false },
    rollups: { help: 'also write rolled-up 1 h / 1 d tiles (--rollups auto); off: the tiles bench:flink compares', default: false }
  },
  smoke: { events: 20_000, workers: '1', keys: '1000', zipf: '0' },
  headline: 'events/s',
  async run (o) {
    const events = num(o, 'events')
    const cases: EngineCase[] = []
    for (const workers of numberList(o, 'workers')) {
      for (const keys of numberList(o, 'keys')) for (const zipf of numberList(o, 'zipf')) cases.push({ workers, keys, zipf, events, trigger: 'always', rollups: o.rollups === true })
    }
    if (o.buffered === true) cases.push(...engineScenarios(events).filter(s => s.trigger !== 'always'))
    const rows: Row[] = []
    for (const c of cases) {
      const row = runScenarioIsolated(c)
      process.stderr.write(`engine: ${JSON.stringify(row)}\n`)
      rows.push(row)
    }
    return { rows }
  }
}
