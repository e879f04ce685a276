// String functions. Spark counts characters as code points (its strings are UTF-8), so every index and length
// here is in code points; the common case (no surrogate pairs) takes a fast path on UTF-16 indexes.

import { type DataType, T } from '../../api/data-type.ts'
import { evalError } from '../errors.ts'
import { INT_MAX } from '../runtime/numbers.ts'
import {
  RegexCache, compileJavaRegex, isLiteralPattern, parseReplacement, regexpExtract, regexpExtractAll, regexpReplace,
  splitLiteral, splitRegex
} from '../runtime/regex.ts'
import { charLength, hasSurrogates, substringCp, utf8 } from '../runtime/values.ts'
import type { FnSpec, ResolveCtx, TExpr } from '../typed.ts'
import { likeOp } from './operators.ts'
import { constantString, custom, simple } from './spec.ts'

const S = T.string
const I = T.int

/** Spark's substringSQL: 1-based pos, 0 counts as 1, negative counts from the end; len < 1 gives ''. */
export function substringSql (s: string, pos: number, len: number = INT_MAX): string {
  const n = hasSurrogates(s) ? charLength(s) : s.length
  const start = pos > 0 ? pos - 1 : pos < 0 ? n + pos : 0
  const end = len === INT_MAX ? Infinity : start + len
  const from = Math.max(start, 0)
  if (from >= end) return ''
  return substringCp(s, from, Math.min(end, n))
}

function substringBytes (b: Uint8Array, pos: number, len: number = INT_MAX): Uint8Array {
  const n = b.length
  const start = pos > 0 ? pos - 1 : pos < 0 ? n + pos : 0
  const end = len === INT_MAX ? n : Math.min(n, start + len)
  const from = Math.max(start, 0)
  return from >= end ? new Uint8Array(0) : b.slice(from, end)
}

