// Aggregation operations, plain TypeScript path: update rate per operation (events/s through RowAggregator.update,
// spread over 256 keys so IRs have typical tile sizes) and bytes per normalized IR (Avro, inside a tile) after a
// typical tile of 100 events. Prints a table and writes bench/results/agg-ops.json.
//
//   npm run bench:agg-ops            (AGG_BENCH_EVENTS=… to change the 300 000 events per operation)
import { RowAggregator } from '../src/agg/row.ts'
import { type DataType, T, typeToString } from '../src/api/data-type.ts'
import { type AggregationJson, Operation } from '../src/api/group-by.ts'
import { compilePlan, type Plan } from '../src/config/plan.ts'
import { compileEncoder, encodeToBytes } from '../src/codec/avro.ts'
import { isMain, writeResults } from './report.ts'

export const EVENTS = Number(process.env.AGG_BENCH_EVENTS ?? 300_000)
export const KEYS = 256
export const TILE_EVENTS = 100

let seed = 12345
function rnd (): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0
  return ((seed >>> 8) & 0xffffff) / 0x1000000
}
const words = Array.from({ length: 50 }, (_, i) => `item_${i.toString(36)}`)
const word = (): string => words[Math.floor(rnd() * rnd() * words.length)]!

export interface Scenario {
  label: string
  op: keyof typeof Operation
  type: DataType
  value: () => unknown
  argMap?: Record<string, string>
  bucketed?: boolean
  elementWise?: boolean
  flavour?: 'airbnb' | 'zipline'
}

const activity = T.struct('user_event_struct', [{ name: 'event_type', type: T.string }, { name: 'listing_id', type: T.long }, { name: 'timestamp', type: T.long }])
const ranked = T.struct('ranked', [{ name: 'sort_key', type: T.string }, { name: 'unique_id', type: T.long }])

export const scenarios: Scenario[] = [
  { label: 'COUNT(long)', op: 'COUNT', type: T.long, value: () => Math.floor(rnd() * 1000) },
  { label: 'SUM(long)', op: 'SUM', type: T.long, value: () => Math.floor(rnd() * 1000) },
  { label: 'SUM(double)', op: 'SUM', type: T.double, value: () => rnd() * 100 },
  { label: 'AVERAGE(double)', op: 'AVERAGE', type: T.double, value: () => rnd() * 100 },
  { label: 'VARIANCE(double)', op: 'VARIANCE', type: T.double, value: () => rnd() * 100 },
  { label: 'MIN(long)', op: 'MIN', type: T.long, value: () => Math.floor(rnd() * 1e6) },
  { label: 'MAX(double)', op: 'MAX', type: T.double, value: () => rnd() * 100 },
  { label: 'FIRST(double)', op: 'FIRST', type: T.double, value: () => rnd() * 100 },
  { label: 'LAST(long)', op: 'LAST', type: T.long, value: () => Math.floor(rnd() * 1e6) },
  { label: 'LAST(string)', op: 'LAST', type: T.string, value: word },
  { label: 'UNIQUE_COUNT(long, ~1000 distinct)', op: 'UNIQUE_COUNT', type: T.long, value: () => Math.floor(rnd() * 1000) },
  { label: 'UNIQUE_COUNT(string, 50 distinct)', op: 'UNIQUE_COUNT', type: T.string, value: word },
  { label: 'HISTOGRAM(string)', op: 'HISTOGRAM', type: T.string, value: word },
  { label: 'HISTOGRAM(list<string>, k=5)', op: 'HISTOGRAM', type: T.list(T.string), value: () => [word(), word()], argMap: { k: '5' } },
  { label: 'TOP_K(double, k=10)', op: 'TOP_K', type: T.double, value: () => rnd() * 100, argMap: { k: '10' } },
  { label: 'BOTTOM_K(long, k=10)', op: 'BOTTOM_K', type: T.long, value: () => Math.floor(rnd() * 1e6), argMap: { k: '10' } },
  { label: 'FIRST_K(string, k=10)', op: 'FIRST_K', type: T.string, value: word, argMap: { k: '10' } },
  { label: 'LAST_K(string, k=10)', op: 'LAST_K', type: T.string, value: word, argMap: { k: '10' } },
  { label: 'LAST_K(struct, k=128) [canary]', op: 'LAST_K', type: activity, value: () => ({ event_type: word(), listing_id: Math.floor(rnd() * 1e6), timestamp: 1_700_000_000_000 }), argMap: { k: '128' }, flavour: 'zipline' },
  { label: 'SKEW(double)', op: 'SKEW', type: T.double, value: () => rnd() * 100 },
  { label: 'KURTOSIS(double)', op: 'KURTOSIS', type: T.double, value: () => rnd() * 100 },
  { label: 'BOUNDED_UNIQUE_COUNT(string, k=8)', op: 'BOUNDED_UNIQUE_COUNT', type: T.string, value: word },
  { label: 'BOUNDED_UNIQUE_COUNT(long, k=8)', op: 'BOUNDED_UNIQUE_COUNT', type: T.long, value: () => Math.floor(rnd() * 1000) },
  { label: 'UNIQUE_TOP_K(long, k=10)', op: 'UNIQUE_TOP_K', type: T.long, value: () => Math.floor(rnd() * 1e6), argMap: { k: '10' }, flavour: 'zipline' },
  { label: 'UNIQUE_TOP_K(struct, k=10)', op: 'UNIQUE_TOP_K', type: ranked, value: () => { const id = Math.floor(rnd() * 1e5); return { sort_key: `k${id}`, unique_id: id } }, argMap: { k: '10' }, flavour: 'zipline' },
  { label: 'APPROX_UNIQUE_COUNT(long, lgK 8)', op: 'APPROX_UNIQUE_COUNT', type: T.long, value: () => Math.floor(rnd() * 1e6) },
  { label: 'APPROX_UNIQUE_COUNT(string, lgK 8)', op: 'APPROX_UNIQUE_COUNT', type: T.string, value: word },
  { label: 'APPROX_PERCENTILE(double, k=128)', op: 'APPROX_PERCENTILE', type: T.double, value: () => rnd() * 100, argMap: { k: '128', percentiles: '[0.5, 0.99]' } },
  { label: 'APPROX_HISTOGRAM_K(string, k=8)', op: 'APPROX_HISTOGRAM_K', type: T.string, value: word, argMap: { k: '8' } },
  { label: 'APPROX_FREQUENT_K(string, k=8)', op: 'APPROX_FREQUENT_K', type: T.string, value: word, argMap: { k: '8' }, flavour: 'zipline' },
  { label: 'APPROX_HEAVY_HITTERS_K(long, k=8)', op: 'APPROX_HEAVY_HITTERS_K', type: T.long, value: () => Math.floor(rnd() * rnd() * 1000), argMap: { k: '8' }, flavour: 'zipline' },
  { label: 'AVERAGE(double) by 4 buckets', op: 'AVERAGE', type: T.double, value: () => rnd() * 100, bucketed: true },
  { label: 'AVERAGE(map<string,double>, 4 keys)', op: 'AVERAGE', type: T.map(T.string, T.double), value: () => new Map([['a', rnd()], ['b', rnd()], ['c', rnd()], ['d', rnd()]]) },
  { label: 'AVERAGE(list<double>[8]) element-wise', op: 'AVERAGE', type: T.list(T.double), value: () => Array.from({ length: 8 }, () => rnd()), elementWise: true }
]

