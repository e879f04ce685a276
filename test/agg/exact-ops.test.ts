// Unit tests of the exact operations beyond the golden file: Zipline's UniqueTopKTest literals, LAST_K over a
// struct (Zipline's TileCodecTest), Java-order effects, the MD5 string digest, Scala 2.12 double ordering in the
// heaps, moments, and the registry's type rules and IR types.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { BoundedUniqueCount, SENTINEL_MARKER, javaSerializedString, md5OfJavaString } from '../../src/agg/bounded-unique-count.ts'
import { Histogram } from '../../src/agg/histogram.ts'
import { OrderByLimit } from '../../src/agg/k-heaps.ts'
import { IEEE_ORDERING } from '../../src/agg/min-heap.ts'
import { Kurtosis, Skew } from '../../src/agg/moments.ts'
import { simpleAggregator, UnsupportedAggregation } from '../../src/agg/registry.ts'
import { RowAggregator } from '../../src/agg/row.ts'
import { UniqueCount } from '../../src/agg/unique-count.ts'
import { UniqueTopK } from '../../src/agg/unique-top-k.ts'
import { DOUBLE_KEYS } from '../../src/agg/java-hash.ts'
import { type DataType, T, typeToString } from '../../src/api/data-type.ts'
import { Operation } from '../../src/api/group-by.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { TileCodec } from '../../src/codec/tile.ts'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { repoRoot } from '../helpers/reference.ts'
import { planOf, plain } from './golden-helpers.ts'

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'agg', 'vectors', 'java-vectors.json'), 'utf8'))

function fold<I, R> (agg: { prepare: (x: I, ts: number) => R, update: (ir: R, x: I, ts: number) => R }, xs: readonly I[]): R {
  let ir = agg.prepare(xs[0]!, 0)
  for (const x of xs.slice(1)) ir = agg.update(ir, x, 0)
  return ir
}

