// Hardening, keys and numbers (issue 12, item 1): a number outside what its declared type holds, or a string key
// that is not valid Unicode, is a dead letter with its reason — never wrapped, truncated or rounded into another key
// or tile. Before: a JSON `k` of 2^64 became key 0 and replaced key 0's tile, "\ud800" replaced "\ufffd", a `ts` of
// 2^64 + T wrapped into another year, 1e300 became 0, a 99-digit CSV amount turned a SUM negative.
//
// Each type gets a matrix of out-of-range values in the key, the value and the time column, for JSON lines and CSV
// with an explicit schema (and Avro container files for the Avro-only cases); every bad line must be dead-lettered
// with the right reason and the store must equal the clean run's byte for byte. Two workers, so routing is tested.
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import avro from 'avsc'
import { KeyCodec } from '../../src/codec/key.ts'
import { ByteWriter } from '../../src/codec/bytes.ts'
import { keyValueProblem, numberCheck, numberProblem } from '../../src/codec/value-range.ts'
import { T } from '../../src/api/data-type.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { tilekiln } from '../helpers/cli.ts'
import { groupBy, runFile, T0, tempDir, writeLines } from './helpers.ts'

interface Bad { readonly text: string, readonly field: 'k' | 'v' | 'ts', readonly reason: RegExp }

interface TypeCase {
  readonly type: string
  /** Good (k, v) texts as JSON literals; also used as CSV cells (strings unquoted). */
  readonly good: readonly (readonly [string, string])[]
  readonly bad: readonly Bad[]
  /** Only in CSV (a cell is text: these are not numbers at all). */
  readonly csvBad?: readonly Bad[]
  readonly valueType?: string
}

const TWO64 = '18446744073709551616'
const range = /outside the range/
const notInt = /is not an integer/
const inexact = /beyond ±\(2\^53 - 1\)/
const badTs: Bad[] = [
  { text: String(2n ** 64n + BigInt(T0)), field: 'ts', reason: inexact },
  { text: '1e300', field: 'ts', reason: inexact },
  { text: '9007199254740993', field: 'ts', reason: inexact },
  { text: '-1e20', field: 'ts', reason: inexact },
  { text: '1.5', field: 'ts', reason: notInt }
]
const fieldReason = (field: string, type: string, why: RegExp): RegExp => new RegExp(`field '${field}' should be ${type}.*${why.source}`)

