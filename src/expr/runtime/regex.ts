// Spark evaluates RLIKE, regexp_extract, regexp_replace and split with java.util.regex. JS regular expressions agree
// on the common syntax; this module translates the Java-only parts we can express (leading (?i)/(?s)/(?m) flags,
// \Q…\E quoting, \A \z \Z, Java's `$`, POSIX \p{…} classes, ASCII-only \s) and refuses the rest (possessive
// quantifiers, atomic groups, class intersection, mid-pattern flags) with a message, instead of silently matching
// something else. The result is a RegExp object built from the pattern text: data, never code.
//
// Linear time (issue 12). A backtracking engine (Java's, V8's) takes exponential time on `(a+)+$` and a 41-byte
// value, and a pattern taken from a record lets data alone stall a worker. Every regex is therefore admitted only if
// V8's linear-time engine can run it, and V8 is told to switch a match to that engine once it has backtracked
// 1,000 times (--enable-experimental-regexp-engine-on-excessive-backtracks): ordinary matches keep the fast
// backtracking engine, and no match can take more than linear time. What the linear engine cannot run is refused,
// with a message (at start-up for a constant pattern, as a dead letter for a pattern read from a record):
// lookaround, backreferences, large repetition counts. Two translations keep Java's meaning within it:
//   * (?i) is Java's ASCII-only case folding, spelled out as classes (`a` → `[aA]`), since V8's linear engine has
//     no `i` flag; escapes (\x41) and \p{…} classes are not folded.
//   * Java's `$` (end of input, or before a final line terminator) is `(\r\n|[\n\r\u0085\u2028\u2029])?$` with
//     the terminator captured in a hidden group and cut from the match afterwards, instead of a lookahead.
//     Differences left: a `$` followed by more pattern that matches the terminator (`a$\n`) does not match, and
//     `$` also matches between the \r and \n of a final \r\n.
// LIKE and ILIKE do not use regular expressions at all (likeMatcher: a wildcard matcher, O(value × pattern)).

import { setFlagsFromString } from 'node:v8'
import { evalError } from '../errors.ts'

/** Whether V8's linear engine is there to admit patterns with (`l` flag); then the fallback is on too. */
const LINEAR = ((): boolean => {
  try {
    setFlagsFromString('--enable-experimental-regexp-engine')
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
    // V8's default is 50,000: an attacking value then costs ~0.5 ms before the switch, 1,000 about 0.05 ms
    // (measured on `(a+)+$` and 42 characters); ordinary matches on ordinary values never backtrack that much.
    setFlagsFromString('--regexp-backtracks-before-fallback=1000')
    return new RegExp('a', 'l').flags.includes('l')
  } catch {
    return false
  }
})()

/** Hidden groups of a translated regex: Java `$` markers, and where each Java group is in the JS match. */
interface RegexMeta {
  /** JS group indices of the `$` markers (a captured final line terminator, cut from the match). */
  readonly markers: readonly number[]
  /** Java group i → JS group index (index 0 → 0). */
  readonly groups: readonly number[]
}

const META = new WeakMap<RegExp, RegexMeta>()

const POSIX: Record<string, string> = {
  Lower: 'a-z', Upper: 'A-Z', ASCII: '\\x00-\\x7F', Alpha: 'a-zA-Z', Digit: '0-9', Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~', Graph: '!-~', Print: ' -~', Blank: ' \\t', Cntrl: '\\x00-\\x1F\\x7F', XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r', javaLowerCase: 'a-z', javaUpperCase: 'A-Z', javaWhitespace: ' \\t\\n\\x0B\\f\\r\\x1C-\\x1F',
  IsAlphabetic: 'a-zA-Z', IsDigit: '0-9', IsWhite_Space: ' \\t\\n\\x0B\\f\\r', L: 'a-zA-Z', N: '0-9'
}

const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r'
/** Java's `$`, without a lookahead: the final terminator is captured (a hidden group) and cut from the match. */
const JAVA_DOLLAR = '(\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?$'

