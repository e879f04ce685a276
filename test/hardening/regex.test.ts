// Hardening, regular expressions (issue 12, item 2): `wheres: ["s rlike '(a+)+$'"]` and one 41-byte value stalled
// the pipeline for 600 s, and with `s rlike pat` the data alone could do it. Every regex now runs in linear time
// (V8's backtracking engine with a switch to its linear engine after 1,000 backtracks; patterns the linear engine
// cannot run are refused), and LIKE is a wildcard matcher. These tests pin the attack, the refusals, and the Java
// semantics kept by the translation ($ before a final line terminator, ASCII-only (?i)).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { compileQuery } from '../../src/expr/compile.ts'
import { startTilekiln } from '../helpers/cli.ts'
import { groupBy, runFile, T0, tempDir, writeLines } from './helpers.ts'

const SCHEMA = T.struct('R', [{ name: 's', type: T.string }, { name: 'pat', type: T.string }]) as StructType

/** The value of one expression over one record (through the generated evaluator). */
function evaluate (expr: string, record: Record<string, unknown>): unknown {
  const q = compileQuery({ selects: { x: expr }, wheres: [], timeColumn: '0', groupBy: 'test.regex', path: 'sources[0].events.query' }, SCHEMA, ['x'])
  const out: unknown[] = []
  let value: unknown
  q.run(record, out, () => { value = out[0] })
  return value
}

function timed<T> (f: () => T): { value: T, ms: number } {
  const t0 = performance.now()
  const value = f()
  return { value, ms: performance.now() - t0 }
}

const EVIL = 'a'.repeat(40) + '!'

test('catastrophic patterns run in linear time: constant and from the record, RLIKE, regexp_* and split', () => {
  const big = 'a'.repeat(200_000) + '!'
  const cases: [string, Record<string, unknown>, unknown][] = [
    ["s rlike '(a+)+$'", { s: EVIL }, false],
    ['s rlike pat', { s: EVIL, pat: '(a+)+$' }, false],
    ['s rlike pat', { s: big, pat: '(a|aa)+$' }, false],
    ['s rlike pat', { s: big, pat: '^(a+)+b' }, false],
    ["regexp_extract(s, '(a*)*!x', 1)", { s: big }, ''],
    ["regexp_replace(s, '(a+)+$', 'x')", { s: EVIL }, EVIL],
    ["size(split(s, '(a+)+b'))", { s: big }, 1],
    ["s like '%a%a%a%a%a%b'", { s: big }, false],
    ["s ilike '%A%A%A%A%A%B'", { s: big }, false]
  ]
  for (const [expr, record, want] of cases) {
    const r = timed(() => evaluate(expr, record))
    assert.deepEqual(r.value, want, expr)
    assert.ok(r.ms < 5000, `${expr} on ${String(record.s).length} chars took ${r.ms.toFixed(0)} ms`)
  }
})

test('patterns the linear engine cannot run are refused: at start-up when constant, as an evaluation error from a record', () => {
  for (const p of ['(a)\\\\1', 'a(?=b)', 'a(?!b)']) {
    assert.throws(() => evaluate(`s rlike '${p}'`, { s: 'a' }), /cannot be matched in linear time/, p)
  }
  // Newer V8s run these in linear time too (Node 24's does lookbehind): refused, or else answered correctly.
  for (const [p, s, want] of [['(?<=a)b', 'ab', true], ['(?<=a)b', 'b', false], ['a{5000}', 'a'.repeat(5000), true], ['a{5000}', 'a', false]] as const) {
    let got: unknown
    try {
      got = evaluate(`s rlike '${p}'`, { s })
    } catch (e) {
      assert.match((e as Error).message, /cannot be matched in linear time/, p)
      continue
    }
    assert.equal(got, want, `${p} on ${s.length} chars`)
  }
  assert.throws(() => evaluate('s rlike pat', { s: 'aa', pat: '(a)\\1' }), (e: Error & { code?: string }) => e.code === 'TK_EXPR_EVAL' && /cannot be matched in linear time/.test(e.message))
})

test('Java semantics kept: $ before a final line terminator, ASCII-only (?i), LIKE by code point', () => {
  const cases: [string, Record<string, unknown>, unknown][] = [
    ["s rlike 'c$'", { s: 'abc\n' }, true],
    ["s rlike 'c$'", { s: 'abc\r\n' }, true],
    ["s rlike 'c$'", { s: 'abc\n\n' }, false],
    ["s rlike 'c$'", { s: 'abc' }, true],
    ["regexp_extract(s, '(b)(c)$', 0)", { s: 'abc\n' }, 'bc'],
    ["regexp_extract(s, '(b)(c)$', 2)", { s: 'abc\n' }, 'c'],
    ["regexp_replace(s, '$', 'X')", { s: 'a\n' }, 'aX\nX'],
    ["regexp_replace(s, 'c$', 'X')", { s: 'abc\n' }, 'abX\n'],
    ["regexp_extract_all(s, '([a-z])$', 1)", { s: 'ab\n' }, ['b']],
    ["regexp_replace(s, '(a)(b)?$|(c)', '[$1$2$3]')", { s: 'ca' }, '[c][a]'],
    ["s rlike '(?i)abc'", { s: 'ABC' }, true],
    ["s rlike '(?i)[a-c]x'", { s: 'BX' }, true],
    ["s rlike '(?i)[^a-c]'", { s: 'B' }, false],
    ["s rlike '(?i)é'", { s: 'É' }, false], // Java's CASE_INSENSITIVE folds ASCII only
    ["regexp_extract(s, '(?i)(?<Word>ab)c', 1)", { s: 'xABC' }, 'AB'],
    ["s like 'a_c'", { s: 'a😀c' }, true],
    ["s like 'a__c'", { s: 'a😀c' }, false],
    ["s like 'a%'", { s: 'abc' }, true],
    ["s like '%c'", { s: 'abc' }, true],
    ["s like '%b%'", { s: 'abc' }, true],
    ["s like 'a\\\\%c'", { s: 'a%c' }, true],
    ["s like 'a\\\\%c'", { s: 'abc' }, false],
    ["s like ''", { s: '' }, true],
    ["s like '%%'", { s: '' }, true],
    ["s ilike 'A%C'", { s: 'abc' }, true]
  ]
  for (const [expr, record, want] of cases) assert.deepEqual(evaluate(expr, record), want, `${expr} on ${JSON.stringify(record.s)}`)
})