const CASES: TypeCase[] = [
  {
    type: 'byte',
    good: [['-128', '1'], ['127', '2'], ['0', '-128'], ['5', '127']],
    bad: [
      { text: '128', field: 'k', reason: range }, { text: '-129', field: 'k', reason: range }, { text: '1.5', field: 'k', reason: notInt },
      { text: '1e300', field: 'k', reason: range }, { text: TWO64, field: 'k', reason: range }, { text: '300', field: 'v', reason: range }
    ]
  },
  {
    type: 'short',
    good: [['-32768', '1'], ['32767', '2'], ['0', '-32768']],
    bad: [{ text: '32768', field: 'k', reason: range }, { text: '-32769', field: 'k', reason: range }, { text: '2.5', field: 'k', reason: notInt }, { text: '1e10', field: 'v', reason: range }]
  },
  {
    type: 'int',
    good: [['-2147483648', '1'], ['2147483647', '2'], ['0', '2147483647']],
    bad: [
      { text: '2147483648', field: 'k', reason: range }, { text: '-2147483649', field: 'k', reason: range }, { text: '4294967296', field: 'k', reason: range },
      { text: '0.5', field: 'k', reason: notInt }, { text: '1e300', field: 'k', reason: range }, { text: TWO64, field: 'k', reason: range },
      { text: '2147483648', field: 'v', reason: range }
    ]
  },
  {
    type: 'long',
    good: [['0', '3'], ['9007199254740991', '1'], ['-9007199254740991', '2'], ['0', '197'], ['0', '400'], ['1', '1']],
    bad: [
      { text: TWO64, field: 'k', reason: inexact }, { text: '9223372036854775808', field: 'k', reason: inexact },
      { text: '-9223372036854775809', field: 'k', reason: inexact }, { text: '9007199254740993', field: 'k', reason: inexact },
      { text: '9007199254740992', field: 'k', reason: inexact }, { text: '1e300', field: 'k', reason: inexact },
      { text: '1.5', field: 'k', reason: notInt }, { text: '1e19', field: 'k', reason: inexact },
      { text: '1e300', field: 'v', reason: inexact }, { text: '9'.repeat(99), field: 'v', reason: inexact }
    ]
  },
  {
    type: 'float',
    good: [['3.4028234663852886e38', '1'], ['0.1', '0.5'], ['-2', '3.4028234663852886e38']],
    bad: [{ text: '1e39', field: 'k', reason: range }, { text: '-3.5e38', field: 'k', reason: range }, { text: '1e39', field: 'v', reason: range }]
  },
  {
    type: 'double',
    good: [['1e300', '1'], ['-0.5', '2'], ['0.1', '1e300']],
    bad: [],
    csvBad: [
      { text: '0x10', field: 'k', reason: /field 'k' should be double/ }, { text: '1_0', field: 'k', reason: /field 'k' should be double/ },
      { text: ' ', field: 'v', reason: /field 'v' should be double/ }, { text: '1e', field: 'v', reason: /field 'v' should be double/ }
    ]
  },
  {
    type: 'string',
    valueType: 'double',
    // "\ufffd" is the character a lone surrogate would be written as: it must keep its own tile.
    good: [['"\\ufffd"', '1'], ['"a"', '2'], ['"é😀"', '3'], ['"\\ufffd"', '4']],
    bad: [
      { text: '"\\ud800"', field: 'k', reason: /bad key: key column 'k' \(string\): .*not valid Unicode/ },
      { text: '"a\\udfffb"', field: 'k', reason: /not valid Unicode/ },
      { text: '"\\ud83d"', field: 'k', reason: /not valid Unicode/ }
    ]
  }
]

function schemaOf (c: TypeCase): unknown {
  const avroType = (t: string): unknown => (t === 'byte' || t === 'short' ? { type: 'int', logicalType: t } : t)
  return { type: 'record', name: 'E', fields: [{ name: 'k', type: ['null', avroType(c.type)] }, { name: 'v', type: ['null', avroType(c.valueType ?? c.type)] }, { name: 'ts', type: ['null', 'long'] }] }
}

/** Good lines with bad ones after every good one (cycling), as JSON objects or CSV rows; line numbers of the bad. */
function mix (c: TypeCase, bad: readonly Bad[], csv: boolean): { clean: string[], attacked: string[], badLines: Map<number, Bad> } {
  const line = (k: string, v: string, ts: string): string => (csv ? `${k.replace(/^"|"$/g, '')},${v},${ts}` : `{"k":${k},"v":${v},"ts":${ts}}`)
  const head = csv ? ['k,v,ts'] : []
  const clean = [...head]
  const attacked = [...head]
  const badLines = new Map<number, Bad>()
  const n = Math.max(c.good.length, bad.length)
  for (let i = 0; i < n; i++) {
    const [k, v] = c.good[i % c.good.length]!
    const ts = String(T0 + i * 60_000)
    if (i < c.good.length) { clean.push(line(k, v, ts)); attacked.push(line(k, v, ts)) }
    const b = bad[i]
    if (b === undefined) continue
    attacked.push(line(b.field === 'k' ? b.text : k, b.field === 'v' ? b.text : v, b.field === 'ts' ? b.text : ts))
    badLines.set(attacked.length, b)
  }
  return { clean, attacked, badLines }
}

