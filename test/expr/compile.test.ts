// The QueryCompiler contract (query.ts): columns, sourceFields, multiRow, wheres, the time column, EXPLODE, and
// the errors a user sees at start-up.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { TilekilnError, isTilekilnError } from '../../src/errors.ts'
import { compileQuery, compileQueryWithSource } from '../../src/expr/compile.ts'
import { ROW, SCHEMA, rowsOf, spec } from './helpers.ts'

function failure (f: () => unknown): TilekilnError {
  try {
    f()
  } catch (e) {
    assert.ok(isTilekilnError(e), String(e))
    return e as TilekilnError
  }
  assert.fail('expected an error')
}

describe('columns and sourceFields', () => {
  test('needed columns in order, then ts; plain and renamed references report their source field', () => {
    const q = compileQuery(spec({ key: 'S', renamed: '`i`', computed: 'i + 1', ts: 'l' }), SCHEMA, ['computed', 'key', 'renamed'])
    assert.deepEqual(q.columns.map(c => c.name), ['computed', 'key', 'renamed', 'ts'])
    assert.deepEqual(q.columns.map(c => c.type.kind), ['int', 'string', 'int', 'long'])
    assert.deepEqual(q.sourceFields, [null, 's', 'i'])
    assert.equal(q.multiRow, false)
    assert.deepEqual(rowsOf(q, ROW), [[8, 'Spark SQL', 7, ROW.ms]])
  })

  test('a needed column named ts is the time column, not a select of that name', () => {
    const q = compileQuery(spec({ ts: 'i' }, [], 'ms'), SCHEMA, ['ts'])
    assert.deepEqual(rowsOf(q, ROW), [[ROW.ms, ROW.ms]])
  })

  test('selects = null: every input field is selectable as itself', () => {
    const q = compileQuery(spec(null), SCHEMA, ['s', 'I'])
    assert.deepEqual(q.sourceFields, ['s', 'i'])
    assert.deepEqual(rowsOf(q, ROW), [['Spark SQL', 7, ROW.ms]])
  })

  test('a needed column that is not selected is a TK_CONFIG error naming the selects', () => {
    const e = failure(() => compileQuery(spec({ a: 'i' }), SCHEMA, ['b']))
    assert.equal(e.code, 'TK_CONFIG')
    assert.equal(e.context.path, 'sources[0].events.query.selects')
  })

  test('absent fields of the record read as NULL', () => {
    const q = compileQuery(spec({ a: 's', b: 'coalesce(n_i, 5)' }), SCHEMA, ['a', 'b'])
    assert.deepEqual(rowsOf(q, {}), [[null, 5, null]])
  })

  test('output types are known at start-up, including nested ones', () => {
    const q = compileQuery(spec({ a: 'transform(ai, x -> x * 1.5)', b: "map('k', l)", c: 'struct(s, dt)', d: 'ts', e: 'NULL' }), SCHEMA, ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(q.columns.map(c => c.type), [
      T.list(T.double), T.map(T.string, T.long), T.struct('Struct', [{ name: 's', type: T.string }, { name: 'dt', type: T.date }]), T.timestamp, T.null, T.long
    ])
  })
})

describe('wheres', () => {
  test('several wheres are ANDed; FALSE or NULL drops the row', () => {
    const q = compileQuery(spec({ a: 'i' }, ['i > 5', 's LIKE \'Spark%\'']), SCHEMA, ['a'])
    assert.equal(rowsOf(q, ROW).length, 1)
    assert.equal(rowsOf(q, { ...ROW, i: 1 }).length, 0)
    assert.equal(rowsOf(q, { ...ROW, i: null }).length, 0, 'a NULL where drops the row')
    assert.equal(rowsOf(q, { ...ROW, s: 'x' }).length, 0)
  })

  test('a where that is not a BOOLEAN is refused', () => {
    const e = failure(() => compileQuery(spec({ a: 'i' }, ['i + 1']), SCHEMA, ['a']))
    assert.equal(e.code, 'TK_EXPR_TYPE')
    assert.equal(e.context.path, 'sources[0].events.query.wheres[0]')
  })

  test('the where runs before the selects: a rejected row never evaluates them', () => {
    const q = compileQuery(spec({ a: 'element_at(ai, i)' }, ['i > 0']), SCHEMA, ['a'])
    assert.deepEqual(rowsOf(q, { ...ROW, i: 0 }), [])
  })

  test('wheres see input columns, not select aliases (as in Spark)', () => {
    const e = failure(() => compileQuery(spec({ alias: 'i' }, ['alias > 0']), SCHEMA, ['alias']))
    assert.equal(e.code, 'TK_EXPR_TYPE')
  })
})

describe('the time column', () => {
  test('epoch millis from a BIGINT, an INT, a TIMESTAMP, a DATE, a string expression', () => {
    const ts = (timeColumn: string, row = ROW): unknown => rowsOf(compileQuery(spec({ a: 'i' }, [], timeColumn), SCHEMA, ['a']), row)[0]![1]
    assert.equal(ts('ms'), 1_700_000_000_123)
    assert.equal(ts('i'), 7)
    assert.equal(ts('ts'), 1_700_000_000_123, 'a TIMESTAMP becomes epoch millis')
    assert.equal(ts('dt'), 19_000 * 86_400_000, 'a DATE becomes its midnight in epoch millis')
    assert.equal(ts("UNIX_TIMESTAMP('2021-04-09 00:00:00') * 1000"), 1_617_926_400_000)
    assert.equal(ts('d'), 2, 'a fraction is truncated')
    assert.equal(ts('n_l'), null)
  })

  test('a time column that cannot be epoch millis is refused with a hint', () => {
    const e = failure(() => compileQuery(spec({ a: 'i' }, [], 's'), SCHEMA, ['a']))
    assert.equal(e.code, 'TK_EXPR_TYPE')
    assert.equal(e.context.path, 'sources[0].events.query.timeColumn')
    assert.match(e.message, /unix_millis/)
  })
})

describe('EXPLODE', () => {
  test('one row per element, other columns repeated; NULL or empty gives no row', () => {
    const q = compileQuery(spec({ x: 'explode(ai)', s: 's' }), SCHEMA, ['s', 'x'])
    assert.equal(q.multiRow, true)
    assert.deepEqual(rowsOf(q, ROW), [['Spark SQL', 1, ROW.ms], ['Spark SQL', 2, ROW.ms], ['Spark SQL', 3, ROW.ms]])
    assert.deepEqual(rowsOf(q, { ...ROW, ai: [] }), [])
    assert.deepEqual(rowsOf(q, { ...ROW, ai: null }), [])
  })

  test('EXPLODE_OUTER gives one NULL row for NULL or empty', () => {
    const q = compileQuery(spec({ x: 'explode_outer(ai)' }), SCHEMA, ['x'])
    assert.deepEqual(rowsOf(q, { ...ROW, ai: [] }), [[null, ROW.ms]])
    assert.deepEqual(rowsOf(q, { ...ROW, ai: [4] }), [[4, ROW.ms]])
  })

  test('an EXPLODE select multiplies rows even when the GroupBy does not need its column', () => {
    const q = compileQuery(spec({ x: 'explode(ai)', s: 's' }), SCHEMA, ['s'])
    assert.equal(q.multiRow, true)
    assert.equal(rowsOf(q, ROW).length, 3)
  })

  test('EXPLODE(TRANSFORM(…)) is fused into one loop; NULL elements stay rows', () => {
    const q = compileQueryWithSource(spec({ x: 'explode(transform(an, v -> v * 10))' }), SCHEMA, ['x'])
    assert.doesNotMatch(q.source, /new Array/, 'no intermediate array')
    assert.deepEqual(rowsOf(q, ROW), [[10, ROW.ms], [null, ROW.ms], [30, ROW.ms]])
  })

  test('two EXPLODEs, EXPLODE of a map, EXPLODE nested, EXPLODE in a where are refused', () => {
    assert.equal(failure(() => compileQuery(spec({ x: 'explode(ai)', y: 'explode(as)' }), SCHEMA, ['x'])).code, 'TK_EXPR_TYPE')
    assert.equal(failure(() => compileQuery(spec({ x: 'explode(m)' }), SCHEMA, ['x'])).code, 'TK_EXPR_TYPE')
    assert.equal(failure(() => compileQuery(spec({ x: 'upper(explode(as))' }), SCHEMA, ['x'])).code, 'TK_EXPR_TYPE')
    assert.equal(failure(() => compileQuery(spec({ x: 'i' }, ['explode(ai) > 1']), SCHEMA, ['x'])).code, 'TK_EXPR_TYPE')
  })

  test('a runtime error inside the exploded expression names the select', () => {
    const q = compileQuery(spec({ x: 'explode(transform(ai, v -> element_at(ai, v - 1)))' }), SCHEMA, ['x'])
    const e = failure(() => rowsOf(q, ROW))
    assert.equal(e.code, 'TK_EXPR_EVAL')
    assert.equal(e.context.path, 'sources[0].events.query.selects.x')
  })
})

describe('start-up errors name the GroupBy, the JSON path, the position and what was expected', () => {
  test('a parse error', () => {
    const e = failure(() => compileQuery(spec({ flag: "IF(event_type = 'x' 1, 0)" }), SCHEMA, ['flag']))
    assert.equal(e.code, 'TK_EXPR_PARSE')
    assert.equal(e.context.groupBy, 'test.group_by')
    assert.equal(e.context.path, 'sources[0].events.query.selects.flag')
    assert.equal(e.context.position, 20)
    assert.match(String(e.context.expected), /'\)'/)
    assert.match(e.message, /expected '\)' closing the arguments of IF but found '1' at position 20/)
    assert.match(e.message, /\n {20}\^/, 'a caret under the position')
  })

  test('an unknown column suggests close names', () => {
    const e = failure(() => compileQuery(spec({ a: 'upper(sx)' }), SCHEMA, ['a']))
    assert.equal(e.code, 'TK_EXPR_TYPE')
    assert.equal(e.context.position, 6)
    assert.match(e.message, /column 'sx' is not in the input schema; did you mean/)
  })

  test('a type error points at the argument', () => {
    const e = failure(() => compileQuery(spec({ a: 'substring(s, ai)' }), SCHEMA, ['a']))
    assert.equal(e.code, 'TK_EXPR_TYPE')
    assert.equal(e.context.position, 13)
    assert.match(e.message, /argument 2 of SUBSTRING must be INT, got ARRAY<INT>/)
  })

  test('non-deterministic functions are refused in selects, wheres and the time column', () => {
    for (const s of [spec({ a: 'rand()' }), spec({ a: 'i' }, ['rand() > 0.5']), spec({ a: 'i' }, [], 'unix_millis(current_timestamp())')]) {
      const e = failure(() => compileQuery(s, SCHEMA, ['a']))
      assert.equal(e.code, 'TK_EXPR_TYPE')
      assert.match(e.message, /not deterministic/)
    }
  })

  test('keywords and function names are case-insensitive; column names resolve case-insensitively', () => {
    const q = compileQuery(spec({ a: "case WHEN I Between 1 aNd 10 then UPPER(S) eLsE null END", b: 'Coalesce(N_I, 1)' }), SCHEMA, ['a', 'b'])
    assert.deepEqual(rowsOf(q, ROW), [['SPARK SQL', 1, ROW.ms]])
  })

  test('an exact name wins; an ambiguous case-insensitive name is refused', () => {
    const schema = T.struct('R', [{ name: 'Ab', type: T.int }, { name: 'aB', type: T.int }, { name: 't', type: T.long }]) as StructType
    assert.equal(compileQuery(spec({ x: 'aB' }, [], 't'), schema, ['x']).sourceFields[0], 'aB')
    const e = failure(() => compileQuery(spec({ x: 'ab + 1' }, [], 't'), schema, ['x']))
    assert.equal(e.code, 'TK_EXPR_TYPE')
    assert.match(e.message, /ambiguous/)
  })
})

describe('generated code', () => {
  test('common subexpressions are computed once (the canary struct and time column share unix_millis(TIMESTAMP(…)))', () => {
    const schema = T.struct('R', [{ name: 'e', type: T.timestamp }]) as StructType
    const q = compileQueryWithSource(spec({ st: 'STRUCT(unix_millis(TIMESTAMP(e)) AS t)' }, [], 'unix_millis(TIMESTAMP(e))'), schema, ['st'])
    const calls = q.source.match(/= t\d+ === null \? null : k\d+\(t\d+\);/g) ?? []
    assert.equal(calls.length, 1, q.source)
    assert.deepEqual(rowsOf(q, { e: 5_000 }), [[{ t: 5 }, 5]])
  })

  test('a compiled query is reusable across records and output arrays', () => {
    const q = compileQuery(spec({ a: 'i * 2' }), SCHEMA, ['a'])
    const out: unknown[] = []
    const seen: unknown[] = []
    for (let k = 0; k < 5; k++) q.run({ i: k, ms: k }, out, () => seen.push(out[0]))
    assert.deepEqual(seen, [0, 2, 4, 6, 8])
  })
})
