// The parser on its own: precedence as in Spark's grammar, literal typing, comments, and where errors point.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Node } from '../../src/expr/ast.ts'
import { ExprError } from '../../src/expr/errors.ts'
import { parseExpression, parseTypeName } from '../../src/expr/parser.ts'
import { T } from '../../src/api/data-type.ts'

/** A compact rendering of the tree: (op a b). */
function show (n: Node): string {
  switch (n.k) {
    case 'lit': return n.kind === 'string' ? `'${String(n.value)}'` : `${String(n.value)}:${n.kind}`
    case 'ref': return n.parts.join('.')
    case 'field': return `(. ${show(n.base)} ${n.name})`
    case 'subscript': return `([] ${show(n.base)} ${show(n.index)})`
    case 'unary': return `(${n.op} ${show(n.arg)})`
    case 'binary': return `(${n.op} ${show(n.left)} ${show(n.right)})`
    case 'not': return `(not ${show(n.arg)})`
    case 'and': case 'or': return `(${n.k} ${show(n.left)} ${show(n.right)})`
    case 'isnull': return `(${n.negated ? 'notnull' : 'isnull'} ${show(n.arg)})`
    case 'in': return `(${n.negated ? 'notin' : 'in'} ${show(n.arg)} ${n.list.map(show).join(' ')})`
    case 'between': return `(${n.negated ? 'not ' : ''}between ${show(n.arg)} ${show(n.lower)} ${show(n.upper)})`
    case 'like': return `(${n.negated ? 'not ' : ''}${n.op} ${show(n.arg)} ${show(n.pattern)})`
    case 'call': return `(${n.name}${n.args.map(a => ' ' + show(a)).join('')})`
    case 'cast': return `(cast ${show(n.arg)} ${n.toText})`
    case 'lambda': return `(\\${n.params.join(',')} ${show(n.body)})`
    case 'struct': return `(struct ${n.args.map(a => show(a.value) + (a.alias === null ? '' : ` as ${a.alias}`)).join(' ')})`
    case 'case': return `(case ${n.subject === null ? '' : show(n.subject) + ' '}${n.branches.map(b => `${show(b.when)}=>${show(b.then)}`).join(' ')}${n.otherwise === null ? '' : ' else ' + show(n.otherwise)})`
    case 'isbool': return `(is${n.negated ? 'not' : ''}${String(n.value)} ${show(n.arg)})`
  }
}

describe('precedence (SqlBaseParser)', () => {
  const cases: [string, string][] = [
    ['a + b * c', '(+ a (* b c))'],
    ['a - b - c', '(- (- a b) c)'],
    ['a || b + c', '(+ (|| a b) c)'],
    ['a & b | c ^ d', '(| (& a b) (^ c d))'],
    ['a = b + 1', '(= a (+ b 1:int))'],
    ['NOT a = b', '(not (= a b))'],
    ['a = b AND c OR d', '(or (and (= a b) c) d)'],
    ['a OR b AND c', '(or a (and b c))'],
    ['-a.b', '(- a.b)'],
    ['-a[0]', '(- ([] a 0:int))'],
    ['x IN (1, 2) AND y', '(and (in x 1:int 2:int) y)'],
    ['x NOT BETWEEN 1 AND 2 OR z', '(or (not between x 1:int 2:int) z)'],
    ['a IS NOT NULL AND b IS NULL', '(and (notnull a) (isnull b))'],
    ["s NOT LIKE 'a%'", "(not like s 'a%')"],
    ['m[\'k\'].x.y', "(. (. ([] m 'k') x) y)"],
    ['f(x)[1]', '([] (f x) 1:int)'],
    ['transform(a, (x, i) -> x + i)', '(transform a (\\x,i (+ x i)))'],
    ['struct(a, b AS c, d e)', '(struct a b as c d as e)'],
    ['CASE x WHEN 1 THEN a ELSE b END', '(case x 1:int=>a else b)'],
    ['x::string', '(cast x string)'],
    ['a /* c */ + -- line\n b', '(+ a b)'],
    ['`a b`.`c``d`', 'a b.c`d'],
    ['-2147483648', '-2147483648:int'],
    ['2147483648', '2147483648:long'],
    ['1.5e2', '150:double'],
    ['10BD', '10:decimal'],
    ['.5', '0.5:decimal'],
    ["'a' \"b\"", "'ab'"]
  ]
  for (const [text, tree] of cases) test(`${text.replace(/\n/g, '\\n')} → ${tree}`, () => assert.equal(show(parseExpression(text)), tree))
})

describe('type names in CAST', () => {
  test('Spark names and nested types', () => {
    assert.deepEqual(parseTypeName('BIGINT'), T.long)
    assert.deepEqual(parseTypeName('decimal(10, 2)'), T.double)
    assert.deepEqual(parseTypeName('array<map<string, int>>'), T.list(T.map(T.string, T.int)))
    assert.deepEqual(parseTypeName('struct<a: int, `b c`: string>'), T.struct('Struct', [{ name: 'a', type: T.int }, { name: 'b c', type: T.string }]))
  })
})

describe('errors point at the offending token', () => {
  const cases: [string, number, RegExp][] = [
    ['a +', 3, /expected an expression but found the end of the expression/],
    ['f(a b)', 4, /expected '\)' closing the arguments of f/],
    ['CASE WHEN a THEN b', 18, /expected END closing CASE/],
    ['CAST(a AS widget)', 10, /unknown type 'widget'/],
    ["'abc", 0, /unterminated string literal/],
    ['a # b', 2, /unexpected character "#"/],
    ['x IN ()', 2, /at least one value in the IN list/],
    ['99999999999999999999L', 0, /out of range/],
    ["DATE '2020-02-30'", 5, /not a valid DATE literal/],
    ["INTERVAL '1' DAY", 0, /INTERVAL literals are not supported/]
  ]
  for (const [text, pos, message] of cases) {
    test(text, () => assert.throws(() => parseExpression(text), (e: unknown) => {
      assert.ok(e instanceof ExprError)
      assert.equal(e.pos, pos)
      assert.match(e.message, message)
      return true
    }))
  }
})