/** Trims the characters of `chars` (by default only the space U+0020, as Spark's trim) from one or both ends. */
function trimChars (s: string, chars: string | null, left: boolean, right: boolean): string {
  let a = 0
  let b = s.length
  if (chars === null) {
    if (left) while (a < b && s.charCodeAt(a) === 0x20) a++
    if (right) while (b > a && s.charCodeAt(b - 1) === 0x20) b--
  } else {
    const set = new Set(Array.from(chars))
    const cps = hasSurrogates(s) || hasSurrogates(chars)
    if (cps) {
      const arr = Array.from(s)
      let x = 0
      let y = arr.length
      if (left) while (x < y && set.has(arr[x]!)) x++
      if (right) while (y > x && set.has(arr[y - 1]!)) y--
      return arr.slice(x, y).join('')
    }
    if (left) while (a < b && set.has(s[a]!)) a++
    if (right) while (b > a && set.has(s[b - 1]!)) b--
  }
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

function trimFn (names: string[], left: boolean, right: boolean): FnSpec {
  return custom(names, 1, 2, (args, ctx) => {
    const typed = args.map((a, i) => ctx.coerce(a, S, i))
    return ctx.call(names[0]!, S, typed, {
      impl: typed.length === 1 ? (s: string) => trimChars(s, null, left, right) : (s: string, c: string) => trimChars(s, c, left, right),
      nullable: false
    })
  })
}

function pad (s: string, len: number, padding: string, left: boolean): string {
  if (len <= 0) return ''
  const n = charLength(s)
  if (len <= n || padding === '') return substringCp(s, 0, len)
  const need = len - n
  const cps = Array.from(padding)
  let fill = ''
  for (let i = 0; i < need; i++) fill += cps[i % cps.length]
  return left ? fill + s : s + fill
}

function locate (sub: string, s: string, pos: number): number {
  if (pos < 1) return 0
  if (!hasSurrogates(s) && !hasSurrogates(sub)) {
    const i = s.indexOf(sub, pos - 1)
    return i < 0 ? 0 : i + 1
  }
  const cps = Array.from(s)
  const from = cps.slice(0, pos - 1).join('').length
  const i = s.indexOf(sub, from)
  return i < 0 ? 0 : charLength(s.slice(0, i)) + 1
}

function initcap (s: string): string {
  const lower = s.toLowerCase()
  let out = ''
  let start = true
  for (const ch of lower) {
    out += start ? ch.toUpperCase() : ch
    start = ch === ' '
  }
  return out
}

function translate (s: string, from: string, to: string): string {
  const map = new Map<string, string | null>()
  const f = Array.from(from)
  const t = Array.from(to)
  for (let i = 0; i < f.length; i++) if (!map.has(f[i]!)) map.set(f[i]!, i < t.length ? t[i]! : null)
  let out = ''
  for (const ch of s) {
    const r = map.get(ch)
    out += r === undefined ? ch : r ?? ''
  }
  return out
}

/** substring_index as Spark's UTF8String.subStringIndex (occurrences may overlap; count < 0 counts from the end). */
function substringIndex (s: string, delim: string, count: number): string {
  if (delim === '' || count === 0) return ''
  if (count > 0) {
    let idx = -1
    for (let i = 0; i < count; i++) {
      idx = s.indexOf(delim, idx + 1)
      if (idx < 0) return s
    }
    return s.slice(0, idx)
  }
  let idx = s.length - delim.length + 1
  for (let i = 0; i < -count; i++) {
    idx = idx - 1 < 0 ? -1 : s.lastIndexOf(delim, idx - 1)
    if (idx < 0) return s
  }
  return s.slice(idx + delim.length)
}

function splitPart (s: string, delim: string, part: number): string {
  if (part === 0) evalError('the index 0 is invalid for split_part: part numbers start at 1 (negative counts from the end)')
  const parts = delim === '' ? [s] : s.split(delim)
  const i = part > 0 ? part - 1 : parts.length + part
  return i >= 0 && i < parts.length ? parts[i]! : ''
}

function levenshtein (a: string, b: string): number {
  const x = Array.from(a)
  const y = Array.from(b)
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i)
  for (let i = 1; i <= x.length; i++) {
    const cur = [i]
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[y.length]!
}

const CHARSETS: Record<string, string> = {
  'UTF-8': 'utf-8', UTF8: 'utf-8', 'US-ASCII': 'ascii', ASCII: 'ascii', 'ISO-8859-1': 'latin1', LATIN1: 'latin1',
  'UTF-16': 'utf-16be', 'UTF-16BE': 'utf-16be', 'UTF-16LE': 'utf-16le'
}

function charset (name: string): string {
  const c = CHARSETS[name.toUpperCase()]
  if (c === undefined) return evalError(`unsupported character set '${name}' (supported: ${Object.keys(CHARSETS).join(', ')})`)
  return c
}

function encode (s: string, cs: string): Uint8Array {
  switch (charset(cs)) {
    case 'utf-8': return utf8(s)
    case 'ascii': return Uint8Array.from(s, ch => (ch.charCodeAt(0) < 128 ? ch.charCodeAt(0) : 0x3f))
    case 'latin1': return Uint8Array.from(s, ch => (ch.charCodeAt(0) < 256 ? ch.charCodeAt(0) : 0x3f))
    case 'utf-16le': { const b = new Uint8Array(s.length * 2); for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); b[2 * i] = c & 0xff; b[2 * i + 1] = c >> 8 } return b }
    default: { const b = new Uint8Array(s.length * 2 + 2); b[0] = 0xfe; b[1] = 0xff; for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); b[2 * i + 2] = c >> 8; b[2 * i + 3] = c & 0xff } return b }
  }
}

function decode (b: Uint8Array, cs: string): string {
  const c = charset(cs)
  if (c === 'ascii' || c === 'latin1') return String.fromCharCode(...b)
  return new TextDecoder(c).decode(b)
}

