// Tokenizer for the Spark SQL expression subset. It never interprets identifiers as keywords: the parser decides
// (most Spark keywords are non-reserved, so `timestamp` or `date` can be column names). Positions are 0-based
// character offsets into the expression text, used by every error message.

import { ExprError } from './errors.ts'

export type TokenKind = 'ident' | 'qident' | 'number' | 'string' | 'binary' | 'op' | 'eof'

export interface Token {
  readonly kind: TokenKind
  /** ident: the text as written; qident: the unquoted name; string: the unescaped value; op: the operator. */
  readonly text: string
  readonly pos: number
  readonly end: number
}

// Longest first, so `<=>` wins over `<=` and `<`.
const OPERATORS = ['<=>', '->', '<=', '>=', '<>', '!=', '==', '||', '::',
  '+', '-', '*', '/', '%', '=', '<', '>', '(', ')', '[', ']', ',', '.', '&', '|', '^', '~', '!', ':']

export function tokenize (src: string): Token[] {
  const tokens: Token[] = []
  const n = src.length
  let i = 0
  while (i < n) {
    const c = src.charCodeAt(i)
    if (isSpace(c)) { i++; continue }
    if (c === 0x2d && src.charCodeAt(i + 1) === 0x2d) { // -- comment to end of line
      while (i < n && src.charCodeAt(i) !== 0x0a) i++
      continue
    }
    if (c === 0x2f && src.charCodeAt(i + 1) === 0x2a) { // /* comment */
      const close = src.indexOf('*/', i + 2)
      if (close < 0) throw new ExprError('parse', 'unterminated /* comment', i, 'the closing */')
      i = close + 2
      continue
    }
    const start = i
    if ((c === 0x58 || c === 0x78) && src.charCodeAt(i + 1) === 0x27) { // X'hex' binary literal
      const close = src.indexOf("'", i + 2)
      if (close < 0) throw new ExprError('parse', 'unterminated binary literal', start, "a closing '")
      const hex = src.slice(i + 2, close)
      if (!/^[0-9a-fA-F]*$/.test(hex)) throw new ExprError('parse', 'a binary literal X\'…\' holds hexadecimal digits only', start, 'hexadecimal digits')
      tokens.push({ kind: 'binary', text: hex, pos: start, end: close + 1 })
      i = close + 1
      continue
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src.charCodeAt(i))) i++
      tokens.push({ kind: 'ident', text: src.slice(start, i), pos: start, end: i })
      continue
    }
    if (isDigit(c) || (c === 0x2e && isDigit(src.charCodeAt(i + 1)))) {
      i = scanNumber(src, i)
      // Spark lexes `1a` as an identifier; we refuse it rather than guess.
      if (i < n && isIdentStart(src.charCodeAt(i)) && !/[eE]/.test(src[i]!)) {
        throw new ExprError('parse', `malformed number '${src.slice(start, i + 1)}'`, start, 'a number or an identifier')
      }
      tokens.push({ kind: 'number', text: src.slice(start, i), pos: start, end: i })
      continue
    }
    if (c === 0x27 || c === 0x22) {
      const [value, end] = scanString(src, i)
      tokens.push({ kind: 'string', text: value, pos: start, end })
      i = end
      continue
    }
    if (c === 0x60) {
      let name = ''
      i++
      for (;;) {
        const close = src.indexOf('`', i)
        if (close < 0) throw new ExprError('parse', 'unterminated back-quoted identifier', start, 'a closing `')
        name += src.slice(i, close)
        if (src.charCodeAt(close + 1) === 0x60) { name += '`'; i = close + 2; continue }
        i = close + 1
        break
      }
      tokens.push({ kind: 'qident', text: name, pos: start, end: i })
      continue
    }
    const op = OPERATORS.find(o => src.startsWith(o, i))
    if (op === undefined) {
      throw new ExprError('parse', `unexpected character ${JSON.stringify(src[i])}`, i, 'an operator, a name, a number or a string')
    }
    tokens.push({ kind: 'op', text: op, pos: i, end: i + op.length })
    i += op.length
  }
  tokens.push({ kind: 'eof', text: '', pos: n, end: n })
  return tokens
}

function isSpace (c: number): boolean { return c === 0x20 || (c >= 0x09 && c <= 0x0d) }
function isDigit (c: number): boolean { return c >= 0x30 && c <= 0x39 }
function isIdentStart (c: number): boolean { return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f }
function isIdentPart (c: number): boolean { return isIdentStart(c) || isDigit(c) }

/** digits [. digits] [e[+-]digits] [suffix L S Y D F BD], case-insensitive suffix. */
function scanNumber (src: string, i: number): number {
  const n = src.length
  while (i < n && isDigit(src.charCodeAt(i))) i++
  if (src[i] === '.' && !(src[i + 1] === '.')) {
    i++
    while (i < n && isDigit(src.charCodeAt(i))) i++
  }
  if ((src[i] === 'e' || src[i] === 'E') && (isDigit(src.charCodeAt(i + 1)) ||
      ((src[i + 1] === '+' || src[i + 1] === '-') && isDigit(src.charCodeAt(i + 2))))) {
    i += 2
    while (i < n && isDigit(src.charCodeAt(i))) i++
  }
  const rest = src.slice(i, i + 2).toUpperCase()
  if (rest === 'BD' && !isIdentPart(src.charCodeAt(i + 2))) return i + 2
  if (/^[LSYDF]/.test(rest) && !isIdentPart(src.charCodeAt(i + 1))) return i + 1
  return i
}

/**
 * Spark string literals: '…' or "…", backslash escapes (\n \t \r \b \0 \Z \\ \' \" \% \_ \uXXXX, octal \NNN; an
 * unknown escape drops the backslash). As in Spark 3, a doubled quote is two adjacent literals, which the parser
 * concatenates: 'it''s' is "its".
 */
function scanString (src: string, i: number): [string, number] {
  const quote = src[i]!
  const start = i
  const n = src.length
  let out = ''
  i++
  while (i < n) {
    const ch = src[i]!
    if (ch === quote) return [out, i + 1]
    if (ch !== '\\') {
      // copy a run of plain characters at once: 1 MB literals must stay linear
      let j = i + 1
      while (j < n && src[j] !== quote && src[j] !== '\\') j++
      out += src.slice(i, j)
      i = j
      continue
    }
    const e = src[i + 1]
    if (e === undefined) break
    switch (e) {
      case 'n': out += '\n'; i += 2; break
      case 't': out += '\t'; i += 2; break
      case 'r': out += '\r'; i += 2; break
      case 'b': out += '\b'; i += 2; break
      case 'Z': out += '\x1a'; i += 2; break
      case '%': out += '\\%'; i += 2; break // kept escaped: LIKE patterns need to see it
      case '_': out += '\\_'; i += 2; break
      case 'u': {
        const hex = src.slice(i + 2, i + 6)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ExprError('parse', 'bad \\u escape in a string literal', i, 'four hexadecimal digits after \\u')
        out += String.fromCharCode(parseInt(hex, 16))
        i += 6
        break
      }
      default: {
        const oct = /^[01][0-7][0-7]/.exec(src.slice(i + 1, i + 4))
        if (oct !== null) { out += String.fromCharCode(parseInt(oct[0], 8)); i += 4; break }
        if (e === '0') { out += '\0'; i += 2; break }
        out += e
        i += 2
      }
    }
  }
  throw new ExprError('parse', 'unterminated string literal', start, `a closing ${quote}`)
}