/** Translates a Java regular expression to JS source + flags; throws Error with a user-facing message. */
export function translateJavaRegex (pattern: string): { source: string, flags: string, markers: number[], groups: number[] } {
  const markers: number[] = []
  const groups: number[] = [0]
  /** Groups opened so far in the JS source (Java's and markers). */
  let jsGroups = 0
  let flags = ''
  let i = 0
  // leading embedded flags such as (?i) or (?is)
  for (;;) {
    const m = /^\(\?([imsux]+)\)/.exec(pattern.slice(i))
    if (m === null) break
    for (const f of m[1]!) {
      if (f === 'x' || f === 'u') throw new Error(`regex flag (?${f}) is not supported`)
      if (!flags.includes(f)) flags += f
    }
    i += m[0].length
  }
  const multiline = flags.includes('m')
  let out = ''
  let inClass = false
  while (i < pattern.length) {
    const c = pattern[i]!
    if (c === '\\') {
      const e = pattern[i + 1]
      if (e === undefined) throw new Error('regex ends with a lone backslash')
      if (e === 'Q') {
        const end = pattern.indexOf('\\E', i + 2)
        const lit = end < 0 ? pattern.slice(i + 2) : pattern.slice(i + 2, end)
        out += lit.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
        i = end < 0 ? pattern.length : end + 2
        continue
      }
      if (e === 'p' || e === 'P') {
        const m = /^\{(?:Is)?([A-Za-z_]+)\}/.exec(pattern.slice(i + 2))
        const name = m === null ? pattern[i + 2] ?? '' : m[1]!
        const cls = POSIX[name] ?? POSIX[`Is${name}`]
        if (cls === undefined) throw new Error(`regex class \\${e}{${name}} is not supported`)
        const negate = e === 'P'
        if (inClass) {
          if (negate) throw new Error(`negated class \\P{${name}} inside [...] is not supported`)
          out += cls
        } else {
          out += negate ? `[^${cls}]` : `[${cls}]`
        }
        i += 2 + (m === null ? 1 : m[0].length)
        continue
      }
      switch (e) {
        case 'A': if (inClass || multiline) throw new Error('\\A is not supported here'); out += '^'; i += 2; continue
        case 'z': if (inClass || multiline) throw new Error('\\z is not supported here'); out += '$'; i += 2; continue
        case 'Z': if (inClass || multiline) throw new Error('\\Z is not supported here'); out += JAVA_DOLLAR; i += 2; continue
        case 's': out += inClass ? '\\s' : `[${JAVA_SPACE}]`; i += 2; continue
        case 'S': out += inClass ? '\\S' : `[^${JAVA_SPACE}]`; i += 2; continue
        case 'h': case 'H': case 'v': case 'V': case 'R': case 'X': case 'G': case 'e': case 'a':
          throw new Error(`regex escape \\${e} is not supported`)
      }
      out += c + e
      i += 2
      continue
    }
    if (inClass) {
      if (c === '[') throw new Error('nested character classes ([a[b]]) are not supported')
      if (c === '&' && pattern[i + 1] === '&') throw new Error('character class intersection (&&) is not supported')
      if (c === ']') inClass = false
      out += c
      i++
      continue
    }
    if (c === '[') {
      inClass = true
      out += c
      i++
      if (pattern[i] === '^') { out += '^'; i++ }
      if (pattern[i] === ']') { out += '\\]'; i++ } // a leading ] is literal in Java
      continue
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2)
      if (rest.startsWith('>')) throw new Error('atomic groups (?>…) are not supported')
      if (/^[imsux-]+[:)]/.test(rest)) throw new Error('flags in the middle of a regex are not supported; put (?i) at the start')
      if (/^<[A-Za-z]/.test(rest)) groups.push(++jsGroups) // a named group is numbered too
    } else if (c === '(') {
      groups.push(++jsGroups)
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') {
      throw new Error('possessive quantifiers (*+, ++, ?+) are not supported')
    }
    if (c === '$' && !multiline) { markers.push(++jsGroups); out += JAVA_DOLLAR; i++; continue }
    out += c
    i++
  }
  if (inClass) throw new Error('unclosed character class')
  if (flags.includes('i')) { out = foldAsciiCase(out); flags = flags.replace('i', '') }
  return { source: out, flags, markers, groups }
}

const isUpper = (c: number): boolean => c >= 65 && c <= 90
const isLower = (c: number): boolean => c >= 97 && c <= 122

