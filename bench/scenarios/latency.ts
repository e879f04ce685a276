// Latency by load (issue 10, item 3's measurement): the engine's maximum rate with the generator source (always
// trigger, embedded store, `--workers`), then the generator paced at fixed fractions of it (`--levels`), each
// level in a fresh engine and store; per level, event→store latency percentiles from the engine's own histogram
// (hdr-histogram, `event_to_store_latency`) over `--seconds` after `--warmup`.
//
//   npm run bench -- latency [--workers 2] [--seconds 10] [--levels 0.25,0.5,0.75] [--max-rate N] [--linger MS]
//                            [--store embedded|redis] [--store-sync commit|checkpoint] [--burst N] …
//
// Each row also splits the latency into its stages (engine histograms event_to_store_{batching,worker,writing}):
// a record waiting for its batch to go to a worker, the worker's queue and work, the writer and the store.
// `--max-rate N` skips the measurement of the maximum and takes N (to compare two builds at the same offered load).
// Latency here is the engine's: from a record entering the engine (pushed by the source) to the store
// acknowledging its tiles, recorded per batch with the age of the batch's first record (so an upper bound for its
// other records). The generator paces itself in bursts (`--burst`, default the generator's 256 events).
import { numberList, num, type Options, type Row, type Scenario } from '../lib/scenario.ts'
import { PERCENTILES, runEngine, type EngineRunOptions, type EngineRunResult } from '../lib/engine-run.ts'

const pct = (p: number): string => (p === 100 ? 'max ms' : `p${p} ms`)

/** The knobs every scenario run shares (engine defaults where an option is 0 or negative). */
function knobs (o: Options): Partial<EngineRunOptions> {
  const out: { -readonly [K in keyof EngineRunOptions]?: EngineRunOptions[K] } = {}
  if (num(o, 'batch') > 0) out.batchRecords = num(o, 'batch')
  if (num(o, 'batch-max') > 0) out.batchRecordsMax = num(o, 'batch-max')
  if (num(o, 'in-flight') > 0) out.inFlight = num(o, 'in-flight')
  if (num(o, 'linger') >= 0) out.lingerMillis = num(o, 'linger')
  if (num(o, 'burst') > 0) out.burst = num(o, 'burst')
  const store = String(o.store)
  if (store !== 'embedded' && store !== 'redis') throw new Error(`--store must be embedded or redis, got ${store}`)
  out.store = store
  const sync = String(o['store-sync'])
  if (sync !== '') {
    if (sync !== 'commit' && sync !== 'checkpoint') throw new Error(`--store-sync must be commit or checkpoint, got ${sync}`)
    out.storeSync = sync
  }
  return out
}

/** p50 and p99 of each latency stage (ms): where a level's time goes. */
function stageCells (r: EngineRunResult): Row {
  const row: Row = {}
  for (const [name, v] of Object.entries(r.stages)) {
    row[`${name} p50`] = v[PERCENTILES.indexOf(50)]!
    row[`${name} p99`] = v[PERCENTILES.indexOf(99)]!
  }
  return row
}

export const scenario: Scenario = {
  name: 'latency',
  description: 'event→store latency p50/p99/p999 at fixed fractions of the engine\'s measured maximum rate (generator, always trigger, embedded LMDB)',
  options: {
    workers: { help: 'worker threads', default: 2 },
    keys: { help: 'distinct keys (uniform)', default: 100_000, quick: 20_000 },
    levels: { help: 'fractions of the maximum rate to measure at', default: '0.25,0.5,0.75' },
    seconds: { help: 'measured seconds per level', default: 10, quick: 3 },
    warmup: { help: 'seconds from the first store write to the measurement', default: 3, quick: 1.5 },
    'max-rate': { help: 'events/s taken as the maximum (0: measure it first)', default: 0 },
    batch: { help: 'records per worker batch while the worker keeps up; 0: engine default', default: 0 },
    'batch-max': { help: 'most records a batch grows to while the source outruns its worker; 0: engine default', default: 0 },
    'in-flight': { help: 'store requests in flight; 0: engine default', default: 0 },
    linger: { help: 'ms a partly filled batch waits; negative: engine default', default: -1 },
    burst: { help: 'events the paced generator hands over at a time (a power of two); 0: the generator\'s default', default: 0 },
    store: { help: 'embedded (LMDB) or redis (a redis-server started for each run)', default: 'embedded' },
    'store-sync': { help: 'the embedded store\'s flushing: commit or checkpoint; empty: the engine\'s default', default: '' }
  },
  smoke: { keys: 1000, seconds: 0.5, warmup: 0.3, levels: '0.5' },
  headline: 'p99 ms',
  async run (o) {
    const workers = num(o, 'workers')
    const keys = num(o, 'keys')
    const base = { workers, keys, warmupSeconds: num(o, 'warmup'), seconds: num(o, 'seconds'), ...knobs(o) }
    const rows: Row[] = []
    const lat = (r: { latency: number[] }): Row => Object.fromEntries(PERCENTILES.map((p, i) => [pct(p), r.latency[i]!]))
    let max = num(o, 'max-rate')
    if (max <= 0) {
      const m = await runEngine({ ...base, rate: 0 })
      max = m.eventsPerSecond
      // The generator sleeps up to a burst's worth of its rate at a time: far below this, stopping takes long.
      if (max < 10_000) throw new Error(`the engine's maximum measured ${Math.round(max)} events/s over ${num(o, 'seconds')} s: too little to pace levels by (a longer --seconds?)`)
      rows.push({ load: 'max', 'target ev/s': 0, 'events/s': Math.round(m.eventsPerSecond), ...lat(m), ...stageCells(m), samples: m.latencyCount })
      process.stderr.write(`latency: maximum ${Math.round(max).toLocaleString('en-US')} events/s\n`)
    }
    for (const f of numberList(o, 'levels')) {
      const target = Math.max(1, Math.round(max * f))
      const r = await runEngine({ ...base, rate: target })
      rows.push({ load: `${Math.round(f * 100)} %`, 'target ev/s': target, 'events/s': Math.round(r.eventsPerSecond), ...lat(r), ...stageCells(r), samples: r.latencyCount })
      process.stderr.write(`latency: ${Math.round(f * 100)} % = ${target.toLocaleString('en-US')} ev/s → ${Math.round(r.eventsPerSecond).toLocaleString('en-US')} ev/s, p50 ${r.latency[0]} ms, p99 ${r.latency[4]} ms, p999 ${r.latency[5]} ms (p99 batching ${r.stages.batching[4]}, worker ${r.stages.worker[4]}, writing ${r.stages.writing[4]} ms)\n`)
    }
    return { rows, extra: { percentiles: PERCENTILES, maxRate: max } }
  },
  summarize (rows) {
    const half = rows.find(r => r.load === '50 %')
    return half === undefined ? [] : [`at 50 % load (${Number(half['target ev/s']).toLocaleString('en-US')} ev/s): p50 ${half['p50 ms']} ms, p99 ${half['p99 ms']} ms, p999 ${half['p99.9 ms']} ms (issue 10 target: p99 ≤ 20 ms)`]
  }
}
