// End-to-end engine throughput: the synthetic generator → router → worker threads (decode, tile, WASM kernels,
// encode) → ordered KV writer → the embedded LMDB store, for the bundled SUM/COUNT/AVERAGE × 3 windows GroupBy.
// Each scenario runs in its own process (clean peak RSS); the parent prints the table and writes
// bench/results/engine.json.
//
//   npm run bench:engine                       all scenarios (1 and 2 workers, uniform and Zipf keys)
//   npm run bench:engine -- --events 2000000   events per scenario (default 3,000,000)
//
// bench/flink.ts imports the scenario list and the isolated runner to put Flink beside the same measurements.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { heapFlags } from '../src/cli/heap-flags.ts'
import { compilePlan } from '../src/config/plan.ts'
import { MemoryDeadLetters } from '../src/engine/dead-letter.ts'
import { Engine } from '../src/engine/engine.ts'
import { M } from '../src/metrics/metrics.ts'
import { EmbeddedStore } from '../src/sink/embedded-store.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../src/source/generator.ts'
import { printTable, writeResults } from './report.ts'

export const GROUP_BY = fileURLToPath(new URL('../../examples/group_bys/clicks.v1.json', import.meta.url))
/** The generator seed of every scenario, so other benchmarks can regenerate the same events. */
export const SEED = 42

/**
 * `rollups`: also write rolled-up 1 h / 1 d tiles (the CLI's `--rollups auto` for this GroupBy). Off by default: the
 * Flink job of bench:flink writes Chronon's tiles only, and the comparison must be of the same tiles.
 */
/** `batchMax`: most records a worker batch grows to (default the engine's; 8,192 = fixed batches, for A/B runs). */
export interface Scenario { workers: number, keys: number, zipf: number, events: number, trigger: string, rollups?: boolean, batchMax?: number }

export type Row = Record<string, number | string>

/** The scenarios `npm run bench:engine` measures. */
export function engineScenarios (events: number): Scenario[] {
  const scenarios: Scenario[] = []
  for (const workers of [1, 2]) for (const zipf of [0, 1.1]) scenarios.push({ workers, keys: 100_000, zipf, events, trigger: 'always' })
  scenarios.push({ workers: 2, keys: 100_000, zipf: 0, events, trigger: 'buffered:1000' })
  return scenarios
}

async function runScenario (s: Scenario): Promise<Row> {
  const groupBy = JSON.parse(readFileSync(GROUP_BY, 'utf8'))
  const plan = compilePlan(groupBy)
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-bench-'))
  const store = new EmbeddedStore(join(dir, 'store'))
  // Real-time event clock: events carry "now", as a live stream does; tiles close by the watermark as they would.
  const source = openGeneratorSource(plan, parseGeneratorOptions(`keys=${s.keys},zipf=${s.zipf},count=${s.events},seed=${SEED}`))
  let maxEntries = 0
  let stateAtMax = 0
  let keysAtMax = 0
  const engine = new Engine({
    groupBy,
    source,
    store,
    deadLetters: new MemoryDeadLetters(),
    workers: s.workers,
    trigger: s.trigger === 'always' ? { kind: 'always' } : { kind: 'buffered', millis: Number(s.trigger.split(':')[1]) },
    rollups: s.rollups === true ? null : [],
    ...(s.batchMax === undefined ? {} : { batch: { maxRecords: s.batchMax } }),
    progressMillis: 250,
    onProgress: p => { if (p.liveEntries > maxEntries) { maxEntries = p.liveEntries; stateAtMax = p.stateBytes; keysAtMax = p.liveKeys } },
    log: () => {}
  })
  const r = await engine.run()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  const seconds = r.elapsedMillis / 1000
  return {
    workers: s.workers,
    keys: s.keys,
    keyDist: s.zipf > 0 ? `zipf ${s.zipf}` : 'uniform',
    trigger: s.trigger,
    rollups: s.rollups === true ? '1h,1d' : 'none',
    events: r.records,
    seconds: Number(seconds.toFixed(2)),
    'events/s': Math.round(r.records / seconds),
    'MB/s': Number((r.bytesIn / seconds / 1e6).toFixed(2)),
    'tile writes': r.tilesWritten,
    'writes/event': Number((r.tilesWritten / r.records).toFixed(3)),
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    'p999 ms': r.latency.p999,
    'peak RSS MB': Math.round(process.resourceUsage().maxRSS / 1024),
    'state B/key': keysAtMax > 0 ? Math.round(stateAtMax / keysAtMax) : 0,
    'dead letters': engine.metrics.counter(M.deadLetters)
  }
}

/** Runs one scenario in a fresh process (clean heap, JIT and peak RSS) and returns its row. */
export function runScenarioIsolated (s: Scenario, timeoutMillis = 30 * 60_000): Row {
  const child = spawnSync(process.execPath, [...heapFlags([]), fileURLToPath(import.meta.url), '--scenario', JSON.stringify(s)], { encoding: 'utf8', maxBuffer: 1 << 24, timeout: timeoutMillis, killSignal: 'SIGKILL' })
  const line = child.stdout.split('\n').find(l => l.startsWith('RESULT '))
  if (child.status !== 0 || line === undefined) {
    process.stderr.write(child.stderr)
    throw new Error(`scenario ${JSON.stringify(s)} failed`)
  }
  return JSON.parse(line.slice(7)) as Row
}

async function main (args: string[]): Promise<void> {
  const one = args.indexOf('--scenario')
  if (one >= 0) {
    const result = await runScenario(JSON.parse(args[one + 1]!) as Scenario)
    process.stdout.write('RESULT ' + JSON.stringify(result) + '\n')
    return
  }
  const ev = args.indexOf('--events')
  const events = ev >= 0 ? Number(args[ev + 1]) : 3_000_000
  const rows: Row[] = []
  for (const s of engineScenarios(events)) {
    const row = runScenarioIsolated(s)
    rows.push(row)
    process.stderr.write(`  ${JSON.stringify(row)}\n`)
  }
  printTable(`tilekiln engine: generator → ${compilePlan(JSON.parse(readFileSync(GROUP_BY, 'utf8'))).name} (SUM/COUNT/AVERAGE × 1h/1d/7d) → embedded LMDB`, rows)
  process.stdout.write(`\nwritten ${writeResults('engine', rows)}\n`)
}

// Only when run as a script: bench/flink.ts imports this module for its runner.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2))
