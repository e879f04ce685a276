// Spark evaluates RLIKE, regexp_extract, regexp_replace and split with java.util.regex. JS regular expressions agree
// on the common syntax; this module translates the Java-only parts we can express (leading (?i)/(?s)/(?m) flags,
// \Q…\E quoting, \A \z \Z, Java's `$`, POSIX \p{…} classes, ASCII-only \s) and refuses the rest (possessive
// quantifiers, atomic groups, class intersection, mid-pattern flags) with a message, instead of silently matching
// something else. The result is a RegExp object built from the pattern text: data, never code.

import { evalError } from '../errors.ts'

const POSIX: Record<string, string> = {
  Lower: 'a-z', Upper: 'A-Z', ASCII: '\\x00-\\x7F', Alpha: 'a-zA-Z', Digit: '0-9', Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~', Graph: '!-~', Print: ' -~', Blank: ' \\t', Cntrl: '\\x00-\\x1F\\x7F', XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r', javaLowerCase: 'a-z', javaUpperCase: 'A-Z', javaWhitespace: ' \\t\\n\\x0B\\f\\r\\x1C-\\x1F',
  IsAlphabetic: 'a-zA-Z', IsDigit: '0-9', IsWhite_Space: ' \\t\\n\\x0B\\f\\r', L: 'a-zA-Z', N: '0-9'
}

const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r'
const JAVA_DOLLAR = '(?=(?:\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?$)'

/** Translates a Java regular expression to JS source + flags; throws Error with a user-facing message. */
export function translateJavaRegex (pattern: string): { source: string, flags: string } {
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
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') {
      throw new Error('possessive quantifiers (*+, ++, ?+) are not supported')
    }
    if (c === '$' && !multiline) { out += JAVA_DOLLAR; i++; continue }
    out += c
    i++
  }
  if (inClass) throw new Error('unclosed character class')
  return { source: out, flags }
}

/** Compiles a Java regex for repeated `exec` (global flag), or throws Error. */
export function compileJavaRegex (pattern: string, extraFlags = 'g'): RegExp {
  const { source, flags } = translateJavaRegex(pattern)
  try {
    return new RegExp(source, flags + extraFlags)
  } catch (e) {
    throw new Error(`invalid regex '${pattern}': ${(e as Error).message}`)
  }
}

/** Number of capturing groups, as Matcher.groupCount. */
export function groupCount (re: RegExp): number {
  return new RegExp(`(?:${re.source})|`, re.flags.replace('g', '')).exec('')!.length - 1
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
  return m === null ? '' : m[idx] ?? ''
}

export function regexpExtractAll (s: string, re: RegExp, idx: number): string[] {
  checkGroup(re, idx)
  const out: string[] = []
  re.lastIndex = 0
  for (;;) {
    const m = re.exec(s)
    if (m === null) break
    out.push(m[idx] ?? '')
    if (m[0] === '') re.lastIndex++
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
  re.lastIndex = from
  for (;;) {
    const m = re.exec(s)
    if (m === null) break
    out += s.slice(last, m.index)
    for (const p of parts) {
      if (typeof p === 'number') out += m[p] ?? ''
      else if (p.charCodeAt(0) === 0) out += m.groups?.[p.slice(1)] ?? evalError(`no group named ${p.slice(1)}`)
      else out += p
    }
    last = m.index + m[0].length
    if (m[0] === '') {
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
  let index = 0
  re.lastIndex = 0
  for (;;) {
    const m = re.exec(s)
    if (m === null) break
    const start = m.index
    const end = start + m[0].length
    if (m[0] === '') re.lastIndex++
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

/** LIKE pattern → anchored regex (Spark's escapeLikeRegex): _ is one character, % any run, escape char quotes. */
export function likeToRegex (pattern: string, escape: string, ignoreCase: boolean): RegExp {
  let src = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === escape) {
      const n = pattern[i + 1]
      if (n === undefined) throw new Error(`the escape character is not allowed to end the LIKE pattern '${pattern}'`)
      if (n !== '_' && n !== '%' && n !== escape) throw new Error(`the escape character is not allowed to precede '${n}' in the LIKE pattern '${pattern}'`)
      src += n.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
      i++
    } else if (c === '_') {
      src += '[\\s\\S]'
    } else if (c === '%') {
      src += '[\\s\\S]*'
    } else {
      src += c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
    }
  }
  return new RegExp(`^${src}$`, ignoreCase ? 'iu' : 'u')
}