/** Java's default (?i): ASCII letters match either case. Rewrites a JS source so that no `i` flag is needed. */
function foldAsciiCase (src: string): string {
  let out = ''
  let i = 0
  const escape = (at: number): number => { // end of the escape starting at `at` (a backslash)
    const e = src[at + 1]
    if (e === 'x') return at + 4
    if (e === 'u') return src[at + 2] === '{' ? src.indexOf('}', at) + 1 : at + 6
    if (e === 'c') return at + 3
    if ((e === 'p' || e === 'P') && src[at + 2] === '{') return src.indexOf('}', at) + 1
    if (e === 'k' && src[at + 2] === '<') return src.indexOf('>', at) + 1
    return at + 2
  }
  while (i < src.length) {
    const c = src[i]!
    if (c === '\\') { const end = escape(i); out += src.slice(i, end); i = end; continue }
    if (c === '(' && src.startsWith('(?<', i) && src[i + 3] !== '=' && src[i + 3] !== '!') {
      const end = src.indexOf('>', i) + 1 // a group name is not folded
      out += src.slice(i, end); i = end; continue
    }
    if (c === '[') {
      let j = i + 1
      let body = ''
      let extra = ''
      if (src[j] === '^') { body += '^'; j++ }
      while (j < src.length && src[j] !== ']') {
        if (src[j] === '\\') { const end = escape(j); body += src.slice(j, end); j = end; continue }
        const lo = src.charCodeAt(j)
        if (src[j + 1] === '-' && j + 2 < src.length && src[j + 2] !== ']' && src[j + 2] !== '\\') {
          const hi = src.charCodeAt(j + 2)
          body += src.slice(j, j + 3)
          j += 3
          const a = Math.max(lo, 97); const b = Math.min(hi, 122)
          if (a <= b) extra += `${String.fromCharCode(a - 32)}-${String.fromCharCode(b - 32)}`
          const A = Math.max(lo, 65); const B = Math.min(hi, 90)
          if (A <= B) extra += `${String.fromCharCode(A + 32)}-${String.fromCharCode(B + 32)}`
          continue
        }
        body += src[j]
        if (isLower(lo)) extra += String.fromCharCode(lo - 32)
        else if (isUpper(lo)) extra += String.fromCharCode(lo + 32)
        j++
      }
      out += `[${body}${extra}]`
      i = j + 1
      continue
    }
    const code = src.charCodeAt(i)
    if (isLower(code) || isUpper(code)) {
      // Not inside a quantifier's braces or a group's `(?:`: those hold no letters.
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`
    } else {
      out += c
    }
    i++
  }
  return out
}

/** Compiles a Java regex for repeated `exec` (global flag), or throws Error. */
export function compileJavaRegex (pattern: string, extraFlags = 'g'): RegExp {
  const { source, flags, markers, groups } = translateJavaRegex(pattern)
  let re: RegExp
  try {
    re = new RegExp(source, flags + extraFlags)
  } catch (e) {
    throw new Error(`invalid regex '${pattern}': ${(e as Error).message}`)
  }
  if (LINEAR) {
    try {
      new RegExp(source, flags + 'l') // eslint-disable-line no-new
    } catch {
      throw new Error(`regex '${pattern}' cannot be matched in linear time (lookaround, backreferences and large repetition counts are not supported), so a value could make it run for hours`)
    }
  }
  if (markers.length > 0) META.set(re, { markers, groups })
  return re
}

/** Number of capturing groups, as Matcher.groupCount. */
export function groupCount (re: RegExp): number {
  const meta = META.get(re)
  if (meta !== undefined) return meta.groups.length - 1
  return new RegExp(`(?:${re.source})|`, re.flags.replace('g', '')).exec('')!.length - 1
}

/** Java group `i` of a match (undefined when it did not take part); group 0 without a `$` marker's terminator. */
function group (m: RegExpExecArray, re: RegExp, i: number): string | undefined {
  const meta = META.get(re)
  if (meta === undefined) return m[i]
  if (i > 0) return m[meta.groups[i]!]
  return m[0].slice(0, matchLength(m, meta))
}

/** The length of the Java match: the JS match less a final terminator a `$` marker captured. */
function matchLength (m: RegExpExecArray, meta: RegexMeta | undefined): number {
  let cut = 0
  if (meta !== undefined) for (const k of meta.markers) cut = Math.max(cut, m[k]?.length ?? 0)
  return m[0].length - cut
}

/** Regexes that are not constants are compiled per distinct pattern; a bad one fails that event only. */
export class RegexCache {
  readonly #map = new Map<string, RegExp>()
  get (pattern: string): RegExp {
    let re = this.#map.get(pattern)
    if (re === undefined) {
      try {
        re = compileJavaRegex(pattern)
      } catch (e) {
        return evalError((e as Error).message)
      }
      if (this.#map.size >= 64) this.#map.clear()
      this.#map.set(pattern, re)
    }
    return re
  }
}

export function rlike (s: string, re: RegExp): boolean {
  re.lastIndex = 0
  return re.test(s)
}

/** regexp_extract: group idx of the first match, '' when nothing matches or the group did not participate. */
export function regexpExtract (s: string, re: RegExp, idx: number): string {
  checkGroup(re, idx)
  re.lastIndex = 0
  const m = re.exec(s)
  return m === null ? '' : group(m, re, idx) ?? ''
}

export function regexpExtractAll (s: string, re: RegExp, idx: number): string[] {
  checkGroup(re, idx)
  const out: string[] = []
  const meta = META.get(re)
  re.lastIndex = 0
  for (;;) {
    const m = re.exec(s)
    if (m === null) break
    out.push(group(m, re, idx) ?? '')
    const len = matchLength(m, meta)
    re.lastIndex = m.index + len
    if (len === 0) re.lastIndex++
  }
  return out
}

function checkGroup (re: RegExp, idx: number): void {
  if (idx < 0) evalError(`the regex group index must not be negative, got ${idx}`)
  const n = groupCount(re)
  if (idx > n) evalError(`regex group count is ${n}, but the specified group index is ${idx}`)
}

type ReplacementPart = string | number

/** Java's Matcher replacement syntax: $n and ${name} refer to groups, \x is a literal x. */
export function parseReplacement (rep: string, re: RegExp): ReplacementPart[] {
  const groups = groupCount(re)
  const parts: ReplacementPart[] = []
  let lit = ''
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i]!
    if (c === '\\') {
      i++
      if (i >= rep.length) throw new Error('character to be escaped is missing in the replacement')
      lit += rep[i]
    } else if (c === '$') {
      i++
      if (rep[i] === '{') {
        const end = rep.indexOf('}', i)
        if (end < 0) throw new Error("named capturing group is missing trailing '}' in the replacement")
        const name = rep.slice(i + 1, end)
        if (lit !== '') { parts.push(lit); lit = '' }
        parts.push(`\u0000${name}`)
        i = end
        continue
      }
      let j = i
      if (!/\d/.test(rep[j] ?? '')) throw new Error('illegal group reference in the replacement')
      // Java takes as many digits as still form an existing group number
      let n = Number(rep[j])
      j++
      while (j < rep.length && /\d/.test(rep[j]!) && n * 10 + Number(rep[j]) <= groups) { n = n * 10 + Number(rep[j]); j++ }
      if (n > groups) throw new Error(`no group ${n} in the regex`)
      if (lit !== '') { parts.push(lit); lit = '' }
      parts.push(n)
      i = j - 1
    } else {
      lit += c
    }
  }
  if (lit !== '') parts.push(lit)
  return parts
}

/** regexp_replace from a 1-based position. */
export function regexpReplace (s: string, re: RegExp, parts: readonly ReplacementPart[], position = 1): string {
  const from = Math.max(0, position - 1)
  if (from > s.length) return s
  let out = s.slice(0, from)
  let last = from
  const meta = META.get(re)
  re.lastIndex = from
  for (;;) {
    const m = re.exec(s)
    if (m === null) break
    out += s.slice(last, m.index)
    for (const p of parts) {
      if (typeof p === 'number') out += group(m, re, p) ?? ''
      else if (p.charCodeAt(0) === 0) out += m.groups?.[p.slice(1)] ?? evalError(`no group named ${p.slice(1)}`)
      else out += p
    }
    const len = matchLength(m, meta)
    last = m.index + len
    re.lastIndex = last
    if (len === 0) {
      if (re.lastIndex >= s.length) break
      re.lastIndex++
    }
  }
  return out + s.slice(last)
}

/**
 * Java's String.split(regex, limit) with Spark's twist that limit 0 behaves like -1 (trailing empty strings are
 * kept): a zero-width match at the start yields no leading empty string; limit > 0 caps the number of pieces.
 */
export function splitRegex (s: string, re: RegExp, limit: number): string[] {
  const out: string[] = []
  const limited = limit > 0
  const meta = META.get(re)
  let index = 0
  re.lastIndex = 0
  for (;;) {
    const m = re.exec(s)
    if (m === null) break
    const start = m.index
    const end = start + matchLength(m, meta)
    re.lastIndex = end
    if (end === start) re.lastIndex++
    if (end === 0 && start === 0) continue // zero-width match at the beginning
    if (limited && out.length >= limit - 1) break
    out.push(s.slice(index, start))
    index = end
  }
  if (index === 0 && out.length === 0) return [s]
  out.push(s.slice(index))
  return out
}

/** split() when the pattern is a plain string without regex metacharacters: String.prototype.split is exact then. */
export function splitLiteral (s: string, sep: string, limit: number): string[] {
  if (sep === '') return splitChars(s, limit)
  const parts = s.split(sep)
  if (limit > 0 && parts.length > limit) {
    const head = parts.slice(0, limit - 1)
    head.push(parts.slice(limit - 1).join(sep))
    return head
  }
  return parts
}

/**
 * Spark's UTF8String.split special case for an empty pattern: one piece per character, the last piece holding the
 * rest when limit is smaller, no trailing empty string (an empty input still gives ['']).
 */
export function splitChars (s: string, limit: number): string[] {
  if (s === '') return ['']
  const chars = Array.from(s)
  const n = limit > chars.length || limit <= 0 ? chars.length : limit
  const out = chars.slice(0, n - 1)
  out.push(chars.slice(n - 1).join(''))
  return out
}

export function isLiteralPattern (p: string): boolean {
  return !/[\\^$.|?*+()[\]{}]/.test(p)
}

/** A compiled LIKE pattern. */
export interface LikeMatcher { test (s: string): boolean }

const STAR = -1
const ANY = -2

/**
 * LIKE (Spark's escapeLikeRegex semantics: `_` is one character — a code point, as Java's regex `.` in DOTALL mode —
 * `%` any run, the escape character quotes `_`, `%` and itself) without a regular expression: a wildcard matcher
 * that retries only from the last `%`, so a match costs at most O(value × pattern) whatever the pattern
 * (`%a%a%a%b` is exponential for a backtracking regex). ILIKE is LIKE of both sides lower-cased, as in Spark.
 */
export function likeToRegex (pattern: string, escape: string, ignoreCase: boolean): LikeMatcher {
  const p = ignoreCase ? pattern.toLowerCase() : pattern
  const tokens: number[] = []
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!
    if (c === escape) {
      const n = p[i + 1]
      if (n === undefined) throw new Error(`the escape character is not allowed to end the LIKE pattern '${pattern}'`)
      if (n !== '_' && n !== '%' && n !== escape) throw new Error(`the escape character is not allowed to precede '${n}' in the LIKE pattern '${pattern}'`)
      tokens.push(n.charCodeAt(0))
      i++
    } else if (c === '_') {
      tokens.push(ANY)
    } else if (c === '%') {
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR)
    } else {
      tokens.push(p.charCodeAt(i))
    }
  }
  const t = Int32Array.from(tokens)
  return { test: ignoreCase ? s => likeMatch(s.toLowerCase(), t) : s => likeMatch(s, t) }
}

/** UTF-16 units of the code point at i (2 for a surrogate pair). */
function cpLength (s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1)
    if (d >= 0xdc00 && d <= 0xdfff) return 2
  }
  return 1
}

function likeMatch (s: string, t: Int32Array): boolean {
  const n = s.length
  const m = t.length
  let i = 0
  let j = 0
  let starJ = -1
  let starI = 0
  while (i < n) {
    const tok = j < m ? t[j]! : 0
    if (j < m && tok === STAR) { starJ = j++; starI = i; continue }
    if (j < m && tok === ANY) { i += cpLength(s, i); j++; continue }
    if (j < m && tok === s.charCodeAt(i)) { i++; j++; continue }
    if (starJ < 0) return false
    // Retry after the last %, which now takes one more character.
    starI += cpLength(s, starI)
    i = starI
    j = starJ + 1
  }
  while (j < m && t[j] === STAR) j++
  return j === m
}