function assertDead (dead: readonly { position: number, code: string, reason: string }[], badLines: Map<number, Bad>, c: TypeCase, what: string): void {
  assert.deepEqual(dead.map(d => d.position), [...badLines.keys()].sort((a, b) => a - b), `${what}: dead-lettered lines`)
  for (const d of dead) {
    const b = badLines.get(d.position)!
    const at = `${what}, line ${d.position} (${b.field} = ${b.text})`
    assert.equal(d.code, 'TK_INPUT', `${at}: ${d.reason}`)
    const typed = b.field === 'ts' ? 'long' : b.field === 'v' ? (c.valueType ?? c.type) : c.type
    const full = /^(bad key|field|not valid)/.test(b.reason.source) ? b.reason : fieldReason(b.field, typed, b.reason)
    assert.match(d.reason, full, at)
  }
}

for (const c of CASES) {
  test(`${c.type}: out-of-range keys, values and event times are dead letters (JSON and CSV, explicit schema); the store is the clean run's`, async () => {
    const tmp = tempDir(`keys-${c.type}`)
    try {
      const schema = schemaOf(c)
      // SUM (and MIN/MAX) take no byte, as in Chronon: COUNT alone then.
      const gb = groupBy(`test.keys_${c.type}.v1`, c.type === 'byte' ? [{ inputColumn: 'v', operation: 6 }] : undefined)
      const json = mix(c, [...c.bad, ...badTs], false)
      const clean = await runFile(gb, writeLines(join(tmp.dir, 'clean.jsonl'), json.clean), { source: { schema } })
      assert.deepEqual(clean.dead, [], 'the clean run has no dead letter')
      assert.ok(clean.lines.length > 1)
      const attacked = await runFile(gb, writeLines(join(tmp.dir, 'attacked.jsonl'), json.attacked), { source: { schema } })
      assertDead(attacked.dead, json.badLines, c, `${c.type} JSON`)
      assert.deepEqual(attacked.lines, clean.lines, `${c.type} JSON: the store equals the clean run's`)
      if (c.type === 'string') return // a lone surrogate cannot be written in a UTF-8 file
      const csvBad = [...c.bad, ...(c.csvBad ?? []), ...badTs]
      const csv = mix(c, csvBad, true)
      const csvRun = await runFile(gb, writeLines(join(tmp.dir, 'attacked.csv'), csv.attacked), { source: { schema } })
      assertDead(csvRun.dead, csv.badLines, c, `${c.type} CSV`)
      assert.deepEqual(csvRun.lines, clean.lines, `${c.type} CSV: the store equals the clean JSON run's`)
    } finally {
      tmp.remove()
    }
  })
}

test('key 2^64 does not replace key 0: the three events of key 0 keep their sum (the reproduction)', async () => {
  const tmp = tempDir('keys-2-64')
  try {
    const gb = groupBy('test.keys_alias.v1')
    const good = [0, 1, 2].map(i => `{"k":0,"v":${[100, 200, 300][i]},"ts":${T0 + i}}`)
    // Inferred schema, as the README's quick start runs it.
    const r = await runFile(gb, writeLines(join(tmp.dir, 'e.jsonl'), [...good, `{"k":${TWO64},"v":1,"ts":${T0 + 5}}`]), { keys: [[0]] })
    assert.deepEqual(r.features, [{ v_count: 3, v_sum: 600 }])
    assert.equal(r.dead.length, 1)
    assert.match(r.dead[0]!.reason, /field 'k' should be long, got number 18446744073709552000: .*beyond/)
  } finally {
    tmp.remove()
  }
})