/** CONCAT: strings (any atomic argument is cast), binaries, or arrays; NULL if any argument is NULL. */
const concat = custom('concat', 0, Infinity, (args, ctx) => {
  if (args.length > 0 && args.every(a => a.type.kind === 'list' || a.type.kind === 'null') && args.some(a => a.type.kind === 'list')) {
    const t = args.find(a => a.type.kind === 'list')!.type
    const typed = args.map((a, i) => ctx.coerce(a, t, i))
    return ctx.call('concat', t, typed, { impl: (...xs: unknown[][]) => ([] as unknown[]).concat(...xs), nullable: false })
  }
  if (args.length > 0 && args.every(a => a.type.kind === 'binary')) {
    return ctx.call('concat', T.binary, args, {
      impl: (...xs: Uint8Array[]) => {
        const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0))
        let o = 0
        for (const x of xs) { out.set(x, o); o += x.length }
        return out
      },
      nullable: false
    })
  }
  const typed = args.map((a, i) => ctx.coerce(a, S, i))
  return ctx.call('concat', S, typed, {
    impl: (...xs: string[]) => xs.join(''),
    inline: typed.length === 2 ? ([a, b]) => `(${a} + ${b})` : undefined,
    nullable: false
  })
})

/** CONCAT_WS(sep, …): NULL arguments are skipped, array arguments contribute their non-NULL elements. */
const concatWs = custom('concat_ws', 1, Infinity, (args, ctx) => {
  const sep = ctx.coerce(args[0]!, S, 0)
  const rest = args.slice(1).map((a, i) => a.type.kind === 'list' ? ctx.coerce(a, T.list(S), i + 1) : ctx.coerce(a, S, i + 1))
  return ctx.call('concat_ws', S, [sep, ...rest], {
    impl: (s: string | null, ...xs: unknown[]) => {
      if (s === null) return null
      const parts: string[] = []
      for (const x of xs) {
        if (x === null) continue
        if (Array.isArray(x)) { for (const e of x) if (e !== null && e !== undefined) parts.push(e as string) } else parts.push(x as string)
      }
      return parts.join(s)
    },
    nullSafe: true,
    nullable: sep.nullable
  })
})

const length = custom(['length', 'char_length', 'character_length', 'len'], 1, 1, (args, ctx) => {
  const a = args[0]!
  if (a.type.kind === 'binary') return ctx.call('length', I, [a], { impl: (b: Uint8Array) => b.length, nullable: false })
  const s = ctx.coerce(a, S, 0)
  return ctx.call('length', I, [s], { impl: charLength, nullable: false })
})

const substring = custom(['substring', 'substr'], 2, 3, (args, ctx) => {
  const [str, pos, len] = args as [TExpr, TExpr, TExpr | undefined]
  const p = ctx.coerce(pos, I, 1)
  const l = len === undefined ? [] : [ctx.coerce(len, I, 2)]
  if (str.type.kind === 'binary') {
    return ctx.call('substring', T.binary, [str, p, ...l], { impl: substringBytes, nullable: false })
  }
  return ctx.call('substring', S, [ctx.coerce(str, S, 0), p, ...l], { impl: substringSql, nullable: false })
})

/** SPLIT(str, regex[, limit]): Java's String.split with limit −1 unless given; a plain separator skips the regex. */
const split = custom('split', 2, 3, (args, ctx) => {
  const str = ctx.coerce(args[0]!, S, 0)
  const pat = ctx.coerce(args[1]!, S, 1)
  const lim = args[2] === undefined ? null : ctx.coerce(args[2], I, 2)
  const limArgs = lim === null ? [] : [lim]
  const p = constantString(pat, ctx, 1, 'the split pattern')
  const L = T.list(S)
  if (typeof p === 'string') {
    if (isLiteralPattern(p)) {
      return ctx.call('split', L, [str, ...limArgs], {
        impl: (s: string, n = -1) => splitLiteral(s, p, n),
        nullable: false,
        ...(p !== '' && lim === null ? { literalSplit: p } : {})
      })
    }
    const re = regexOrFail(p, ctx, 1)
    return ctx.call('split', L, [str, ...limArgs], { impl: (s: string, n = -1) => splitRegex(s, re, n), nullable: false })
  }
  const cache = new RegexCache()
  return ctx.call('split', L, [str, pat, ...limArgs], {
    impl: (s: string, pattern: string, n = -1) => (isLiteralPattern(pattern) ? splitLiteral(s, pattern, n) : splitRegex(s, cache.get(pattern), n)),
    nullable: false
  })
})

