// Hardening, schema inference (issue 12, item 3). Without --schema (the README's quick start), one record used to
// decide a column's type for all: one string `k` among 200 numbers made `k` a string column and dead-lettered the 200
// good records; one string `ts` made the time column a string and the whole file was refused; one text cell in a
// CSV key column re-keyed every tile as a string. Now the sample votes per column: the kind most values have wins,
// and the records that disagree are the dead letters. The store must be the clean run's, byte for byte.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { inferCsvSchema, inferJsonSchema } from '../../src/codec/input-schema.ts'
import { groupBy, runFile, T0, tempDir, writeLines } from './helpers.ts'

const GB = groupBy('test.inference.v1')
const good = Array.from({ length: 200 }, (_, i) => ({ k: i % 13, v: i, ts: T0 + i * 1000 }))
const jsonl = (rows: readonly object[]): string[] => rows.map(r => JSON.stringify(r))
const INFERRED = /\(type inferred from the file; declare the schema with --schema\)$/

const attacks: { name: string, bad: object, reason: RegExp }[] = [
  { name: 'a string key', bad: { k: 'x91', v: 1, ts: T0 }, reason: /^field 'k' should be long, got string "x91"/ },
  { name: 'a string event time', bad: { k: 1, v: 1, ts: '2023-11-14T22:13:20Z' }, reason: /^field 'ts' should be long, got string "2023-11-14T22:13:20Z"/ },
  { name: 'a boolean value', bad: { k: 1, v: true, ts: T0 }, reason: /^field 'v' should be long, got boolean true/ },
  { name: 'an object key', bad: { k: { id: 1 }, v: 1, ts: T0 }, reason: /^field 'k' should be long, got object/ }
]

for (const a of attacks) {
  test(`JSON lines without --schema: ${a.name} among 200 good records is one dead letter; the store is the clean run's`, async () => {
    const tmp = tempDir('inference-json')
    try {
      const clean = await runFile(GB, writeLines(join(tmp.dir, 'clean.jsonl'), jsonl(good)))
      assert.deepEqual(clean.dead, [])
      const attacked = await runFile(GB, writeLines(join(tmp.dir, 'attacked.jsonl'), jsonl([...good.slice(0, 120), a.bad, ...good.slice(120)])))
      assert.deepEqual(attacked.dead.map(d => [d.position, d.code]), [[121, 'TK_INPUT']])
      assert.match(attacked.dead[0]!.reason, a.reason)
      assert.match(attacked.dead[0]!.reason, INFERRED)
      assert.deepEqual(attacked.lines, clean.lines)
    } finally {
      tmp.remove()
    }
  })
}

test('CSV without --schema: one text cell in the key column is one dead letter, and the tiles keep their int keys', async () => {
  const tmp = tempDir('inference-csv')
  try {
    const rows = good.map(r => `${r.k},${r.v},${r.ts}`)
    const clean = await runFile(GB, writeLines(join(tmp.dir, 'clean.csv'), ['k,v,ts', ...rows]), { keys: [[1]] })
    assert.deepEqual(clean.dead, [])
    const attacked = await runFile(GB, writeLines(join(tmp.dir, 'attacked.csv'), ['k,v,ts', ...rows.slice(0, 50), `user-91,1,${T0}`, ...rows.slice(50), `3,1,not-a-time`]), { keys: [[1]] })
    assert.deepEqual(attacked.dead.map(d => d.position), [52, 203])
    assert.match(attacked.dead[0]!.reason, /^field 'k' should be int, got string "user-91"/)
    assert.match(attacked.dead[1]!.reason, /^field 'ts' should be long, got string "not-a-time"/)
    assert.deepEqual(attacked.lines, clean.lines)
    assert.deepEqual(attacked.features, clean.features)
    assert.equal((clean.features[0] as { v_count: number }).v_count, 16)
  } finally {
    tmp.remove()
  }
})

test('inference votes per column: the most common kind wins, a tie widens, numbers widen within their kind', () => {
  const json = inferJsonSchema([
    { a: 1, b: 'x', c: 1, d: null, e: [1], f: true, g: 1 },
    { a: 2, b: 'y', c: 1.5, d: null, e: [2.5], f: 'maybe', g: 'z' },
    { a: 'three', b: 3, c: 2, e: [3], f: false, h: { p: 1 } },
    { a: 4, b: 'w', f: true, h: { p: 2, q: 's' } }
  ])
  assert.deepEqual(json.fields.map(f => [f.name, f.type]), [
    ['a', T.long], // 3 numbers, 1 string
    ['b', T.string], // 3 strings, 1 number
    ['c', T.double], // all numbers: int + double → double, as Spark
    ['d', T.string], // nulls only
    ['e', T.list(T.double)],
    ['f', T.boolean], // 3 booleans, 1 string
    ['g', T.string], // 1 number, 1 string: a tie widens to string
    ['h', T.struct('Struct', [{ name: 'p', type: T.long }, { name: 'q', type: T.string }])]
  ])
  const csv = inferCsvSchema(['k', 'amount', 'flag', 'big'], [['1', '2', 'true', '1'], ['2', '2.5', 'false', '99999999999'], ['x', '3', 'maybe', '3'], ['4', '', 'true', '']])
  assert.deepEqual(csv.fields.map(f => [f.name, f.type]), [['k', T.int], ['amount', T.double], ['flag', T.boolean], ['big', T.long]])
})

test('a CSV column named __proto__ is a column like any other (it was dropped: every record a "null key")', async () => {
  const tmp = tempDir('inference-proto')
  try {
    // Parsed from text: an object literal would set the prototype instead of a `__proto__` field.
    const gb = JSON.parse('{"metaData":{"name":"test.proto.v1"},"sources":[{"events":{"table":"t","topic":"t","query":{"selects":{"__proto__":"__proto__","v":"v"},"timeColumn":"ts"}}}],"keyColumns":["__proto__"],"aggregations":[{"inputColumn":"v","operation":7}]}') as unknown
    const csv = writeLines(join(tmp.dir, 'e.csv'), ['__proto__,v,ts', `7,1,${T0}`, `7,2,${T0 + 1}`, `8,5,${T0 + 2}`])
    const r = await runFile(gb, csv, { keys: [[7], [8]] })
    assert.deepEqual(r.dead, [])
    assert.deepEqual(r.features, [{ v_sum: 3 }, { v_sum: 5 }])
  } finally {
    tmp.remove()
  }
})