test('short/byte Avro ints out of range and timestamp-millis beyond ±285,000 years are dead letters (Avro container)', async () => {
  const tmp = tempDir('keys-avro')
  try {
    const schema = { type: 'record', name: 'E', fields: [{ name: 'k', type: { type: 'int', logicalType: 'short' } }, { name: 'v', type: { type: 'int', logicalType: 'byte' } }, { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } }] }
    const write = async (path: string, recs: object[]): Promise<string> => {
      // The schema itself, not a type: avsc then writes it to the header whole, logical types included. Piped to a
      // file stream of our own and awaited until that stream is done: the encoder's 'finish' (and a 20 ms sleep after
      // it, as before) says nothing about the file's bytes, and on a loaded machine the run read a truncated file.
      const enc = new avro.streams.BlockEncoder(schema as avro.Schema)
      const written = pipeline(enc, createWriteStream(path))
      for (const r of recs) enc.write(r)
      enc.end()
      await written
      return path
    }
    const good = [{ k: 1, v: 5, ts: T0 }, { k: 2, v: -128, ts: T0 + 1 }, { k: -32768, v: 127, ts: T0 + 2 }, { k: 1, v: 1, ts: T0 + 3 }]
    const bad = [{ k: 40000, v: 1, ts: T0 }, { k: 1, v: 200, ts: T0 }, { k: 1, v: 1, ts: 2 ** 52 }]
    const gb = groupBy('test.keys_avro.v1', [{ inputColumn: 'v', operation: 6 }])
    const clean = await runFile(gb, await write(join(tmp.dir, 'clean.avro'), good))
    assert.deepEqual(clean.dead, [])
    const attacked = await runFile(gb, await write(join(tmp.dir, 'attacked.avro'), [good[0]!, bad[0]!, good[1]!, bad[1]!, good[2]!, bad[2]!, good[3]!]))
    assert.deepEqual(attacked.dead.map(d => [d.position, d.code]), [[2, 'TK_INPUT'], [4, 'TK_INPUT'], [6, 'TK_DECODE']])
    assert.match(attacked.dead[0]!.reason, /field 'k' should be short, got number 40000: 40000 is outside the range of short/)
    assert.match(attacked.dead[1]!.reason, /field 'v' should be byte, got number 200/)
    assert.match(attacked.dead[2]!.reason, /timestamp-millis 4503599627370496 is out of range/)
    assert.deepEqual(attacked.lines, clean.lines)
  } finally {
    tmp.remove()
  }
})

test('the main thread routes a float key by the value the worker aggregates (rounded to 32 bits first)', async () => {
  const tmp = tempDir('keys-float-route')
  try {
    const schema = { type: 'record', name: 'E', fields: [{ name: 'k', type: 'float' }, { name: 'v', type: 'long' }, { name: 'ts', type: 'long' }] }
    const gb = groupBy('test.keys_float.v1')
    // 0.1, 0.2, … and their float32 roundings are one key each; written both ways, they must land in one tile.
    const exact = [0.1, 0.2, 0.3, 0.7, 1.1, 2.3, 3.3, 5.9]
    const line = (k: number, i: number): string => `{"k":${k},"v":${i},"ts":${T0 + i}}`
    const rounded = exact.flatMap((k, i) => [line(Math.fround(k), 2 * i), line(Math.fround(k), 2 * i + 1)])
    const mixed = exact.flatMap((k, i) => [line(k, 2 * i), line(Math.fround(k), 2 * i + 1)])
    const a = await runFile(gb, writeLines(join(tmp.dir, 'a.jsonl'), rounded), { source: { schema } })
    const b = await runFile(gb, writeLines(join(tmp.dir, 'b.jsonl'), mixed), { source: { schema } })
    assert.deepEqual(b.dead, [])
    assert.deepEqual(b.lines, a.lines)
  } finally {
    tmp.remove()
  }
})

