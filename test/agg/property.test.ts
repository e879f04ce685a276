// Property test: for every exact operation, seeded random events (several input types, nulls, duplicates, equal
// timestamps) are cut into random partial IRs (like tiles), each partial goes normalize → Avro tile encode →
// decode → denormalize, the partials are merged in a random tree shape (keeping their order, as a fetch merges
// tiles), expanded and finalized — and the result must equal the brute-force oracle (test/reference/naive-ops.ts,
// which shares no code with src/agg) over all the events. Doubles are compared within 1e-9 relative.
//
// What the oracle cannot pin down is left out of the inputs, not out of the comparison: NaN and −0.0 in
// TOP_K/BOTTOM_K (the Scala 2.12 IEEE heap makes their survival order-dependent), and UNIQUE_TOP_K ids whose sort
// key varies (first-seen-wins depends on merge order). Ties that Chronon resolves by HashMap order or heap
// position are expressed by the oracle's markers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RowAggregator } from '../../src/agg/row.ts'
import { type DataType, type StructField, T, parseType, typeToString } from '../../src/api/data-type.ts'
import { TileCodec } from '../../src/codec/tile.ts'
import { type NaiveColumn, type NaiveEvent, naiveFeatures } from '../reference/naive.ts'
import { GroupedList, OneOfMapEntries, matchesNaive } from '../reference/naive-ops.ts'
import { planOf, plain } from './golden-helpers.ts'

/** mulberry32: small, seedable, good enough for test data. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Rand = ReturnType<typeof prng>
const pick = <X>(r: Rand, xs: readonly X[]): X => xs[Math.floor(r() * xs.length)]!
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1))

const STRINGS = ['A', 'B', 'C', 'D', 'E', 'aa', 'bb', 'é', 'x y', 'Zz']
const ACTIVITY = T.struct('activity', [{ name: 'name', type: T.string }, { name: 'score', type: T.float }])
const RANKED = T.struct('ranked', [{ name: 'sort_key', type: T.string }, { name: 'unique_id', type: T.long }, { name: 'payload', type: T.string }])

interface Gen { type: DataType, value: (r: Rand) => unknown }

const scalar: Record<string, Gen> = {
  int: { type: T.int, value: r => int(r, -12, 12) },
  long: { type: T.long, value: r => pick(r, [0, 1, -1, 4242, 2 ** 40, -(2 ** 35), 7, 9007199254740991]) },
  double: { type: T.double, value: r => pick(r, [-2.5, -1, 0.5, 1, 3.25, 7, 1e-3]) * int(r, 1, 3) },
  doubleEdgy: { type: T.double, value: r => pick(r, [-0, 0, NaN, 1.5, -1.5, 2, Infinity]) },
  real: { type: T.double, value: r => (r() - 0.3) * 100 },
  float: { type: T.float, value: r => Math.fround(pick(r, [0.1, -0.75, 2.5, 3.3, -8])) },
  string: { type: T.string, value: r => pick(r, STRINGS) },
  binary: { type: T.binary, value: r => Uint8Array.of(int(r, 0, 3), int(r, 0, 1)) },
  activity: { type: ACTIVITY, value: r => ({ name: pick(r, STRINGS), score: Math.fround(int(r, 0, 8) / 4) }) },
  // one sort key per unique_id, distinct across ids, so "top k by key, distinct by id" has one answer
  ranked: { type: RANKED, value: r => { const id = int(r, 1, 30); return { sort_key: `k${String(id * 37 % 101).padStart(3, '0')}`, unique_id: id, payload: `p${id}` } } }
}

/** Lists with null elements (skipped when exploded); timed payloads get none, as those are refused (TK_INPUT). */
function listOf (g: Gen, nullElements = true): Gen {
  return { type: T.list(g.type), value: r => Array.from({ length: int(r, 0, 4) }, () => (nullElements && r() < 0.15 ? null : g.value(r))) }
}

interface Case { op: string, gen: Gen, argMap?: Record<string, string>, bucket?: boolean, flavour?: 'airbnb' | 'zipline' }

const k = (n: number): Record<string, string> => ({ k: String(n) })

