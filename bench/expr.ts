// Benchmark: selects + wheres + timeColumn per event, generated code vs the naive interpreter (expr-interpreter.ts).
//
//   (a) pass-through: plain column references (quickstart purchases.v1: user_id, purchase_price, ts)
//   (b) the Zipline item_event_canary: four IF flags, EXPLODE(TRANSFORM(SPLIT(COALESCE(attributes[…])))) and an IN
//       where, over generated item events (a fifth of them rejected by the where, 1–3 listing ids each)
//
// Rows/s counts input records evaluated per second on one thread; the canary also reports output rows/s (after
// the where and the explode). Each figure is the median of 5 timed rounds after a warm-up, so a noisy neighbour
// costs one round, not the result. hdr-histogram is not used: per-record latency is tens of nanoseconds, below
// what a timer around one call can measure, so only throughput is meaningful here.
//
//   npm run bench:expr            prints a table, writes bench/results/expr.json, exits 1 if a target is missed
//                                 (with rounds of 100 ms or more: shorter ones cannot time it)

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type StructType, T } from '../src/api/data-type.ts'
import { compileQuery } from '../src/expr/compile.ts'
import type { QuerySpec } from '../src/expr/query.ts'
import { interpretQuery } from './expr-interpreter.ts'
import { writeResults } from './report.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300)
const ROUNDS = 5
const TARGET_PASS_THROUGH = 2_000_000
const TARGET_SPEEDUP = 5

type Run = (record: Readonly<Record<string, unknown>>, out: unknown[], emit: () => void) => void

interface Scenario {
  readonly name: string
  readonly spec: QuerySpec
  readonly schema: StructType
  readonly needed: readonly string[]
  readonly records: readonly Record<string, unknown>[]
}

function referenceFile (...parts: string[]): string | null {
  const base = process.env.TILEKILN_REFERENCE ?? join(root, 'test', 'fixtures')
  const p = join(base, ...parts)
  return existsSync(p) ? p : null
}

/** xorshift32: the same records on every run. */
function rng (seed: number): () => number {
  let x = seed
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 4294967296 }
}

function passThrough (): Scenario {
  const schema = T.struct('Purchase', [
    { name: 'user_id', type: T.string }, { name: 'purchase_price', type: T.long }, { name: 'ts', type: T.long }
  ]) as StructType
  const r = rng(1)
  const records = Array.from({ length: 4096 }, () => ({
    user_id: String(Math.floor(r() * 100)), purchase_price: Math.floor(r() * 500), ts: 1_699_874_292_000 + Math.floor(r() * 1e9)
  }))
  return {
    name: '(a) pass-through: user_id, purchase_price, ts',
    spec: { selects: { user_id: 'user_id', purchase_price: 'purchase_price' }, wheres: [], timeColumn: 'ts', groupBy: 'quickstart.purchases.v1', path: 'sources[0].events.query' },
    schema,
    needed: ['user_id', 'purchase_price'],
    records
  }
}

function canary (): Scenario {
  const file = referenceFile('chronon', 'group_bys', 'zipline-chronon', 'python', 'test', 'canary', 'compiled', 'group_bys', 'gcp', 'item_event_canary.actions_v1__0')
  if (file === null) throw new Error('the Zipline canary GroupBy is missing from test/fixtures/chronon/group_bys (or TILEKILN_REFERENCE)')
  const gb = JSON.parse(readFileSync(file, 'utf8'))
  const query = gb.sources[0].events.query
  // Zipline's FlinkKafkaItemEventDriver Avro schema
  const schema = T.struct('Event', [
    { name: 'event_type', type: T.string }, { name: 'timestamp', type: T.long }, { name: 'visitor_id', type: T.string },
    { name: 'is_primary', type: T.boolean }, { name: 'logger_name', type: T.string }, { name: 'source', type: T.string },
    { name: 'is_mobile_req', type: T.boolean }, { name: 'is_mobile_device', type: T.boolean }, { name: 'is_mobile_view', type: T.boolean },
    { name: 'item_ids', type: T.list(T.long) }, { name: 'created_at', type: T.long }, { name: 'attributes', type: T.map(T.string, T.string) }
  ]) as StructType
  const types = ['backend_add_to_cart', 'view_listing', 'backend_cart_payment', 'backend_favorite_item2', 'search']
  const r = rng(2)
  const ids = (): string => Array.from({ length: 1 + Math.floor(r() * 3) }, () => String(100_000 + Math.floor(r() * 900_000))).join(',')
  const records = Array.from({ length: 4096 }, (_, k) => {
    const type = types[k % types.length]!
    const attributes: Record<string, string> = type === 'backend_cart_payment' ? { sold_listing_ids: ids(), listing_id: ids() } : { listing_id: ids() }
    return {
      event_type: type, timestamp: 1_700_000_000_000 + k, visitor_id: `v${k % 977}`, is_primary: true, logger_name: 'web',
      source: 'canary', is_mobile_req: false, is_mobile_device: false, is_mobile_view: false, item_ids: null, created_at: null, attributes
    }
  })
  return {
    name: '(b) item_event_canary selects + wheres',
    spec: { selects: query.selects, wheres: query.wheres, timeColumn: query.timeColumn, groupBy: gb.metaData.name, path: 'sources[0].events.query' },
    schema,
    needed: ['listing_id', 'add_cart', 'view', 'purchase', 'favorite'],
    records
  }
}

