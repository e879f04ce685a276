// Hostile inputs: every one is either refused at start-up with a TK_EXPR_* error, or evaluated as plain data. None
// runs code, crashes the process, or touches Object.prototype; the generated source never holds user text.

import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { compileQueryWithSource } from '../../src/expr/compile.ts'
import { MAX_DEPTH, MAX_NODES } from '../../src/expr/parser.ts'
import { ROW, SCHEMA, rowsOf, spec } from './helpers.ts'

const refused = (code: string) => (e: unknown): boolean => {
  assert.ok(isTilekilnError(e), `expected a TilekilnError, got ${String(e)}`)
  assert.equal(e.code, code, e.message)
  return true
}

/** Compiles `expr` as a select and returns its single value; asserts the generated source is clean. */
function value (expr: string, row: Record<string, unknown> = ROW, schema: StructType = SCHEMA): unknown {
  const q = compileQueryWithSource(spec({ v: expr }), schema, ['v'])
  assertCleanSource(q.source)
  const rows = rowsOf(q, row)
  assert.equal(rows.length, 1)
  return rows[0]![0]
}

function assertCleanSource (source: string): void {
  const body = source.replace(/^'use strict';\n/, '')
  assert.doesNotMatch(body, /["'`\\]/, 'generated code must not contain any quote or backslash')
  assert.doesNotMatch(body, /process|require|import|constructor|__proto__|eval|Function/, 'generated code must not name globals')
}

const protoKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort()
after(() => {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeysBefore, 'Object.prototype must be untouched')
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

describe('string literals that try to close quotes are data', () => {
  const payloads = [
    "'); process.exit(1); //",
    '"); process.exit(1); //',
    '`; process.exit(1); `',
    '${process.exit(1)}',
    '\\\'); process.exit(1); //',
    '*/ process.exit(1) /*',
    '\u2028process.exit(1)\u2029',
    '</script><script>process.exit(1)</script>'
  ]
  for (const p of payloads) {
    test(JSON.stringify(p), () => {
      // write the payload as a Spark literal: escape backslashes and single quotes the Spark way
      const literal = `'${p.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
      assert.equal(value(literal), p)
      assert.equal(value(`concat(${literal}, s)`), p + 'Spark SQL')
      assert.equal(value(`IF(s = ${literal}, 1, 0)`), 0)
    })
  }
  test('unicode escapes in a literal decode to data, including a quote', () => {
    assert.equal(value("'\\u0027); process.exit(1); //'"), "'); process.exit(1); //")
  })
  test('a template literal as a back-quoted identifier is just a (missing) column name', () => {
    assert.throws(() => value('`${process.exit(1)}`'), refused('TK_EXPR_TYPE'))
  })
})

describe('code-looking expressions are refused at start-up', () => {
  const cases: [string, string][] = [
    ['process.exit()', 'TK_EXPR_PARSE'],
    ['process.exit(1)', 'TK_EXPR_PARSE'],
    ['exit(1)', 'TK_EXPR_TYPE'],
    ["eval('1')", 'TK_EXPR_TYPE'],
    ["Function('return process')()", 'TK_EXPR_PARSE'],
    ["constructor.constructor('return process')()", 'TK_EXPR_PARSE'],
    ['require(i)', 'TK_EXPR_TYPE'],
    ['__proto__', 'TK_EXPR_TYPE'],
    ['constructor', 'TK_EXPR_TYPE'],
    ['i; process.exit(1)', 'TK_EXPR_PARSE'],
    ['i) || (process.exit(1)', 'TK_EXPR_PARSE'],
    ['`s`.`constructor`', 'TK_EXPR_TYPE'],
    ['st.__proto__', 'TK_EXPR_TYPE'],
    ['(() => 1)()', 'TK_EXPR_PARSE'],
    ['i /* unterminated', 'TK_EXPR_PARSE'],
    ['\u0000', 'TK_EXPR_PARSE']
  ]
  for (const [expr, code] of cases) {
    test(expr, () => assert.throws(() => value(expr), refused(code)))
  }
})

describe('prototype names as data', () => {
  const schema = T.struct('R', [
    { name: 'constructor', type: T.string },
    { name: '__proto__', type: T.string },
    { name: 'toString', type: T.int },
    { name: "we'ird\\name`", type: T.string },
    { name: 'm', type: T.map(T.string, T.string) },
    { name: 'ms', type: T.long }
  ]) as StructType

  test('columns named constructor, __proto__, toString read own fields only', () => {
    const record = JSON.parse('{"constructor":"c","__proto__":"p","toString":3,"m":{}}')
    assert.equal(value('`constructor`', record, schema), 'c')
    assert.equal(value('`__proto__`', record, schema), 'p')
    assert.equal(value('`toString` + 1', record, schema), 4)
    // absent from the record: NULL, not Object.prototype's members
    assert.equal(value('`constructor`', {}, schema), null)
    assert.equal(value('`__proto__`', {}, schema), null)
    assert.equal(value('`toString`', {}, schema), null)
  })

  test('a column name with quotes and backslashes is read through the constants, not the source', () => {
    assert.equal(value('`we\'ird\\name```', { "we'ird\\name`": 'ok' }, schema), 'ok')
  })

  test("m['__proto__'], m['constructor'], m['hasOwnProperty'] are map lookups", () => {
    assert.equal(value("m['__proto__']", { m: {} }, schema), null)
    assert.equal(value("m['constructor']", { m: {} }, schema), null)
    assert.equal(value("m['hasOwnProperty']", { m: {} }, schema), null)
    assert.equal(value("m['__proto__']", { m: JSON.parse('{"__proto__":"own"}') }, schema), 'own')
    assert.equal(value("element_at(m, 'valueOf')", { m: {} }, schema), null)
    assert.equal(value("map_contains_key(m, 'toString')", { m: {} }, schema), false)
  })

  test('maps and structs built from data never set a prototype', () => {
    const m = value("map('__proto__', 'x', 'polluted', 'y')") as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(m), Object.prototype)
    assert.ok(Object.hasOwn(m, '__proto__'))
    assert.equal(m.__proto__ === 'x' || Object.getOwnPropertyDescriptor(m, '__proto__')?.value === 'x', true)
    const s = value("str_to_map('__proto__:1,constructor:2')") as Record<string, unknown>
    assert.equal(Object.getOwnPropertyDescriptor(s, '__proto__')?.value, '1')
    assert.equal(Object.getPrototypeOf(s), Object.prototype)
    const st = value("named_struct('__proto__', 1)") as Record<string, unknown>
    assert.equal(Object.getOwnPropertyDescriptor(st, '__proto__')?.value, 1)
    assert.equal(Object.getPrototypeOf(st), Object.prototype)
    assert.deepEqual(value("map_keys(map('__proto__', 1, 'constructor', 2))"), ['__proto__', 'constructor'])
  })

  test('a record with a polluted prototype contributes only its own fields', () => {
    const record = Object.create({ s: 'inherited', i: 99 }) as Record<string, unknown>
    assert.equal(value('s', record), null)
    assert.equal(value('coalesce(i, -1)', record), -1)
  })

  test('a record that carries its own "__proto__" key cannot fake its prototype', () => {
    // JSON.parse makes "__proto__" an own data property; the fast path must not trust it
    const q = compileQueryWithSource(spec({ a: 's', b: 'i', c: '`toString`' }, [], 'ms'),
      T.struct('R', [{ name: 's', type: T.string }, { name: 'i', type: T.int }, { name: 'toString', type: T.string }, { name: 'ms', type: T.long }]) as StructType,
      ['a', 'b', 'c'])
    const records = [
      JSON.parse('{"__proto__": {"s": "fake", "toString": "fake"}, "i": 1}'),
      JSON.parse('{"__proto__": null, "i": 2}'),
      Object.assign(Object.create({ s: 'inherited' }), { i: 3 }),
      JSON.parse('{"s": "own", "i": 4}')
    ]
    assert.deepEqual(records.flatMap(r => rowsOf(q, r)), [
      [null, 1, null, null], [null, 2, null, null], [null, 3, null, null], ['own', 4, null, null]
    ])
  })
})

describe('deep nesting is a clean error, never a stack overflow', () => {
  const deep = 100_000
  const cases: [string, string][] = [
    ['parentheses', '('.repeat(deep) + '1' + ')'.repeat(deep)],
    ['unary minus', '- '.repeat(deep) + '1'],
    ['NOT', 'NOT '.repeat(deep) + 'true'],
    ['function calls', 'abs('.repeat(deep) + '1' + ')'.repeat(deep)],
    ['a left-deep chain of +', Array(deep).fill('i').join(' + ')],
    ['a chain of AND', Array(deep).fill('b').join(' AND ')],
    ['nested CASE', 'CASE WHEN b THEN '.repeat(deep) + '1' + ' END'.repeat(deep)],
    ['nested arrays', 'array('.repeat(deep) + '1' + ')'.repeat(deep)],
    ['nested lambdas', 'transform(ai, x -> '.repeat(deep) + 'x' + ')'.repeat(deep)],
    ['nested subscripts', 'ai' + '[0]'.repeat(deep)],
    ['nested field access', 'st' + '.x'.repeat(deep)],
    ['nested CAST types', `CAST(NULL AS ${'ARRAY<'.repeat(deep)}INT${'>'.repeat(deep)})`]
  ]
  for (const [name, expr] of cases) {
    test(name, () => assert.throws(() => value(expr), refused('TK_EXPR_PARSE')))
  }
  test(`nesting up to the limit (${MAX_DEPTH - 10} levels) still compiles and runs`, () => {
    const n = MAX_DEPTH - 10
    assert.equal(value('('.repeat(n) + 'i' + ')'.repeat(n)), 7)
    assert.equal(value(Array(n).fill('i').join(' + ')), 7 * n)
  })
  test('deeply nested JSON in event data is NULL, not a crash', () => {
    const json = '['.repeat(200_000) + ']'.repeat(200_000)
    assert.equal(value("get_json_object(js, '$[0]')", { ...ROW, js: json }), null)
  })
})

describe('1 MB expressions', () => {
  const MB = 1024 * 1024
  test('a 1 MB string literal is data', () => {
    const big = 'x'.repeat(MB)
    assert.equal(value(`length('${big}')`), MB)
    assert.equal(value(`'${big}' = s`), false)
  })
  test('a 1 MB string literal full of quotes and escapes is data', () => {
    const chunk = "\\'); process.exit(1); //\\\\"
    const text = chunk.repeat(Math.ceil(MB / chunk.length))
    const v = value(`'${text}'`) as string
    assert.equal(v.length, "'); process.exit(1); //\\".length * Math.ceil(MB / chunk.length))
  })
  test('1 MB of terms is refused as too large', () => {
    const list = Array(MB / 4).fill('1').join(', ')
    assert.throws(() => value(`i IN (${list})`), refused('TK_EXPR_PARSE'))
    assert.throws(() => value(`coalesce(${list})`), refused('TK_EXPR_PARSE'))
  })
  test(`just under the size limit (${MAX_NODES} terms), a wide IN list compiles to a Set lookup`, () => {
    const list = Array.from({ length: 20_000 }, (_, k) => `'v${k}'`).join(', ')
    assert.equal(value(`s IN (${list}, 'Spark SQL')`), true)
    assert.equal(value(`s IN (${list})`), false)
  })
  test('1 MB of whitespace and comments around a small expression', () => {
    assert.equal(value(' '.repeat(MB / 2) + '/* ' + 'c'.repeat(MB / 2) + ' */ i + 1'), 8)
  })
  test('an expression over the length limit is refused before lexing', () => {
    assert.throws(() => value(`'${'x'.repeat(5 * MB)}'`), refused('TK_EXPR_PARSE'))
  })
})

describe('runtime failures are per event (TK_EXPR_EVAL) and the run goes on', () => {
  test('a failing event names the select; the next event evaluates normally', () => {
    const q = compileQueryWithSource(spec({ a: 'element_at(ai, i)', b: 's' }), SCHEMA, ['a', 'b'])
    assert.throws(() => rowsOf(q, { ...ROW, i: 0 }), (e: unknown) => {
      assert.ok(isTilekilnError(e))
      assert.equal(e.code, 'TK_EXPR_EVAL')
      assert.equal(e.context.path, 'sources[0].events.query.selects.a')
      assert.equal(e.context.groupBy, 'test.group_by')
      return true
    })
    assert.deepEqual(rowsOf(q, { ...ROW, i: 2 }), [[2, 'Spark SQL', ROW.ms]])
  })
  test('a value of the wrong type in a record fails that event, not the process', () => {
    const q = compileQueryWithSource(spec({ a: 'upper(s)' }), SCHEMA, ['a'])
    assert.throws(() => rowsOf(q, { ...ROW, s: 42 }), refused('TK_EXPR_EVAL'))
    assert.deepEqual(rowsOf(q, ROW), [['SPARK SQL', ROW.ms]])
  })
  test('a bad regex that only exists in the data fails that event', () => {
    const q = compileQueryWithSource(spec({ a: 'regexp_extract(s, n_s, 0)' }), SCHEMA, ['a'])
    assert.throws(() => rowsOf(q, { ...ROW, n_s: '(' }), refused('TK_EXPR_EVAL'))
    assert.deepEqual(rowsOf(q, { ...ROW, n_s: 'S..' }), [['Spa', ROW.ms]])
  })
  test('an error thrown by emit() is the engine\'s, not an expression error', () => {
    const q = compileQueryWithSource(spec({ a: 's' }), SCHEMA, ['a'])
    const boom = new Error('sink full')
    assert.throws(() => q.run(ROW, [], () => { throw boom }), (e: unknown) => e === boom)
  })
})