const CASES: Case[] = [
  { op: 'COUNT', gen: scalar.string! },
  { op: 'SUM', gen: scalar.int! },
  { op: 'AVERAGE', gen: listOf(scalar.double!) },
  { op: 'VARIANCE', gen: scalar.real! },
  { op: 'MIN', gen: scalar.string! },
  { op: 'MAX', gen: scalar.float! },
  { op: 'FIRST', gen: scalar.activity! },
  { op: 'LAST', gen: scalar.string!, bucket: true },
  { op: 'UNIQUE_COUNT', gen: scalar.int! },
  { op: 'UNIQUE_COUNT', gen: scalar.doubleEdgy! },
  { op: 'UNIQUE_COUNT', gen: scalar.float! },
  { op: 'UNIQUE_COUNT', gen: scalar.long! },
  { op: 'UNIQUE_COUNT', gen: scalar.binary! },
  { op: 'UNIQUE_COUNT', gen: listOf(scalar.string!), bucket: true },
  { op: 'HISTOGRAM', gen: scalar.string! },
  { op: 'HISTOGRAM', gen: listOf(scalar.string!), argMap: k(2) },
  { op: 'HISTOGRAM', gen: scalar.string!, argMap: k(3), bucket: true },
  { op: 'TOP_K', gen: scalar.int!, argMap: k(3) },
  { op: 'TOP_K', gen: scalar.double!, argMap: k(1) },
  { op: 'TOP_K', gen: listOf(scalar.string!), argMap: k(4) },
  { op: 'BOTTOM_K', gen: scalar.float!, argMap: k(2) },
  { op: 'BOTTOM_K', gen: scalar.long!, argMap: k(5), bucket: true },
  { op: 'FIRST_K', gen: scalar.string!, argMap: k(2) },
  { op: 'LAST_K', gen: scalar.string!, argMap: k(3) },
  { op: 'LAST_K', gen: scalar.activity!, argMap: k(4) },
  { op: 'LAST_K', gen: listOf(scalar.int!, false), argMap: k(2), bucket: true },
  { op: 'SKEW', gen: scalar.real! },
  { op: 'SKEW', gen: scalar.int!, bucket: true },
  { op: 'KURTOSIS', gen: scalar.real! },
  { op: 'KURTOSIS', gen: listOf(scalar.float!) },
  { op: 'BOUNDED_UNIQUE_COUNT', gen: scalar.string!, argMap: k(5) },
  { op: 'BOUNDED_UNIQUE_COUNT', gen: scalar.int! },
  { op: 'BOUNDED_UNIQUE_COUNT', gen: scalar.doubleEdgy!, argMap: k(3) },
  { op: 'BOUNDED_UNIQUE_COUNT', gen: scalar.binary!, argMap: k(4) },
  { op: 'UNIQUE_TOP_K', gen: scalar.int!, argMap: k(3), flavour: 'zipline' },
  { op: 'UNIQUE_TOP_K', gen: scalar.string!, argMap: k(4), flavour: 'zipline' },
  { op: 'UNIQUE_TOP_K', gen: scalar.ranked!, argMap: k(2), flavour: 'zipline' },
  { op: 'UNIQUE_TOP_K', gen: scalar.long!, argMap: k(1), flavour: 'zipline', bucket: true }
]

const SEEDS_PER_CASE = 25

interface Event { ts: number, value: unknown, bucket: string | null }

function events (r: Rand, gen: Gen): Event[] {
  const base = 1_700_000_000_000
  return Array.from({ length: int(r, 0, 40) }, () => ({
    ts: base + int(r, 0, 8) * 1000, // few distinct timestamps: plenty of ties
    value: r() < 0.12 ? null : gen.value(r),
    bucket: r() < 0.1 ? null : pick(r, ['x', 'y', 'z'])
  }))
}

/** Struct outputs are positional arrays; the oracle sees the input objects. */
function positional (expected: unknown, isStruct: boolean): unknown {
  if (!isStruct) return expected
  const conv = (v: unknown): unknown => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.values(v) : v)
  if (expected instanceof GroupedList) return new GroupedList(expected.groups.map(g => ({ values: g.values.map(conv), take: g.take })))
  if (Array.isArray(expected)) return expected.map(conv)
  return conv(expected)
}

/**
 * Bucket maps, both sides: Chronon only creates a bucket when its input fed something (not for an empty list) and
 * does not NaN-sanitize map values, while the oracle keeps every bucket that had a non-null input and returns null
 * for "no value". Entries without a value are dropped on both sides; an empty map is no value.
 */