function regexOrFail (pattern: string, ctx: ResolveCtx, i: number): RegExp {
  try {
    return compileJavaRegex(pattern)
  } catch (e) {
    return ctx.fail((e as Error).message, i)
  }
}

/** A function whose argument 1 is a regex: compiled once when constant, per distinct value otherwise. */
function regexFunction (
  names: string[], ret: DataType, extra: readonly DataType[], minArgs: number,
  body: (s: string, re: RegExp, ...rest: any[]) => unknown,
  check?: (re: RegExp, constants: unknown[], ctx: ResolveCtx) => void
): FnSpec {
  return custom(names, minArgs, 2 + extra.length, (args, ctx) => {
    const str = ctx.coerce(args[0]!, S, 0)
    const pat = ctx.coerce(args[1]!, S, 1)
    const rest = args.slice(2).map((a, i) => ctx.coerce(a, extra[i]!, i + 2))
    const p = constantString(pat, ctx, 1, 'the regex')
    if (typeof p === 'string') {
      const re = regexOrFail(p, ctx, 1)
      check?.(re, rest.map(r => ctx.constant(r)), ctx)
      return ctx.call(names[0]!, ret, [str, ...rest], { impl: (s: string, ...r: unknown[]) => body(s, re, ...r), nullable: false })
    }
    const cache = new RegexCache()
    return ctx.call(names[0]!, ret, [str, pat, ...rest], { impl: (s: string, q: string, ...r: unknown[]) => body(s, cache.get(q), ...r), nullable: false })
  })
}

/** regexp_replace: the replacement (Java syntax, $1) is parsed once when both regex and replacement are constant. */
const regexpReplaceFn = custom('regexp_replace', 3, 4, (args, ctx) => {
  const str = ctx.coerce(args[0]!, S, 0)
  const pat = ctx.coerce(args[1]!, S, 1)
  const rep = ctx.coerce(args[2]!, S, 2)
  const pos = args[3] === undefined ? [] : [ctx.coerce(args[3], I, 3)]
  const p = constantString(pat, ctx, 1, 'the regex')
  const r = constantString(rep, ctx, 2, 'the replacement')
  if (pos.length > 0) {
    const c = ctx.constant(pos[0]!)
    if (typeof c === 'number' && c < 1) return ctx.fail('the position of regexp_replace must be at least 1', 3)
  }
  if (typeof p === 'string' && typeof r === 'string') {
    const re = regexOrFail(p, ctx, 1)
    let parts: ReturnType<typeof parseReplacement>
    try { parts = parseReplacement(r, re) } catch (e) { return ctx.fail((e as Error).message, 2) }
    return ctx.call('regexp_replace', S, [str, ...pos], { impl: (s: string, at = 1) => regexpReplace(s, re, parts, at), nullable: false })
  }
  const cache = new RegexCache()
  return ctx.call('regexp_replace', S, [str, pat, rep, ...pos], {
    impl: (s: string, q: string, w: string, at = 1) => {
      if (at < 1) evalError(`the position of regexp_replace must be at least 1, got ${at}`)
      const re = cache.get(q)
      let parts: ReturnType<typeof parseReplacement>
      try { parts = parseReplacement(w, re) } catch (e) { return evalError((e as Error).message) }
      return regexpReplace(s, re, parts, at)
    },
    nullable: false
  })
})