test('UNIQUE_TOP_K (Zipline UniqueTopKTest literals)', () => {
  const ints = new UniqueTopK<number>(T.int, 3)
  assert.deepEqual(ints.finalize(fold(ints, [5, 3, 8, 3, 1, 9, 5, 2])), [9, 8, 5])
  const five = new UniqueTopK<number>(T.int, 5)
  assert.deepEqual(five.finalize(fold(five, [1, 1, 1, 2, 2, 3, 3, 3, 3])), [3, 2, 1])
  const longs = new UniqueTopK<number>(T.long, 2)
  assert.deepEqual(longs.finalize(fold(longs, [100, 200, 50, 300, 100])), [300, 200])
  const strings = new UniqueTopK<string>(T.string, 3)
  assert.deepEqual(strings.finalize(fold(strings, ['apple', 'banana', 'cherry', 'apple', 'date', 'banana'])), ['date', 'cherry', 'banana'])
  const struct = T.struct('TestStruct', [{ name: 'sort_key', type: T.string }, { name: 'unique_id', type: T.long }, { name: 'value', type: T.int }])
  const structs = new UniqueTopK<unknown[]>(struct, 2)
  const top = structs.finalize(fold(structs, [['z', 1, 10], ['y', 2, 20], ['x', 3, 30], ['z', 1, 40], ['w', 4, 50]]))
  assert.deepEqual(top, [['z', 1, 10], ['y', 2, 20]])
  const a = fold(ints, [5, 3, 8])
  const b = fold(ints, [7, 1, 5])
  assert.deepEqual(ints.finalize(ints.merge(a, b)), [8, 7, 5])
  const two = new UniqueTopK<number>(T.int, 2)
  assert.deepEqual(two.finalize(fold(two, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), [10, 9])
  const twenty = Array.from({ length: 20 }, (_, i) => i + 1)
  const irTwenty = fold(ints, twenty)
  assert.ok(irTwenty.elems.length <= 6, 'kept loosely within 2k')
  assert.deepEqual(ints.finalize(irTwenty), [20, 19, 18])
  const s = fold(strings, ['zebra', 'apple', 'banana', 'cherry'])
  assert.deepEqual(strings.finalize(strings.denormalize(strings.normalize(s))), strings.finalize(strings.clone(s)))
})

test('UNIQUE_TOP_K: strings with one String.hashCode are one element; the first struct per unique_id wins', () => {
  const strings = new UniqueTopK<string>(T.string, 3)
  assert.deepEqual(strings.finalize(fold(strings, ['Aa', 'BB', 'C'])), ['C', 'Aa'])
  // Zipline's FlinkRowAggregationFunctionTest: ids 1,1,2,2,3,4 with sort keys 8,8,7,7,6,5, k = 2
  const struct = T.struct('S', [{ name: 'unique_id', type: T.long }, { name: 'sort_key', type: T.string }, { name: 'payload', type: T.string }])
  const agg = new UniqueTopK<unknown[]>(struct, 2)
  const rows = [[1, '8', 'a'], [1, '8', 'x'], [2, '7', 'b'], [2, '7', 'y'], [3, '6', 'c'], [4, '5', 'd']]
  assert.deepEqual(agg.finalize(fold(agg, rows)), [[1, '8', 'a'], [2, '7', 'b']])
})

test('LAST_K over a struct survives the tile round trip as positional structs (Zipline TileCodecTest)', () => {
  const activity = T.struct('activity_struct', [{ name: 'story_name', type: T.string }, { name: 'story_rating', type: T.float }])
  const plan = planOf('my_group_by', [{ op: 'LAST_K', col: 'activity', argMap: { k: '2' } }])
  const agg = new RowAggregator(plan, [{ name: 'created', type: T.long }, { name: 'activity', type: activity }])
  assert.equal(typeToString(agg.irSchema[0]!.irType), 'list<struct<epochMillis:long,payload:struct<story_name:string,story_rating:float>>>')
  const irs = agg.init()
  for (const [ts, title, rating] of [[1519862399984, 'A', 4.0], [1519862399984, 'B', 5.0], [1519862399988, 'C', 3.0]] as const) {
    agg.update(irs, [ts, { story_name: title, story_rating: rating }], ts)
  }
  const codec = new TileCodec(plan.cleanName, agg.irSchema)
  const back = agg.denormalize(codec.decode(codec.encode(agg.normalize(irs), false)).irs)
  assert.deepEqual(agg.finalize(back), [[['C', 3.0], ['B', 5.0]]])
  const schema = JSON.stringify(codec.avroSchema)
  assert.ok(schema.includes('"TimePair_struct_activity_struct"'), schema)
})

test('the BOUNDED_UNIQUE_COUNT digest is the MD5 of Java serialization (vectors from a JVM)', () => {
  assert.equal(toHex(javaSerializedString('abc')), 'aced0005740003616263')
  for (const [s, md5] of vectors.md5OfSerializedString) {
    const input = s === '<70000 letters a..z repeated>' ? Array.from({ length: 70000 }, (_, i) => String.fromCharCode(97 + i % 26)).join('') : s
    assert.equal(md5OfJavaString(input), md5, JSON.stringify(s).slice(0, 40))
  }
})

test('BOUNDED_UNIQUE_COUNT saturation: the sentinel for strings, k elements (or none) for numbers, both read back saturated', () => {
  const strings = new BoundedUniqueCount(T.string, 2)
  const sat = fold(strings, ['a', 'b', 'c'])
  assert.deepEqual(strings.normalize(sat), [SENTINEL_MARKER])
  assert.equal(strings.finalize(strings.denormalize([SENTINEL_MARKER])), 2)
  const unsat = fold(strings, ['a', 'a'])
  assert.deepEqual(strings.normalize(unsat), [md5OfJavaString('a')])
  const ints = new BoundedUniqueCount(T.int, 3)
  const full = fold(ints, [1, 2, 3, 4])
  assert.equal(ints.finalize(full), 3)
  const normalized = ints.normalize(full) as number[]
  assert.equal(normalized.length, 3)
  const back = ints.denormalize(normalized)
  assert.equal(ints.finalize(ints.update(back, 99)), 3)
  assert.equal(ints.finalize(ints.denormalize([])), 3, 'an empty set equals Chronon\'s sentinel')
  const viaSentinel = ints.merge(fold(ints, [1]), ints.denormalize([]))
  assert.deepEqual(ints.normalize(viaSentinel), [], 'saturated without k known elements')
})

test('HISTOGRAM top-k ties are broken by Java HashMap order, not insertion order', () => {
  const h = new Histogram(1)
  // "a" and "q" share bucket 1 of a 16-slot table, "z" sits in bucket 10: Java iterates a, q, z.
  const ir = fold(h, ['z', 'a', 'q'])
  assert.deepEqual([...h.finalize(ir)], [['a', 1]])
  assert.deepEqual([...(h.normalize(ir) as Map<string, number>).keys()], ['a', 'q', 'z'])
  const two = new Histogram(2)
  const ir2 = fold(two, ['z', 'a', 'q', 'z', 'q', 'b'])
  assert.deepEqual(Object.fromEntries(two.finalize(ir2)), { q: 2, z: 2 })
  const removed = two.delete(two.delete(ir2, 'z'), 'z')
  assert.equal(removed.has('z'), false, 'a count of 0 removes the key')
})

test('UNIQUE_COUNT normalizes to the JVM HashSet order', () => {
  const set = vectors.sets.find((s: any) => s.type === 'double')
  const parse = (v: unknown): number => (v === 'NaN' ? NaN : v === '-0' ? -0 : Number(v))
  const agg = new UniqueCount<number>(T.double, DOUBLE_KEYS)
  const ir = fold(agg, set.adds.map(parse))
  assert.deepEqual(agg.normalize(ir), set.order.map(parse))
  assert.equal(agg.finalize(ir), set.order.length)
})

test('TOP_K/BOTTOM_K on doubles use Scala 2.12 IEEE comparisons in the heap: a NaN root blocks smaller values', () => {
  const bottom = new OrderByLimit<number>(T.double, 2, IEEE_ORDERING, false)
  assert.deepEqual(bottom.finalize(fold(bottom, [NaN, 5, 1])), [5, NaN])
  const top = new OrderByLimit<number>(T.double, 2, IEEE_ORDERING, true)
  assert.deepEqual(top.finalize(fold(top, [3, -0, 0, 7])), [7, 3])
  assert.deepEqual(Object.is(top.finalize(fold(top, [-0, 0]))[1], -0), true, 'sorted with Double.compare: -0.0 < 0.0')
})

function twoPassMoments (xs: readonly number[]): { skew: number, kurtosis: number } {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / n
  let m2 = 0; let m3 = 0; let m4 = 0
  for (const x of xs) { const d = x - mean; m2 += d * d; m3 += d * d * d; m4 += d * d * d * d }
  return { skew: Math.sqrt(n) * m3 / Math.pow(m2, 1.5), kurtosis: n * m4 / (m2 * m2) - 3 }
}

test('SKEW and KURTOSIS (MomentTest): values, too few values, constant values, merge', () => {
  const xs = [1.1, 2.2, 3.3, 4.4, 5.5]
  const expected = twoPassMoments(xs)
  const skew = new Skew()
  const kurt = new Kurtosis()
  assert.ok(Math.abs(skew.finalize(fold(skew, xs)) - expected.skew) < 1e-12)
  assert.ok(Math.abs(kurt.finalize(fold(kurt, xs)) - expected.kurtosis) < 1e-12)
  assert.ok(Number.isNaN(skew.finalize(fold(skew, [1, 2]))))
  assert.ok(Number.isNaN(kurt.finalize(fold(kurt, [1, 2, 3]))))
  assert.ok(Number.isNaN(skew.finalize(fold(skew, [2, 2, 2, 2]))))
  const merged = skew.merge(fold(skew, [1.1, 2.2, 3.3]), fold(skew, [4.4, 5.5]))
  assert.ok(Math.abs(skew.finalize(merged) - expected.skew) < 1e-12)
  assert.equal((skew.normalize(merged) as number[]).length, 5)
})

function built (op: Operation, inputType: DataType, argMap: Record<string, string> = {}, flavour: 'airbnb' | 'zipline' = 'airbnb'): string {
  const { agg } = simpleAggregator(op, { inputType, argMap, flavour, path: 'aggregations[0]', groupBy: 'g' })
  return `${typeToString(agg.irType)} -> ${typeToString(agg.outputType)}`
}

test('IR and output types are Chronon\'s', () => {
  assert.equal(built(Operation.UNIQUE_COUNT, T.int), 'list<int> -> long')
  assert.equal(built(Operation.UNIQUE_COUNT, T.binary), 'list<binary> -> long')
  assert.equal(built(Operation.HISTOGRAM, T.string, { k: '3' }), 'map<string,int> -> map<string,int>')
  assert.equal(built(Operation.TOP_K, T.float, { k: '3' }), 'list<float> -> list<float>')
  assert.equal(built(Operation.FIRST_K, T.string, { k: '3' }), 'list<struct<epochMillis:long,payload:string>> -> list<string>')
  assert.equal(built(Operation.SKEW, T.int), 'list<double> -> double')
  assert.equal(built(Operation.KURTOSIS, T.float), 'list<double> -> double')
  assert.equal(built(Operation.BOUNDED_UNIQUE_COUNT, T.string), 'list<string> -> long')
  assert.equal(built(Operation.BOUNDED_UNIQUE_COUNT, T.long), 'list<long> -> long')
  assert.equal(built(Operation.UNIQUE_TOP_K, T.string, { k: '2' }, 'zipline'), 'list<string> -> list<string>')
  const avro = JSON.stringify(avroSchemaOf(simpleAggregator(Operation.LAST_K, { inputType: T.string, argMap: { k: '2' }, flavour: 'airbnb', path: '', groupBy: '' }).agg.irType))
  assert.equal(avro, '{"type":"array","items":{"type":"record","name":"TimePair_string","namespace":"ai.chronon.data","doc":"","fields":[{"name":"epochMillis","type":["null","long"],"doc":"","default":null},{"name":"payload","type":["null","string"],"doc":"","default":null}]}}')
})

test('input type rules refuse what Chronon refuses', () => {
  const refuses = (op: Operation, t: DataType, argMap: Record<string, string> = {}, flavour: 'airbnb' | 'zipline' = 'airbnb'): void => {
    assert.throws(() => simpleAggregator(op, { inputType: t, argMap, flavour, path: '', groupBy: '' }), UnsupportedAggregation, `${Operation[op]}(${typeToString(t)})`)
  }
  refuses(Operation.TOP_K, T.boolean, { k: '2' })
  refuses(Operation.UNIQUE_COUNT, T.boolean)
  refuses(Operation.SKEW, T.byte)
  refuses(Operation.SUM, T.byte)
  refuses(Operation.HISTOGRAM, T.int)
  refuses(Operation.BOUNDED_UNIQUE_COUNT, T.boolean)
  refuses(Operation.UNIQUE_TOP_K, T.double, { k: '2' }, 'zipline')
  refuses(Operation.UNIQUE_TOP_K, T.struct('S', [{ name: 'id', type: T.long }]), { k: '2' }, 'zipline')
  assert.throws(() => simpleAggregator(Operation.LAST_K, { inputType: T.string, argMap: {}, flavour: 'airbnb', path: '', groupBy: '' }), /k needs to be specified/)
})

test('a null map key: kept in memory (Chronon), refused by the encoder, or rejected up front with nothing changed', () => {
  const plan = planOf('maps', [{ op: 'SUM', col: 'm' }])
  const schema = [{ name: 'ts', type: T.long }, { name: 'm', type: T.map(T.string, T.int) }]
  const row = [1, new Map<string | null, number>([['a', 1], [null, 2]])]
  const keep = new RowAggregator(plan, schema)
  const irs = keep.update(keep.init(), row, 1)
  assert.deepEqual(plain(keep.finalize(irs)[0]), { __NULL_KEY__: 2, a: 1 })
  assert.throws(() => keep.normalize(irs), (e: unknown) => isTilekilnError(e) && e.code === 'TK_INPUT')
  const reject = new RowAggregator(plan, schema, { nullMapKeys: 'reject' })
  const clean = reject.update(reject.init(), [1, new Map([['a', 1]])], 1)
  assert.throws(() => reject.update(clean, row, 1), (e: unknown) => isTilekilnError(e) && e.code === 'TK_INPUT' && e.context.column === 'm_sum')
  assert.deepEqual(plain(reject.finalize(clean)[0]), { a: 1 })
})

test('a timed payload with a null list element is refused before anything changes (its tile could not be encoded)', () => {
  const plan = planOf('payloads', [{ op: 'LAST_K', col: 'l', argMap: { k: '2' } }, { op: 'COUNT', col: 'l' }])
  const agg = new RowAggregator(plan, [{ name: 'ts', type: T.long }, { name: 'l', type: T.list(T.int) }])
  const irs = agg.update(agg.init(), [1, [1, 2]], 1)
  assert.throws(() => agg.update(irs, [2, [3, null]], 2), (e: unknown) => isTilekilnError(e) && e.code === 'TK_INPUT' && /list element 1 is null/.test(e.message))
  assert.deepEqual(agg.finalize(irs), [[[1, 2]], 2], "COUNT over a list counts its elements")
})