export interface Result { label: string, irType: string, updatesPerSec: number, nsPerUpdate: number, irBytesAfter100: number }

/** The one-aggregation GroupBy plan of a scenario (1-day window, key `id`, input `v`, bucket `b`). */
export function planFor (s: Scenario): Plan {
  const flavour = s.flavour ?? 'airbnb'
  const aggregation: AggregationJson = {
    inputColumn: 'v',
    operation: (Operation[s.op] as number) % 1000,
    argMap: s.argMap ?? {},
    windows: [{ length: 1, timeUnit: 1 }],
    buckets: s.bucketed === true ? ['b'] : null,
    elementWise: s.elementWise === true
  }
  return compilePlan({ metaData: { name: 'bench' }, sources: [{ events: { table: 't', query: {} } }], keyColumns: ['id'], aggregations: [aggregation] }, { flavour })
}

export function aggregatorFor (s: Scenario): RowAggregator {
  return new RowAggregator(planFor(s), [{ name: 'ts', type: T.long }, { name: 'v', type: s.type }, { name: 'b', type: T.string }])
}

/** The plain-TypeScript path: RowAggregator.update over KEYS IRs round-robin (sketch operations call their WASM kernel). */
export function run (s: Scenario): Result {
  const agg = aggregatorFor(s)
  const rows = Array.from({ length: 4096 }, (_, i) => [1_700_000_000_000 + i, s.value(), `b${i & 3}`])
  const irs = Array.from({ length: KEYS }, () => agg.init())
  const pass = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const row = rows[i & 4095]!
      agg.update(irs[i & (KEYS - 1)]!, row, row[0] as number)
    }
  }
  pass(Math.min(EVENTS, 50_000)) // warm-up
  const t0 = process.hrtime.bigint()
  pass(EVENTS)
  const ns = Number(process.hrtime.bigint() - t0)

  const tile = agg.init()
  for (let i = 0; i < TILE_EVENTS; i++) agg.update(tile, rows[i]!, rows[i]![0] as number)
  const enc = compileEncoder(agg.irSchema[0]!.irType)
  const bytes = encodeToBytes(enc, agg.normalize(tile)[0]).length
  return { label: s.label, irType: typeToString(agg.irSchema[0]!.irType), updatesPerSec: EVENTS / (ns / 1e9), nsPerUpdate: ns / EVENTS, irBytesAfter100: bytes }
}

function main (): void {
  const results = scenarios.map(run)
  const pad = (s: string, n: number): string => s.padEnd(n)
  console.log(`${pad('operation', 40)} ${'updates/s'.padStart(12)} ${'ns/update'.padStart(10)} ${'IR bytes/100 ev'.padStart(16)}`)
  for (const r of results) {
    console.log(`${pad(r.label, 40)} ${(r.updatesPerSec / 1e6).toFixed(2).padStart(10)} M ${r.nsPerUpdate.toFixed(0).padStart(10)} ${String(r.irBytesAfter100).padStart(16)}`)
  }

  const out = writeResults('agg-ops', { eventsPerOperation: EVENTS, keys: KEYS, tileEvents: TILE_EVENTS, results })
  console.log(`\nwrote ${out}`)
}

if (isMain(import.meta.url)) main()