function bucketValues (v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof OneOfMapEntries) return v
  const kept = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== null && !(typeof x === 'number' && Number.isNaN(x)))
  return kept.length === 0 ? null : Object.fromEntries(kept)
}

function describe (v: unknown): string {
  return JSON.stringify(v, (_, x) => (x instanceof Uint8Array ? `bytes(${[...x].join(',')})` : typeof x === 'bigint' ? `${x}n` : Number.isNaN(x) ? 'NaN' : x))
}

function runCase (c: Case, seed: number): void {
  const r = prng(seed)
  const flavour = c.flavour ?? 'airbnb'
  const plan = planOf('prop', [{ op: c.op, col: 'v', argMap: c.argMap, bucket: c.bucket === true ? 'b' : undefined }], flavour)
  const schema: StructField[] = [{ name: 'ts', type: T.long }, { name: 'v', type: c.gen.type }, { name: 'b', type: T.string }]
  const agg = new RowAggregator(plan, schema)
  const codec = new TileCodec(plan.cleanName, agg.irSchema)
  const evs = events(r, c.gen)

  // contiguous partials, each through a real tile encode/decode
  const partials: unknown[][] = []
  for (let i = 0; i < evs.length || partials.length === 0;) {
    const n = int(r, 0, 6)
    const irs = agg.init()
    for (const e of evs.slice(i, i + n)) agg.update(irs, [e.ts, e.value, e.bucket], e.ts)
    i += n // n = 0 makes an empty partial (an all-null tile), which merges must skip
    partials.push(agg.denormalize(codec.decode(codec.encode(agg.normalize(irs), r() < 0.5)).irs))
  }
  const mergeRange = (lo: number, hi: number): unknown[] => {
    if (hi - lo === 1) return r() < 0.3 ? agg.merge(agg.init(), partials[lo]!) : partials[lo]!
    const mid = int(r, lo + 1, hi - 1)
    return agg.merge(mergeRange(lo, mid), mergeRange(mid, hi))
  }
  const merged = mergeRange(0, partials.length)

  const column: NaiveColumn = {
    name: 'v', inputColumn: 'v', bucket: c.bucket === true ? 'b' : null, window: { millis: null, hopMillis: 0 },
    op: c.op, argMap: c.argMap ?? {}, inputType: typeToString(c.gen.type)
  }
  const naiveEvents: NaiveEvent[] = evs.map(e => ({ ts: e.ts, row: { v: e.value, b: e.bucket } }))
  const isStruct = c.gen.type.kind === 'struct'
  let expected = naiveFeatures(naiveEvents, [column], Number.MAX_SAFE_INTEGER, 1).v
  let actual = plain(agg.finalizeWindowed(agg.expand(merged))[0])
  if (c.bucket === true) {
    if (expected !== null) expected = Object.fromEntries(Object.entries(expected as Record<string, unknown>).map(([b, x]) => [b, positional(x, isStruct)]))
    expected = bucketValues(expected)
    actual = bucketValues(actual)
  } else {
    expected = positional(expected, isStruct)
  }
  assert.ok(matchesNaive(actual, expected),
    `${c.op}(${typeToString(c.gen.type)}${c.bucket === true ? ' by b' : ''}) ${describe(c.argMap ?? {})} seed ${seed}, ${evs.length} events in ${partials.length} partials\n` +
    `  engine: ${describe(actual)}\n  oracle: ${describe(expected instanceof OneOfMapEntries || expected instanceof GroupedList ? { marker: expected } : expected)}\n` +
    `  events: ${describe(evs)}`)
}

for (const c of CASES) {
  test(`property: ${c.op}(${typeToString(c.gen.type)})${c.bucket === true ? ' bucketed' : ''} ${c.argMap === undefined ? '' : describe(c.argMap)}`, () => {
    for (let s = 1; s <= SEEDS_PER_CASE; s++) runCase(c, s * 7919 + CASES.indexOf(c))
  })
}

test('the property cases cover every exact operation', () => {
  const ops = new Set(CASES.map(c => c.op))
  for (const op of ['UNIQUE_COUNT', 'HISTOGRAM', 'TOP_K', 'BOTTOM_K', 'FIRST_K', 'LAST_K', 'SKEW', 'KURTOSIS', 'BOUNDED_UNIQUE_COUNT', 'UNIQUE_TOP_K']) {
    assert.ok(ops.has(op), op)
  }
  assert.ok(parseType('list<string>'))
})