test('value ranges: what each type holds', () => {
  assert.equal(numberProblem('int', 2147483647), null)
  assert.match(numberProblem('int', 2147483648)!, /outside the range of int/)
  assert.match(numberProblem('long', 2 ** 53)!, /beyond/)
  assert.equal(numberProblem('long', 2n ** 63n - 1n), null)
  assert.match(numberProblem('long', 2n ** 63n)!, /outside the range of a long/)
  assert.equal(numberProblem('float', Infinity), null)
  assert.match(numberProblem('float', 1e39)!, /outside the range of a float/)
  assert.equal(numberProblem('double', 1e308), null)
  assert.match(keyValueProblem(T.string, '\udc00')!, /not valid Unicode/)
  assert.equal(keyValueProblem(T.string, '\ud83d\ude00'), null)
  assert.match(keyValueProblem(T.long, 1.5)!, /not an integer/)
  assert.equal(keyValueProblem(T.long, 2n ** 60n), null)
  // The decoders' fast predicate agrees with the rule everywhere.
  const values = [0, -0, 1, -1, 1.5, 127, 128, -128, -129, 32767, 32768, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e300, -1e300, 3.4028234663852886e38, 3.5e38, Infinity, -Infinity, NaN]
  for (const kind of ['byte', 'short', 'int', 'date', 'long', 'timestamp', 'float', 'double']) {
    for (const v of values) assert.equal(numberCheck(kind)(v), numberProblem(kind, v) === null, `${kind} ${v}`)
  }
})

test('long keys below -2^52 keep tiles of their own: their zig-zag (an odd number above 2^53) is written exactly', async () => {
  // −2^52 − 1 zig-zags to 2^53 + 1, which floats rounded to 2^53: the zig-zag of 2^52, so both keys shared one tile.
  const codec = new KeyCodec([{ name: 'k', type: T.long }])
  const a = -(2 ** 52) - 1
  const b = 2 ** 52
  assert.notDeepEqual([...codec.encode([a])], [...codec.encode([b])])
  assert.deepEqual(codec.decode(codec.encode([a])), [a])
  const tmp = tempDir('keys-2-52')
  try {
    const gb = groupBy('test.keys_2_52.v1')
    const lines = [`{"k":${a},"v":5,"ts":${T0}}`, `{"k":${b},"v":7,"ts":${T0 + 1}}`, `{"k":${a},"v":11,"ts":${T0 + 2}}`]
    const r = await runFile(gb, writeLines(join(tmp.dir, 'e.jsonl'), lines), { keys: [[a], [b]] })
    assert.deepEqual(r.features, [{ v_count: 2, v_sum: 16 }, { v_count: 1, v_sum: 7 }])
    assert.equal(r.dead.length, 0)
  } finally {
    tmp.remove()
  }
})

test('encoding a long never wraps: beyond [-2^63, 2^63) it throws', () => {
  const w = new ByteWriter(16)
  assert.throws(() => w.zigzag(2n ** 64n), /outside \[-2\^63, 2\^63 - 1\]/)
  assert.throws(() => w.zigzag(2 ** 64), /cannot encode/)
  assert.throws(() => w.zigzag(-(2 ** 63) * 2), /cannot encode/)
  w.zigzag(-(2n ** 63n))
  w.zigzag(2 ** 62)
  const codec = new KeyCodec([{ name: 'user_id', type: T.long }])
  assert.throws(() => codec.encode([2 ** 64]), /bad key: key column 'user_id' \(long\)/)
  assert.throws(() => codec.encode([2n ** 64n]), /outside the range of a long/)
})

test('the read side refuses what the write side refuses: fetch --key parsing', () => {
  const codec = new KeyCodec([{ name: 'user_id', type: T.long }, { name: 'i', type: T.int }, { name: 'f', type: T.float }, { name: 'd', type: T.double }])
  assert.throws(() => codec.parseText('user_id', TWO64), /outside the range of a long/)
  assert.equal(codec.parseText('user_id', '9007199254740993'), 9007199254740993n) // exact: a bigint, as expressions make
  assert.throws(() => codec.parseText('i', '2147483648'), /outside the range of int/)
  assert.throws(() => codec.parseText('f', '1e39'), /outside the range of a float/)
  assert.throws(() => codec.parseText('d', ''), /not a number/)
  assert.throws(() => codec.parseText('d', '0x10'), /not a number/)
  assert.equal(codec.parseText('d', '-1.5e3'), -1500)
})