function likeFunction (name: string, op: 'like' | 'ilike' | 'rlike'): FnSpec {
  return custom(name === 'rlike' ? ['rlike', 'regexp', 'regexp_like'] : [name], 2, op === 'rlike' ? 2 : 3, (args, ctx) => {
    const esc = args[2] === undefined ? null : constantString(args[2], ctx, 2, 'the escape character')
    if (args[2] !== undefined && (typeof esc !== 'string' || esc.length !== 1)) return ctx.fail('the escape must be a one-character string constant', 2)
    return likeOp(op, args[0]!, args[1]!, esc ?? null, ctx)
  })
}

const reverse = custom('reverse', 1, 1, (args, ctx) => {
  const a = args[0]!
  if (a.type.kind === 'list') return ctx.call('reverse', a.type, [a], { impl: (x: unknown[]) => x.slice().reverse(), nullable: false })
  return ctx.call('reverse', S, [ctx.coerce(a, S, 0)], { impl: (s: string) => Array.from(s).reverse().join(''), nullable: false })
})

function base64 (b: Uint8Array): string { return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') }

/** unbase64 accepts what Java's MIME decoder accepts: characters outside the alphabet are skipped. */
function unbase64 (s: string): Uint8Array { return new Uint8Array(Buffer.from(s.replace(/[^A-Za-z0-9+/]/g, ''), 'base64')) }

function binaryOrString (fn: string, impl: (s: string | Uint8Array, t: string | Uint8Array) => boolean): FnSpec {
  return custom(fn, 2, 2, (args, ctx) => {
    if (args.every(a => a.type.kind === 'binary')) {
      return ctx.call(fn, T.boolean, args, { impl: (a: Uint8Array, b: Uint8Array) => impl(fromLatin1(a), fromLatin1(b)), nullable: false })
    }
    return ctx.call(fn, T.boolean, args.map((a, i) => ctx.coerce(a, S, i)), { impl, nullable: false })
  })
}

function fromLatin1 (b: Uint8Array): string { return String.fromCharCode(...b) }

export const stringFunctions: FnSpec[] = [
  concat,
  concatWs,
  simple(['lower', 'lcase'], [S], S, (s: string) => s.toLowerCase(), { nullable: false }),
  simple(['upper', 'ucase'], [S], S, (s: string) => s.toUpperCase(), { nullable: false }),
  trimFn(['trim'], true, true),
  trimFn(['btrim'], true, true),
  trimFn(['ltrim'], true, false),
  trimFn(['rtrim'], false, true),
  length,
  custom('octet_length', 1, 1, (args, ctx) => args[0]!.type.kind === 'binary'
    ? ctx.call('octet_length', I, args, { impl: (b: Uint8Array) => b.length, nullable: false })
    : ctx.call('octet_length', I, [ctx.coerce(args[0]!, S, 0)], { impl: (s: string) => utf8(s).length, nullable: false })),
  custom('bit_length', 1, 1, (args, ctx) => args[0]!.type.kind === 'binary'
    ? ctx.call('bit_length', I, args, { impl: (b: Uint8Array) => b.length * 8, nullable: false })
    : ctx.call('bit_length', I, [ctx.coerce(args[0]!, S, 0)], { impl: (s: string) => utf8(s).length * 8, nullable: false })),
  substring,
  simple('left', [S, I], S, (s: string, n: number) => (n <= 0 ? '' : substringSql(s, 1, n)), { nullable: false }),
  simple('right', [S, I], S, (s: string, n: number) => (n <= 0 ? '' : substringSql(s, -n)), { nullable: false }),
  split,
  simple('split_part', [S, S, I], S, splitPart, { nullable: false }),
  regexFunction(['regexp_extract'], S, [I], 2, (s, re, idx = 1) => regexpExtract(s, re, idx), (re, [idx], ctx) => {
    if (typeof idx === 'number') {
      try { regexpExtract('', re, idx) } catch (e) { ctx.fail((e as Error).message, 2) }
    }
  }),
  regexFunction(['regexp_extract_all'], T.list(S), [I], 2, (s, re, idx = 1) => regexpExtractAll(s, re, idx)),
  regexpReplaceFn,
  likeFunction('like', 'like'),
  likeFunction('ilike', 'ilike'),
  likeFunction('rlike', 'rlike'),
  simple('replace', [S, S, S], S, (s: string, search: string, rep = '') => (search === '' ? s : s.split(search).join(rep)), { min: 2, nullable: false }),
  simple('translate', [S, S, S], S, translate, { nullable: false }),
  simple('instr', [S, S], I, (s: string, sub: string) => locate(sub, s, 1), { nullable: false }),
  custom(['locate', 'position'], 2, 3, (args, ctx) => {
    const typed = [ctx.coerce(args[0]!, S, 0), ctx.coerce(args[1]!, S, 1), ...(args[2] === undefined ? [] : [ctx.coerce(args[2], I, 2)])]
    return ctx.call('locate', I, typed, {
      // a NULL start position gives 0, not NULL (StringLocate)
      impl: (sub: string | null, s: string | null, pos: number | null = 1) => (pos === null ? 0 : sub === null || s === null ? null : locate(sub, s, pos)),
      nullSafe: true,
      nullable: true
    })
  }),
  simple('lpad', [S, I, S], S, (s: string, n: number, p = ' ') => pad(s, n, p, true), { min: 2, nullable: false }),
  simple('rpad', [S, I, S], S, (s: string, n: number, p = ' ') => pad(s, n, p, false), { min: 2, nullable: false }),
  simple('repeat', [S, I], S, (s: string, n: number) => (n <= 0 ? '' : s.repeat(n)), { nullable: false }),
  simple('space', [I], S, (n: number) => (n <= 0 ? '' : ' '.repeat(n)), { nullable: false }),
  reverse,
  simple('initcap', [S], S, initcap, { nullable: false }),
  simple('ascii', [S], I, (s: string) => (s.length === 0 ? 0 : s.codePointAt(0)!), { nullable: false }),
  simple(['chr', 'char'], [T.long], S, (n: number | bigint) => {
    const v = Number(BigInt.asIntN(64, BigInt(n)))
    return v < 0 ? '' : String.fromCharCode(Number(BigInt(n) & 0xffn))
  }, { nullable: false }),
  simple('base64', [T.binary], S, base64, { nullable: false }),
  simple('unbase64', [S], T.binary, unbase64, { nullable: false }),
  simple('encode', [S, S], T.binary, encode, { nullable: false }),
  simple('decode', [T.binary, S], S, decode, { nullable: false }),
  binaryOrString('startswith', (a, b) => (a as string).startsWith(b as string)),
  binaryOrString('endswith', (a, b) => (a as string).endsWith(b as string)),
  binaryOrString('contains', (a, b) => (a as string).includes(b as string)),
  simple('substring_index', [S, S, I], S, substringIndex, { nullable: false }),
  simple('levenshtein', [S, S], I, levenshtein, { nullable: false }),
  simple('find_in_set', [S, S], I, (s: string, list: string) => (s.includes(',') ? 0 : list.split(',').indexOf(s) + 1), { nullable: false }),
  custom('elt', 2, Infinity, (args, ctx) => {
    const n = ctx.coerce(args[0]!, I, 0)
    const rest = args.slice(1).map((a, i) => ctx.coerce(a, S, i + 1))
    return ctx.call('elt', S, [n, ...rest], {
      impl: (i: number | null, ...xs: (string | null)[]) => (i === null || i < 1 || i > xs.length ? null : xs[i - 1]),
      nullSafe: true,
      nullable: true
    })
  })
]