test('the reproduction: wheres ["s rlike \'(a+)+$\'"] with a 41-byte value among 200 records: the run finishes, the store is the clean run\'s', { timeout: 60_000 }, async () => {
  const tmp = tempDir('regex-where')
  try {
    const schema = { type: 'record', name: 'E', fields: [{ name: 'k', type: 'long' }, { name: 'v', type: 'long' }, { name: 'ts', type: 'long' }, { name: 's', type: 'string' }, { name: 'pat', type: 'string' }] }
    const gb = groupBy('test.regex_where.v1', undefined, { wheres: ["s rlike '(a+)+$'", 's rlike pat'] })
    const good = Array.from({ length: 200 }, (_, i) => JSON.stringify({ k: i % 5, v: i, ts: T0 + i, s: 'aaaa', pat: 'a+' }))
    const clean = await runFile(gb, writeLines(join(tmp.dir, 'clean.jsonl'), good), { source: { schema } })
    assert.deepEqual(clean.dead, [])
    const evil = [
      JSON.stringify({ k: 1, v: 1, ts: T0, s: EVIL, pat: 'a+' }), // filtered: no match, in microseconds
      JSON.stringify({ k: 2, v: 1, ts: T0, s: 'aaaa', pat: '(a|a)*$' }), // a match: the data picks its own regex, and counts
      JSON.stringify({ k: 3, v: 1, ts: T0, s: 'a'.repeat(100_000) + '!', pat: '(a+)+!x' }),
      JSON.stringify({ k: 4, v: 1, ts: T0, s: 'aaaa', pat: '(a)\\1' }) // refused: a dead letter
    ]
    const lines = [...good.slice(0, 100), ...evil, ...good.slice(100)]
    const t0 = Date.now()
    const attacked = await runFile(gb, writeLines(join(tmp.dir, 'attacked.jsonl'), lines), { source: { schema } })
    assert.ok(Date.now() - t0 < 30_000)
    assert.deepEqual(attacked.dead.map(d => [d.position, d.code]), [[104, 'TK_EXPR_EVAL']])
    assert.match(attacked.dead[0]!.reason, /regex '\(a\)\\1' cannot be matched in linear time/)
    // The one matching attack record adds to key 2; everything else is the clean run.
    const withMatch = await runFile(gb, writeLines(join(tmp.dir, 'with-match.jsonl'), [...good.slice(0, 100), evil[1]!, ...good.slice(100)]), { source: { schema } })
    assert.deepEqual(attacked.lines, withMatch.lines)
    assert.notDeepEqual(withMatch.lines, clean.lines)
  } finally {
    tmp.remove()
  }
})

test('the CLI answers one SIGTERM while every record is an attack on its where', { timeout: 120_000 }, async () => {
  const tmp = tempDir('regex-sigterm')
  try {
    const gb = writeLines(join(tmp.dir, 'gb.json'), [JSON.stringify(groupBy('test.regex_term.v1', undefined, { wheres: ["s rlike '(a+)+$'"] }))])
    const schema = writeLines(join(tmp.dir, 'schema.avsc'), [JSON.stringify({ type: 'record', name: 'E', fields: [{ name: 'k', type: 'long' }, { name: 'v', type: 'long' }, { name: 'ts', type: 'long' }, { name: 's', type: 'string' }] })])
    const line = (i: number): string => `{"k":${i % 100},"v":1,"ts":${T0 + i},"s":"${'a'.repeat(30 + (i % 12))}!"}`
    const events = writeLines(join(tmp.dir, 'e.jsonl'), Array.from({ length: 300_000 }, (_, i) => line(i)))
    const cli = startTilekiln(['run', '--group-by', gb, '--source', `file:${events}`, '--schema', schema, '--store', `embedded:${join(tmp.dir, 'store')}`, '--dead-letter', join(tmp.dir, 'dlq.jsonl'), '--progress', '0', '--json'])
    // Signal once it runs (its handler is installed then) and has had a second of records.
    await new Promise<void>((resolve, reject) => {
      let err = ''
      cli.child.stderr!.on('data', d => { err += String(d); if (/\brunning test\.regex_term/.test(err)) resolve() })
      cli.child.once('exit', code => reject(new Error(`exited ${code} before running: ${err}`)))
    })
    await new Promise(resolve => setTimeout(resolve, 1000))
    const signalled = Date.now()
    cli.child.kill('SIGTERM')
    const killer = setTimeout(() => cli.child.kill('SIGKILL'), 60_000)
    const r = await cli.done
    clearTimeout(killer)
    // What is already in the ring slots (up to 4 × 8,192 records per worker) is finished first: seconds, not hours.
    assert.ok(Date.now() - signalled < 30_000, `exited ${Date.now() - signalled} ms after SIGTERM`)
    assert.equal(r.code, 0, r.stderr)
    // It was stopped mid-file (each attacking record costs 1,000 backtracks, then a linear-time match).
    assert.ok((JSON.parse(r.stdout) as { records: number }).records < 300_000)
  } finally {
    tmp.remove()
  }
})