interface Measure { recordsPerSec: number, rowsPerSec: number }

/**
 * The timing loop is compiled afresh for every measurement, so each has its own monomorphic call site: a loop
 * shared by the compiled and the interpreted runs would become polymorphic and penalise whichever runs second.
 */
function freshLoop (): (run: Run, records: readonly Record<string, unknown>[], out: unknown[], emit: () => void) => void {
  // eslint-disable-next-line no-new-func
  return new Function('run', 'records', 'out', 'emit', 'for (let i = 0; i < records.length; i++) run(records[i], out, emit)') as ReturnType<typeof freshLoop>
}

/** Median of ROUNDS timed rounds of ROUND_MS each, after a warm-up round. */
function measure (run: Run, records: readonly Record<string, unknown>[]): Measure {
  const out: unknown[] = []
  let rows = 0
  let sink = 0
  const emit = (): void => { rows++; if (out[0] === sink) sink++ }
  const loop = freshLoop()
  const n = records.length
  const round = (ms: number): Measure => {
    rows = 0
    let done = 0
    const start = process.hrtime.bigint()
    const limit = start + BigInt(ms * 1e6)
    let now = start
    do {
      loop(run, records, out, emit)
      done += n
      now = process.hrtime.bigint()
    } while (now < limit)
    const sec = Number(now - start) / 1e9
    return { recordsPerSec: done / sec, rowsPerSec: rows / sec }
  }
  round(ROUND_MS)
  const results = Array.from({ length: ROUNDS }, () => round(ROUND_MS)).sort((a, b) => a.recordsPerSec - b.recordsPerSec)
  if (sink < 0) console.log(sink)
  return results[Math.floor(ROUNDS / 2)]!
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

function main (): void {
  const results = []
  for (const sc of [passThrough(), canary()]) {
    const compiled = compileQuery(sc.spec, sc.schema, sc.needed)
    const interpreted = interpretQuery(sc.spec, sc.schema, sc.needed)
    // both must produce the same rows before their speed means anything
    const a: unknown[][] = []
    const b: unknown[][] = []
    const out: unknown[] = []
    for (const rec of sc.records.slice(0, 200)) {
      compiled.run(rec, out, () => a.push([...out]))
      interpreted(rec, out, () => b.push([...out]))
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${sc.name}: compiled and interpreted rows differ`)
    const c = measure(compiled.run, sc.records)
    const i = measure(interpreted, sc.records)
    results.push({ scenario: sc.name, compiled: c, interpreter: i, speedup: c.recordsPerSec / i.recordsPerSec })
  }

  const header = ['scenario', 'compiled rec/s', 'interpreter rec/s', 'speedup', 'compiled out rows/s']
  const table = results.map(r => [r.scenario, fmt(r.compiled.recordsPerSec), fmt(r.interpreter.recordsPerSec), `${r.speedup.toFixed(1)}x`, fmt(r.compiled.rowsPerSec)])
  const widths = header.map((h, k) => Math.max(h.length, ...table.map(row => row[k]!.length)))
  const line = (cells: string[]): string => '| ' + cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join(' | ') + ' |'
  console.log(line(header))
  console.log('|' + widths.map((w, k) => (k === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|')
  for (const row of table) console.log(line(row))

  const pass = results[0]!.compiled.recordsPerSec >= TARGET_PASS_THROUGH && results.every(r => r.speedup >= TARGET_SPEEDUP)
  console.log(`\ntargets: pass-through ≥ ${fmt(TARGET_PASS_THROUGH)} rec/s, compiled ≥ ${TARGET_SPEEDUP}x the interpreter → ${pass ? 'met' : 'MISSED'}`)
  console.log(`node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms, median`)

  writeResults('expr', {
    roundMs: ROUND_MS,
    rounds: ROUNDS,
    targets: { passThroughRecordsPerSec: TARGET_PASS_THROUGH, speedup: TARGET_SPEEDUP, met: pass },
    results
  })
  // A missed target fails the run only when its rounds are long enough to time: the smoke test's 20 ms rounds, beside
  // the rest of the suite on two cores, measure the scheduler (it failed on the Node 24 CI leg at 20 ms).
  if (!pass && ROUND_MS >= 100) process.exitCode = 1
}

main()
