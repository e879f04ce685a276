// Recursive-descent parser for Spark SQL expressions, following the precedence of Spark's grammar (SqlBaseParser):
//
//   OR < AND < NOT < predicates (BETWEEN, IN, LIKE, RLIKE, IS [NOT] NULL) < comparisons < | < ^ < & < + - || <
//   * / % DIV < unary + - ~ < postfix (. [] ::) < primary
//
// Binary operators of one level are parsed with a loop (left-associative), not recursion, so a long chain such as
// `a + a + … + a` does not grow the parser's stack; the resulting tree is still deep, which is why every node
// records its depth and construction stops at MAX_DEPTH. Together with MAX_NODES and MAX_LENGTH this bounds what
// the type checker and the code generator (both recursive) will ever see.

import { type DataType, T, type StructField } from '../api/data-type.ts'
import type { BinaryOp, LiteralKind, Node } from './ast.ts'
import { ExprError } from './errors.ts'
import { type Token, tokenize } from './lexer.ts'
import { parseDateLiteral, parseTimestampLiteral } from './runtime/datetime.ts'

export const MAX_DEPTH = 200
export const MAX_NODES = 100_000
export const MAX_LENGTH = 4 * 1024 * 1024

export function parseExpression (text: string): Node {
  if (text.length > MAX_LENGTH) {
    throw new ExprError('parse', `expression is ${text.length} characters long; the limit is ${MAX_LENGTH}`, 0, 'a shorter expression')
  }
  const p = new Parser(text, tokenize(text))
  const node = p.expression()
  p.expectEnd()
  return node
}

/** Parses a Spark type name as written in CAST (`BIGINT`, `array<string>`, `decimal(10,2)`, `struct<a:int>`). */
export function parseTypeName (text: string): DataType {
  const p = new Parser(text, tokenize(text))
  const t = p.typeName()
  p.expectEnd()
  return t.type
}

/** A node before its depth is known. */
type NodeInput = Node extends infer N ? (N extends Node ? Omit<N, 'depth'> : never) : never

