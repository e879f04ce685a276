// Bad records never stop the engine and are never silently dropped: each goes to the dead-letter file with its
// line number and the reason, is counted, and the good records around it are aggregated.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { tilekiln } from '../helpers/cli.ts'
import { groupByPath } from '../helpers/reference.ts'

const GB = groupByPath('derived-from-scala-tests/flink_e2e_sum_1d.json')

test('unparseable lines, missing/non-numeric timestamps and wrong types go to the dead-letter file; null keys are tiled', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-dlq-'))
  try {
    const input = join(dir, 'events.jsonl')
    const schema = join(dir, 'schema.avsc')
    writeFileSync(schema, JSON.stringify({ type: 'record', name: 'E', fields: [{ name: 'id', type: ['null', 'string'] }, { name: 'int_val', type: ['null', 'int'] }, { name: 'double_val', type: ['null', 'double'] }, { name: 'created', type: ['null', 'long'] }] }))
    const lines = [
      '{"id":"a","int_val":1,"double_val":1.5,"created":1000}', // 1 good
      '{"id":"a","double_val":2.5,', // 2 unparseable
      '{"id":null,"double_val":3.0,"created":1000}', // 3 null key: tiled, as Chronon does
      '{"double_val":3.0,"created":1000}', // 4 missing key: a null key too
      '{"id":"a","double_val":4.0}', // 5 missing timestamp
      '{"id":"a","double_val":4.0,"created":"yesterday"}', // 6 non-numeric timestamp
      '{"id":"a","double_val":"lots","created":1000}', // 7 wrong type
      '[1,2,3]', // 8 not an object
      '{"id":"b","int_val":2,"double_val":2.0,"created":2000}' // 9 good
    ]
    writeFileSync(input, lines.join('\n') + '\n')
    const dlq = join(dir, 'dlq.jsonl')
    const store = `embedded:${join(dir, 'store')}`
    const r = await tilekiln(['run', '--group-by', GB, '--source', `file:${input}`, '--schema', schema, '--store', store, '--dead-letter', dlq, '--progress', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.deadLetters, 5)
    assert.equal(summary.metrics.dead_letters, 5)
    const dead = readFileSync(dlq, 'utf8').trim().split('\n').map(l => JSON.parse(l))
    assert.deepEqual(dead.map(d => d.line).sort((a, b) => a - b), [2, 5, 6, 7, 8])
    const reason = (line: number): string => dead.find(d => d.line === line)!.reason
    assert.match(reason(2), /invalid JSON/)
    assert.match(reason(5), /missing timestamp/)
    assert.match(reason(6), /should be long|not a number/)
    assert.match(reason(7), /double_val' should be double/)
    assert.match(reason(8), /must be an object/)
    assert.equal(dead.find(d => d.line === 2).record, lines[1])
    assert.match(r.stderr, /dead letter \(line 2\): invalid JSON/)
    // The good records were aggregated.
    const a = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'id=a', '--at', '3600000', '--json'])
    assert.deepEqual(JSON.parse(a.stdout), { double_val_sum_1d: 1.5 })
    const b = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'id=b', '--at', '3600000', '--json'])
    assert.deepEqual(JSON.parse(b.stdout), { double_val_sum_1d: 2.0 })
    // `--key id` alone asks for the null key value; `--key id=` is the empty string, another key
    const n = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'id', '--at', '3600000', '--json'])
    assert.deepEqual(JSON.parse(n.stdout), { double_val_sum_1d: 6.0 })
    const empty = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'id=', '--at', '3600000', '--json'])
    assert.deepEqual(JSON.parse(empty.stdout), { double_val_sum_1d: null })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