test('fetch --key user_id=2^64 is refused (exit 2), not answered with user 0\'s features', async () => {
  const tmp = tempDir('keys-fetch')
  try {
    const gb = join(tmp.dir, 'gb.json')
    writeLines(gb, [JSON.stringify(groupBy('test.keys_fetch.v1'))])
    const events = writeLines(join(tmp.dir, 'e.jsonl'), [`{"k":0,"v":100,"ts":${T0}}`])
    const store = `embedded:${join(tmp.dir, 'store')}`
    const run = await tilekiln(['run', '--group-by', gb, '--source', `file:${events}`, '--store', store, '--progress', '0'])
    assert.equal(run.code, 0, run.stderr)
    const zero = await tilekiln(['fetch', '--group-by', gb, '--store', store, '--key', 'k=0', '--at', String(T0 + 1000), '--json'])
    assert.deepEqual(JSON.parse(zero.stdout), { v_count: 1, v_sum: 100 })
    const alias = await tilekiln(['fetch', '--group-by', gb, '--store', store, '--key', `k=${TWO64}`, '--at', String(T0 + 1000), '--json'])
    assert.equal(alias.code, 2, alias.stdout)
    assert.match(alias.stderr, /key k is a long; 18446744073709551616 is outside the range of a long .*\[TK_USAGE\]/)
    for (const at of ['_', '1.5', '']) {
      const r = await tilekiln(['fetch', '--group-by', gb, '--store', store, '--key', 'k=0', `--at=${at}`, '--json'])
      assert.equal(r.code, 2, `--at=${at}: ${r.stdout}`)
    }
  } finally {
    tmp.remove()
  }
})

test('the generator refuses options whose values its key or time columns cannot hold', () => {
  const plan = compilePlan(groupBy('test.keys_gen.v1'))
  const schema = { type: 'record', name: 'E', fields: [{ name: 'k', type: { type: 'int', logicalType: 'short' } }, { name: 'v', type: 'long' }, { name: 'ts', type: 'long' }] }
  assert.throws(() => openGeneratorSource(plan, parseGeneratorOptions('keys=40000,count=10,start=0'), schema), /keys=40000 makes key ids up to 39999 for key column 'k': 39999 is outside the range of short/)
  assert.throws(() => openGeneratorSource(plan, parseGeneratorOptions(`keys=10,count=10,start=${TWO64}`), schema), /generator option start must be an integer/)
  assert.throws(() => openGeneratorSource(plan, parseGeneratorOptions('keys=10,count=1e17,step=1000,start=0'), schema), /event times reach/)
  openGeneratorSource(plan, parseGeneratorOptions('keys=32768,count=10,start=0'), schema)
})

test('a --schema timestamp-millis field in JSON or CSV is read as milliseconds (was: microseconds in JSON, refused in CSV)', async () => {
  const tmp = tempDir('keys-ts-millis')
  try {
    const gb = groupBy('test.keys_ts_millis.v1')
    const field = (ts: unknown): unknown => ({ type: 'record', name: 'E', fields: [{ name: 'k', type: 'long' }, { name: 'v', type: 'long' }, { name: 'ts', type: ts }] })
    const rows = Array.from({ length: 50 }, (_, i) => [i % 4, i, T0 + i * 3_600_000] as const)
    const json = writeLines(join(tmp.dir, 'e.jsonl'), rows.map(([k, v, ts]) => `{"k":${k},"v":${v},"ts":${ts}}`))
    const csv = writeLines(join(tmp.dir, 'e.csv'), ['k,v,ts', ...rows.map(r => r.join(','))])
    const plain = await runFile(gb, json, { source: { schema: field('long') } })
    for (const path of [json, csv]) {
      for (const ts of [{ type: 'long', logicalType: 'timestamp-millis' }, ['null', { type: 'long', logicalType: 'timestamp-millis' }]]) {
        const r = await runFile(gb, path, { source: { schema: field(ts) } })
        assert.deepEqual(r.dead, [], path)
        assert.deepEqual(r.lines, plain.lines, `${path} ${JSON.stringify(ts)}`)
      }
    }
  } finally {
    tmp.remove()
  }
})