const CMP_OPS: Record<string, BinaryOp> = { '=': '=', '==': '=', '<=>': '<=>', '!=': '!=', '<>': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' }

class Parser {
  #i = 0
  #nesting = 0
  #nodes = 0

  constructor (readonly text: string, readonly tokens: Token[]) {}

  // ---- token helpers -------------------------------------------------------------------------------------------

  get tok (): Token { return this.tokens[this.#i]! }
  peek (k = 1): Token { return this.tokens[Math.min(this.#i + k, this.tokens.length - 1)]! }
  next (): Token { const t = this.tok; if (t.kind !== 'eof') this.#i++; return t }

  isOp (op: string, t = this.tok): boolean { return t.kind === 'op' && t.text === op }
  isKw (kw: string, t = this.tok): boolean { return t.kind === 'ident' && t.text.toUpperCase() === kw }

  acceptOp (op: string): boolean { if (this.isOp(op)) { this.#i++; return true } return false }
  acceptKw (kw: string): boolean { if (this.isKw(kw)) { this.#i++; return true } return false }

  expectOp (op: string, context?: string): Token {
    if (!this.isOp(op)) this.fail(`'${op}'${context !== undefined ? ` ${context}` : ''}`)
    return this.next()
  }

  expectKw (kw: string, context?: string): Token {
    if (!this.isKw(kw)) this.fail(`${kw}${context !== undefined ? ` ${context}` : ''}`)
    return this.next()
  }

  expectEnd (): void {
    if (this.tok.kind !== 'eof') this.fail('the end of the expression (an operator is missing, or this is an alias: aliases are only allowed inside STRUCT(…))')
  }

  describe (t: Token): string {
    switch (t.kind) {
      case 'eof': return 'the end of the expression'
      case 'string': return 'a string literal'
      case 'qident': return `\`${t.text.length > 40 ? t.text.slice(0, 40) + '…' : t.text}\``
      default: return `'${t.text.length > 40 ? t.text.slice(0, 40) + '…' : t.text}'`
    }
  }

  fail (expected: string, at: Token = this.tok): never {
    throw new ExprError('parse', `expected ${expected} but found ${this.describe(at)}`, at.pos, expected)
  }

  // ---- limits ----------------------------------------------------------------------------------------------------

  mk<N extends Node = Node> (node: NodeInput, ...children: (Node | null | undefined)[]): N {
    let depth = 0
    for (const c of children) if (c != null && c.depth > depth) depth = c.depth
    depth++
    if (depth > MAX_DEPTH) {
      throw new ExprError('parse', `expression is nested more than ${MAX_DEPTH} levels deep`, node.pos, `at most ${MAX_DEPTH} levels of nesting`)
    }
    if (++this.#nodes > MAX_NODES) {
      throw new ExprError('parse', `expression has more than ${MAX_NODES} terms`, node.pos, `at most ${MAX_NODES} terms`)
    }
    return { ...node, depth } as N
  }

  nested<R> (pos: number, f: () => R): R {
    if (++this.#nesting > MAX_DEPTH) {
      throw new ExprError('parse', `expression is nested more than ${MAX_DEPTH} levels deep`, pos, `at most ${MAX_DEPTH} levels of nesting`)
    }
    try { return f() } finally { this.#nesting-- }
  }

  // ---- boolean levels --------------------------------------------------------------------------------------------

  expression (): Node {
    return this.nested(this.tok.pos, () => this.orExpr())
  }

  orExpr (): Node {
    let left = this.andExpr()
    while (this.isKw('OR')) {
      const pos = this.next().pos
      const right = this.andExpr()
      left = this.mk({ k: 'or', pos, left, right }, left, right)
    }
    return left
  }

  andExpr (): Node {
    let left = this.notExpr()
    while (this.isKw('AND')) {
      const pos = this.next().pos
      const right = this.notExpr()
      left = this.mk({ k: 'and', pos, left, right }, left, right)
    }
    return left
  }

  notExpr (): Node {
    if (this.isKw('NOT') || this.isOp('!')) {
      const pos = this.next().pos
      const arg = this.nested(pos, () => this.notExpr())
      return this.mk({ k: 'not', pos, arg }, arg)
    }
    return this.predicated()
  }

  predicated (): Node {
    let node = this.comparison()
    for (;;) {
      const start = this.tok
      let negated = false
      if (this.isKw('NOT') && ['BETWEEN', 'IN', 'LIKE', 'ILIKE', 'RLIKE', 'REGEXP'].some(k => this.isKw(k, this.peek()))) {
        this.next()
        negated = true
      }
      if (this.acceptKw('BETWEEN')) {
        const lower = this.comparison()
        this.expectKw('AND', 'in BETWEEN … AND …')
        const upper = this.comparison()
        node = this.mk({ k: 'between', pos: start.pos, arg: node, lower, upper, negated }, node, lower, upper)
      } else if (this.acceptKw('IN')) {
        this.expectOp('(', 'after IN')
        const list: Node[] = []
        if (!this.isOp(')')) {
          do list.push(this.expression())
          while (this.acceptOp(','))
        }
        this.expectOp(')', 'closing the IN list')
        if (list.length === 0) this.fail('at least one value in the IN list', start)
        node = this.mk({ k: 'in', pos: start.pos, arg: node, list, negated }, node, ...list)
      } else if (this.isKw('LIKE') || this.isKw('ILIKE') || this.isKw('RLIKE') || this.isKw('REGEXP')) {
        const kw = this.next().text.toUpperCase()
        const op = kw === 'LIKE' ? 'like' : kw === 'ILIKE' ? 'ilike' : 'rlike'
        const pattern = this.comparison()
        let escape: string | null = null
        if (op !== 'rlike' && this.acceptKw('ESCAPE')) {
          const e = this.tok
          if (e.kind !== 'string' || e.text.length !== 1) this.fail('a one-character string after ESCAPE')
          escape = this.next().text
        }
        node = this.mk({ k: 'like', pos: start.pos, op, arg: node, pattern, escape, negated }, node, pattern)
      } else if (!negated && this.isKw('IS')) {
        this.next()
        const not = this.acceptKw('NOT')
        if (this.acceptKw('NULL')) {
          node = this.mk({ k: 'isnull', pos: start.pos, arg: node, negated: not }, node)
        } else if (this.isKw('TRUE') || this.isKw('FALSE')) {
          const value = this.next().text.toUpperCase() === 'TRUE'
          node = this.mk({ k: 'isbool', pos: start.pos, arg: node, value, negated: not }, node)
        } else if (this.acceptKw('DISTINCT')) {
          this.expectKw('FROM', 'in IS [NOT] DISTINCT FROM')
          const other = this.comparison()
          // IS DISTINCT FROM is NOT (a <=> b); IS NOT DISTINCT FROM is a <=> b
          const eq = this.mk<Node>({ k: 'binary', pos: start.pos, op: '<=>', left: node, right: other }, node, other)
          node = not ? eq : this.mk({ k: 'not', pos: start.pos, arg: eq }, eq)
        } else {
          this.fail('NULL, TRUE, FALSE or DISTINCT FROM after IS [NOT]')
        }
      } else {
        if (negated) this.fail('BETWEEN, IN, LIKE or RLIKE after NOT')
        return node
      }
    }
  }

  // ---- value levels ----------------------------------------------------------------------------------------------

  comparison (): Node {
    let left = this.bitOr()
    for (;;) {
      const t = this.tok
      const op = t.kind === 'op' ? CMP_OPS[t.text] : undefined
      if (op === undefined) return left
      this.next()
      const right = this.bitOr()
      left = this.mk({ k: 'binary', pos: t.pos, op, left, right }, left, right)
    }
  }

  bitOr (): Node { return this.binaryLevel(() => this.bitXor(), t => this.isOp('|', t) ? '|' : null) }
  bitXor (): Node { return this.binaryLevel(() => this.bitAnd(), t => this.isOp('^', t) ? '^' : null) }
  bitAnd (): Node { return this.binaryLevel(() => this.additive(), t => this.isOp('&', t) ? '&' : null) }

  additive (): Node {
    return this.binaryLevel(() => this.multiplicative(), t =>
      t.kind === 'op' && (t.text === '+' || t.text === '-' || t.text === '||') ? t.text as BinaryOp : null)
  }

  multiplicative (): Node {
    return this.binaryLevel(() => this.unary(), t =>
      t.kind === 'op' && (t.text === '*' || t.text === '/' || t.text === '%')
        ? t.text as BinaryOp
        : this.isKw('DIV', t) ? 'div' : null)
  }

  binaryLevel (operand: () => Node, opOf: (t: Token) => BinaryOp | null): Node {
    let left = operand()
    for (;;) {
      const t = this.tok
      const op = opOf(t)
      if (op === null) return left
      this.next()
      const right = operand()
      left = this.mk({ k: 'binary', pos: t.pos, op, left, right }, left, right)
    }
  }

  unary (): Node {
    const t = this.tok
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.next()
      // fold a minus into the number right after it, so that -2147483648 is an INT and -9223372036854775808L a
      // BIGINT, as Spark types them (2147483648 alone is a BIGINT)
      const num = this.tok
      if (t.text === '-' && num.kind === 'number' && !['.', '[', '::'].some(op => this.isOp(op, this.peek()))) {
        this.next()
        const lit = typedNumber(num.text, true)
        if (lit === null) throw new ExprError('parse', `numeric literal -${num.text} is out of range for its type`, t.pos, 'a literal that fits its type')
        return this.mk<Node>({ k: 'lit', pos: t.pos, kind: lit.kind, value: lit.value })
      }
      const arg = this.nested(t.pos, () => this.unary())
      return this.mk({ k: 'unary', pos: t.pos, op: t.text as '-' | '+' | '~', arg }, arg)
    }
    return this.postfix()
  }

  postfix (): Node {
    let node = this.primary()
    for (;;) {
      const t = this.tok
      if (this.isOp('.')) {
        this.next()
        const name = this.tok
        if (name.kind !== 'ident' && name.kind !== 'qident') this.fail('a field name after \'.\'')
        this.next()
        if (node.k === 'ref') {
          // a dotted name grows in place (a.b.c…); its length counts as depth, like nested field accesses
          if (node.parts.length >= MAX_DEPTH) {
            throw new ExprError('parse', `expression is nested more than ${MAX_DEPTH} levels deep`, name.pos, `at most ${MAX_DEPTH} levels of nesting`)
          }
          (node.parts as string[]).push(name.text)
          ;(node as { depth: number }).depth = node.parts.length
        } else {
          node = this.mk({ k: 'field', pos: t.pos, base: node, name: name.text }, node)
        }
      } else if (this.isOp('[')) {
        this.next()
        const index = this.expression()
        this.expectOp(']', 'closing the subscript')
        node = this.mk({ k: 'subscript', pos: t.pos, base: node, index }, node, index)
      } else if (this.isOp('::')) {
        this.next()
        const to = this.typeName()
        node = this.mk({ k: 'cast', pos: t.pos, arg: node, to: to.type, toText: to.text }, node)
      } else {
        return node
      }
    }
  }

  // ---- primary ---------------------------------------------------------------------------------------------------

  primary (): Node {
    const t = this.tok
    switch (t.kind) {
      case 'number': this.next(); return this.mk(numberLiteral(t))
      case 'string': return this.stringLiteral()
      case 'binary': this.next(); return this.mk({ k: 'lit', pos: t.pos, kind: 'binary', value: hexBytes(t.text) })
      case 'qident': return this.nameOrCall()
      case 'ident': return this.keywordOrName()
      case 'op':
        if (t.text === '(') return this.parenthesized()
        break
      case 'eof': break
    }
    return this.fail('an expression')
  }

  stringLiteral (): Node {
    const t = this.tok
    let value = ''
    // adjacent literals concatenate: 'a' 'b' is 'ab'
    while (this.tok.kind === 'string') value += this.next().text
    return this.mk({ k: 'lit', pos: t.pos, kind: 'string', value })
  }

  parenthesized (): Node {
    const open = this.next()
    // (a, b) -> body
    if (this.isLambdaParams()) return this.lambda(open.pos)
    const inner = this.expression()
    this.expectOp(')', 'closing the parenthesis')
    return inner
  }

  isLambdaParams (): boolean {
    let j = this.#i
    for (;;) {
      const name = this.tokens[j]!
      if (name.kind !== 'ident' && name.kind !== 'qident') return false
      const sep = this.tokens[j + 1]!
      if (sep.kind === 'op' && sep.text === ',') { j += 2; continue }
      return sep.kind === 'op' && sep.text === ')' && this.isOp('->', this.tokens[j + 2])
    }
  }

  lambda (pos: number): Node {
    const params: string[] = []
    do params.push(this.next().text)
    while (this.acceptOp(','))
    this.expectOp(')')
    this.expectOp('->')
    const body = this.expression()
    return this.mk({ k: 'lambda', pos, params, body }, body)
  }

  keywordOrName (): Node {
    const t = this.tok
    const kw = t.text.toUpperCase()
    const nextTok = this.peek()
    switch (kw) {
      case 'NULL': this.next(); return this.mk({ k: 'lit', pos: t.pos, kind: 'null', value: null })
      case 'TRUE': case 'FALSE': this.next(); return this.mk({ k: 'lit', pos: t.pos, kind: 'boolean', value: kw === 'TRUE' })
      case 'CASE': return this.caseExpr()
      case 'NOT': return this.notExpr()
      case 'INTERVAL':
        if (nextTok.kind === 'string' || nextTok.kind === 'number') {
          throw new ExprError('parse', 'INTERVAL literals are not supported; use DATE_ADD or arithmetic on unix_millis(…)', t.pos, 'an expression without INTERVAL')
        }
        break
      case 'DATE': case 'TIMESTAMP': case 'TIMESTAMP_LTZ': case 'TIMESTAMP_NTZ':
        if (nextTok.kind === 'string') return this.typedLiteral(kw)
        break
      case 'CAST': case 'TRY_CAST':
        if (this.isOp('(', nextTok)) return this.castExpr()
        break
      case 'STRUCT':
        if (this.isOp('(', nextTok)) return this.structExpr()
        break
      case 'CURRENT_DATE': case 'CURRENT_TIMESTAMP': case 'CURRENT_USER': case 'LOCALTIMESTAMP':
        if (!this.isOp('(', nextTok)) {
          this.next()
          return this.mk({ k: 'call', pos: t.pos, name: t.text.toLowerCase(), args: [], nameEnd: t.end })
        }
        break
    }
    if (this.isOp('->', nextTok)) {
      this.next()
      this.next()
      const body = this.expression()
      return this.mk({ k: 'lambda', pos: t.pos, params: [t.text], body }, body)
    }
    return this.nameOrCall()
  }

  nameOrCall (): Node {
    const t = this.next()
    if (this.isOp('(')) return this.call(t)
    if (t.kind === 'qident' && this.isOp('->')) {
      this.next()
      const body = this.expression()
      return this.mk({ k: 'lambda', pos: t.pos, params: [t.text], body }, body)
    }
    return this.mk({ k: 'ref', pos: t.pos, parts: [t.text] })
  }

  call (name: Token): Node {
    const fn = name.text.toLowerCase()
    this.expectOp('(')
    if (name.kind === 'ident') {
      if (fn === 'trim' || fn === 'ltrim' || fn === 'rtrim') {
        const special = this.trimSyntax(name, fn)
        if (special !== null) return special
      }
      if ((fn === 'substring' || fn === 'substr') && this.hasKeywordBeforeClose('FROM')) return this.substringSyntax(name)
      if (fn === 'position' && this.hasKeywordBeforeClose('IN')) return this.positionSyntax(name)
      if ((fn === 'extract') && this.hasKeywordBeforeClose('FROM')) return this.extractSyntax(name)
    }
    if (this.isKw('DISTINCT') || this.isKw('ALL')) {
      throw new ExprError('parse', `${this.tok.text.toUpperCase()} inside a function call is for aggregate functions, which a select cannot use`, this.tok.pos, 'function arguments')
    }
    const args: Node[] = []
    if (!this.isOp(')')) {
      do args.push(this.expression())
      while (this.acceptOp(','))
    }
    this.expectOp(')', `closing the arguments of ${name.text}`)
    return this.mk({ k: 'call', pos: name.pos, name: fn, args, nameEnd: name.end }, ...args)
  }

  /** True if keyword kw appears at parenthesis depth 0 before the call's closing parenthesis. */
  hasKeywordBeforeClose (kw: string): boolean {
    let depth = 0
    for (let j = this.#i; j < this.tokens.length; j++) {
      const t = this.tokens[j]!
      if (t.kind === 'op' && (t.text === '(' || t.text === '[')) depth++
      else if (t.kind === 'op' && (t.text === ')' || t.text === ']')) { if (depth === 0) return false; depth-- } else if (depth === 0 && this.isKw(kw, t)) return true
      else if (t.kind === 'eof') return false
    }
    return false
  }

  /** TRIM([BOTH | LEADING | TRAILING] [chars] FROM str); plain trim(str) and trim(str, chars) fall through. */
  trimSyntax (name: Token, fn: string): Node | null {
    let mode = fn === 'ltrim' ? 'ltrim' : fn === 'rtrim' ? 'rtrim' : 'trim'
    const start = this.#i
    if (fn === 'trim' && (this.isKw('BOTH') || this.isKw('LEADING') || this.isKw('TRAILING')) && !this.isOp(')', this.peek()) && !this.isOp(',', this.peek())) {
      const w = this.next().text.toUpperCase()
      mode = w === 'LEADING' ? 'ltrim' : w === 'TRAILING' ? 'rtrim' : 'trim'
      if (this.acceptKw('FROM')) {
        const src = this.expression()
        this.expectOp(')', 'closing TRIM')
        return this.mk({ k: 'call', pos: name.pos, name: mode, args: [src], nameEnd: name.end }, src)
      }
    } else if (!this.hasKeywordBeforeClose('FROM')) {
      return null
    }
    const chars = this.expression()
    if (!this.acceptKw('FROM')) { this.#i = start; return null }
    const src = this.expression()
    this.expectOp(')', 'closing TRIM')
    return this.mk({ k: 'call', pos: name.pos, name: mode, args: [src, chars], nameEnd: name.end }, src, chars)
  }

  substringSyntax (name: Token): Node {
    const str = this.expression()
    this.expectKw('FROM', 'in SUBSTRING(str FROM pos [FOR len])')
    const pos = this.expression()
    const args = [str, pos]
    if (this.acceptKw('FOR')) args.push(this.expression())
    this.expectOp(')', 'closing SUBSTRING')
    return this.mk({ k: 'call', pos: name.pos, name: 'substring', args, nameEnd: name.end }, ...args)
  }

  positionSyntax (name: Token): Node {
    const sub = this.comparison()
    this.expectKw('IN', 'in POSITION(substr IN str)')
    const str = this.expression()
    this.expectOp(')', 'closing POSITION')
    return this.mk({ k: 'call', pos: name.pos, name: 'locate', args: [sub, str], nameEnd: name.end }, sub, str)
  }

  extractSyntax (name: Token): Node {
    const field = this.tok
    if (field.kind !== 'ident' && field.kind !== 'string') this.fail('a field name (YEAR, MONTH, DAY, HOUR…) in EXTRACT')
    this.next()
    this.expectKw('FROM', 'in EXTRACT(field FROM source)')
    const src = this.expression()
    this.expectOp(')', 'closing EXTRACT')
    const fieldLit = this.mk<Node>({ k: 'lit', pos: field.pos, kind: 'string', value: field.text })
    return this.mk({ k: 'call', pos: name.pos, name: 'date_part', args: [fieldLit, src], nameEnd: name.end }, fieldLit, src)
  }

  caseExpr (): Node {
    const start = this.next()
    const subject = this.isKw('WHEN') ? null : this.expression()
    const branches: { when: Node, then: Node }[] = []
    while (this.acceptKw('WHEN')) {
      const when = this.expression()
      this.expectKw('THEN', 'after CASE … WHEN condition')
      const then = this.expression()
      branches.push({ when, then })
    }
    if (branches.length === 0) this.fail('WHEN in CASE')
    const otherwise = this.acceptKw('ELSE') ? this.expression() : null
    this.expectKw('END', 'closing CASE (or WHEN / ELSE)')
    return this.mk({ k: 'case', pos: start.pos, subject, branches, otherwise },
      subject, otherwise, ...branches.flatMap(b => [b.when, b.then]))
  }

  castExpr (): Node {
    const start = this.next()
    this.expectOp('(')
    const arg = this.expression()
    this.expectKw('AS', 'in CAST(expr AS type)')
    const to = this.typeName()
    this.expectOp(')', 'closing CAST')
    return this.mk({ k: 'cast', pos: start.pos, arg, to: to.type, toText: to.text }, arg)
  }

  structExpr (): Node {
    const start = this.next()
    this.expectOp('(')
    const args: { value: Node, alias: string | null }[] = []
    if (!this.isOp(')')) {
      do {
        const value = this.expression()
        let alias: string | null = null
        if (this.acceptKw('AS') || this.tok.kind === 'qident' || (this.tok.kind === 'ident' && !this.isOp(',', this.tok))) {
          const a = this.tok
          if (a.kind !== 'ident' && a.kind !== 'qident') this.fail('a field name after AS')
          alias = this.next().text
        }
        args.push({ value, alias })
      } while (this.acceptOp(','))
    }
    this.expectOp(')', 'closing STRUCT')
    return this.mk({ k: 'struct', pos: start.pos, args }, ...args.map(a => a.value))
  }

  typedLiteral (kw: string): Node {
    const t = this.next()
    const s = this.next()
    if (kw === 'DATE') {
      const days = parseDateLiteral(s.text)
      if (days === null) throw new ExprError('parse', `'${s.text}' is not a valid DATE literal`, s.pos, 'a date such as \'2024-01-31\'')
      return this.mk({ k: 'lit', pos: t.pos, kind: 'date', value: days })
    }
    const micros = parseTimestampLiteral(s.text)
    if (micros === null) throw new ExprError('parse', `'${s.text}' is not a valid TIMESTAMP literal`, s.pos, 'a timestamp such as \'2024-01-31 12:00:00\'')
    return this.mk({ k: 'lit', pos: t.pos, kind: 'timestamp', value: micros })
  }

  // ---- type names ------------------------------------------------------------------------------------------------

  typeName (): { type: DataType, text: string } {
    const start = this.tok
    const type = this.nested(start.pos, () => this.typeInner())
    const last = this.tokens[this.#i - 1]!
    return { type, text: this.text.slice(start.pos, last.end) }
  }

  typeInner (): DataType {
    const t = this.tok
    if (t.kind !== 'ident') this.fail('a type name')
    this.next()
    const name = t.text.toUpperCase()
    switch (name) {
      case 'BOOLEAN': case 'BOOL': return T.boolean
      case 'TINYINT': case 'BYTE': return T.byte
      case 'SMALLINT': case 'SHORT': return T.short
      case 'INT': case 'INTEGER': return T.int
      case 'BIGINT': case 'LONG': return T.long
      case 'FLOAT': case 'REAL': return T.float
      case 'DOUBLE': return T.double
      case 'DECIMAL': case 'DEC': case 'NUMERIC':
        // decimals are carried as doubles (see README of this room); precision and scale are accepted and ignored
        if (this.acceptOp('(')) {
          this.expectNumber()
          if (this.acceptOp(',')) this.expectNumber()
          this.expectOp(')')
        }
        return T.double
      case 'STRING': return T.string
      case 'VARCHAR': case 'CHAR':
        if (this.acceptOp('(')) { this.expectNumber(); this.expectOp(')') }
        return T.string
      case 'BINARY': return T.binary
      case 'DATE': return T.date
      case 'TIMESTAMP': case 'TIMESTAMP_LTZ': return T.timestamp
      case 'ARRAY': {
        this.expectOp('<', 'after ARRAY')
        const elem = this.typeInner()
        this.expectOp('>', 'closing ARRAY<…>')
        return T.list(elem)
      }
      case 'MAP': {
        this.expectOp('<', 'after MAP')
        const key = this.typeInner()
        this.expectOp(',', 'between the key and value types of MAP<k, v>')
        const value = this.typeInner()
        this.expectOp('>', 'closing MAP<…>')
        return T.map(key, value)
      }
      case 'STRUCT': {
        this.expectOp('<', 'after STRUCT')
        const fields: StructField[] = []
        if (!this.isOp('>')) {
          do {
            const f = this.tok
            if (f.kind !== 'ident' && f.kind !== 'qident') this.fail('a field name in STRUCT<…>')
            this.next()
            this.acceptOp(':')
            fields.push({ name: f.text, type: this.typeInner() })
          } while (this.acceptOp(','))
        }
        this.expectOp('>', 'closing STRUCT<…>')
        return T.struct('Struct', fields)
      }
    }
    throw new ExprError('parse', `unknown type '${t.text}'`, t.pos,
      'a type: BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL, STRING, BINARY, DATE, TIMESTAMP, ARRAY<…>, MAP<…>, STRUCT<…>')
  }

  expectNumber (): void {
    if (this.tok.kind !== 'number') this.fail('a number')
    this.next()
  }
}

// ---- literals ------------------------------------------------------------------------------------------------------

const INT_MIN = -2147483648
const INT_MAX = 2147483647
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n

function numberLiteral (t: Token): NodeInput {
  const lit = typedNumber(t.text, false)
  if (lit === null) throw new ExprError('parse', `numeric literal ${t.text} is out of range for its type`, t.pos, 'a literal that fits its type')
  return { k: 'lit', pos: t.pos, kind: lit.kind, value: lit.value }
}

/** Spark's literal typing: 1 is INT (BIGINT when it does not fit), 1L BIGINT, 1S SMALLINT, 1Y TINYINT, 1.5 and 1BD
 *  DECIMAL (carried as DOUBLE here), 1e3 and 1D DOUBLE, 1F FLOAT. */
function typedNumber (text: string, negative: boolean): { kind: LiteralKind, value: unknown } | null {
  const upper = text.toUpperCase()
  const sign = negative ? '-' : ''
  const suffix = upper.endsWith('BD') ? 'BD' : /[LSYDF]$/.test(upper) ? upper[upper.length - 1]! : ''
  const body = upper.slice(0, upper.length - suffix.length)
  const integral = /^\d+$/.test(body)
  switch (suffix) {
    case 'L': case 'S': case 'Y': {
      if (!integral) return null
      const v = BigInt(sign + body)
      const [lo, hi] = suffix === 'L' ? [LONG_MIN, LONG_MAX] : suffix === 'S' ? [-32768n, 32767n] : [-128n, 127n]
      if (v < lo || v > hi) return null
      return { kind: suffix === 'L' ? 'long' : suffix === 'S' ? 'short' : 'byte', value: longValue(v) }
    }
    case 'D': return { kind: 'double', value: Number(sign + body) }
    case 'F': return { kind: 'float', value: Math.fround(Number(sign + body)) }
    case 'BD': return { kind: 'decimal', value: Number(sign + body) }
  }
  if (integral) {
    const v = BigInt(sign + body)
    if (v >= BigInt(INT_MIN) && v <= BigInt(INT_MAX)) return { kind: 'int', value: Number(v) }
    if (v >= LONG_MIN && v <= LONG_MAX) return { kind: 'long', value: longValue(v) }
    return { kind: 'decimal', value: Number(v) }
  }
  return { kind: body.includes('E') ? 'double' : 'decimal', value: Number(sign + body) }
}

/** A long as the value model carries it: a number when exact, a bigint beyond ±2^53. */
function longValue (v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v
}

function hexBytes (hex: string): Uint8Array {
  const padded = hex.length % 2 === 1 ? '0' + hex : hex
  const out = new Uint8Array(padded.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.slice(2 * i, 2 * i + 2), 16)
  return out
}
