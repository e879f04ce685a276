// Integer and floating-point arithmetic with Java's semantics, which Spark (non-ANSI) inherits:
//   * INT (and TINYINT/SMALLINT) wraps at 32 bits: JS's `| 0` and Math.imul do exactly that.
//   * BIGINT wraps at 64 bits. Longs are JS numbers while exact (|v| ≤ 2^53 − 1) and bigints beyond, which is the
//     value model of the whole engine. The fast path is plain double arithmetic guarded by a range check; only a
//     result outside ±2^53 takes the BigInt path, which wraps with BigInt.asIntN(64, …).
//   * Double → integral conversions saturate and map NaN to 0 (Java's d2i / d2l).
//   * Number → string uses Java's Double.toString / Float.toString layout ("1.0", "1.0E10", "1.0E-5").

export type Long = number | bigint

const SAFE = 9007199254740991

export function normLong (v: bigint): Long {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v
}

function big (v: Long): bigint { return typeof v === 'bigint' ? v : BigInt(v) }
function wrap64 (v: bigint): Long { return normLong(BigInt.asIntN(64, v)) }

export function addL (a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b
    if (r <= SAFE && r >= -SAFE) return r
  }
  return wrap64(big(a) + big(b))
}

export function subL (a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b
    if (r <= SAFE && r >= -SAFE) return r
  }
  return wrap64(big(a) - big(b))
}

export function mulL (a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b
    if (r <= SAFE && r >= -SAFE) return r + 0
  }
  return wrap64(big(a) * big(b))
}

export function negL (a: Long): Long {
  if (typeof a === 'number') return a === 0 ? 0 : -a
  return wrap64(-a)
}

/** Java long division truncates toward zero; Long.MIN_VALUE / -1 wraps to Long.MIN_VALUE. b is never 0 here. */
export function divL (a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') return Math.trunc(a / b) + 0
  return wrap64(big(a) / big(b))
}

/** Java `%`: the sign follows the dividend. b is never 0 here. */
export function remL (a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') return (a % b) + 0
  return normLong(big(a) % big(b))
}

export function absL (a: Long): Long {
  if (typeof a === 'number') return Math.abs(a)
  return a < 0n ? wrap64(-a) : a
}

/** pmod: (a % b + b) % b when a % b is negative, else a % b, as Spark's Pmod. */
export function pmodL (a: Long, b: Long): Long {
  const r = remL(a, b)
  return (typeof r === 'number' ? r < 0 : r < 0n) ? remL(addL(r, b), b) : r
}

export function bitL (op: '&' | '|' | '^', a: Long, b: Long): Long {
  const x = big(a)
  const y = big(b)
  return wrap64(op === '&' ? x & y : op === '|' ? x | y : x ^ y)
}

export function notL (a: Long): Long { return wrap64(~big(a)) }

export function shiftLeftL (a: Long, n: number): Long { return wrap64(big(a) << BigInt(n & 63)) }
export function shiftRightL (a: Long, n: number): Long { return wrap64(BigInt.asIntN(64, big(a)) >> BigInt(n & 63)) }

export function longToDouble (a: Long): number { return typeof a === 'number' ? a : Number(a) }

/** Long → int as Java's (int) cast: keep the low 32 bits. */
export function longToInt (a: Long): number {
  return typeof a === 'number' ? a | 0 : Number(BigInt.asIntN(32, a))
}

export const INT_MIN = -2147483648
export const INT_MAX = 2147483647

/** Java's (int) of a double: NaN → 0, saturate at the int range, truncate toward zero. */
export function doubleToInt (d: number): number {
  if (d !== d) return 0
  if (d >= INT_MAX) return INT_MAX
  if (d <= INT_MIN) return INT_MIN
  return Math.trunc(d) | 0
}

const LONG_MAX_D = 9223372036854775807
/** Java's (long) of a double: NaN → 0, saturate at the long range. */
export function doubleToLong (d: number): Long {
  if (d !== d) return 0
  if (d >= LONG_MAX_D) return 9223372036854775807n
  if (d <= -LONG_MAX_D) return -9223372036854775808n
  const t = Math.trunc(d) + 0
  return t <= SAFE && t >= -SAFE ? t : BigInt(t)
}

/** Wraps an int to a narrower integral type, as Java's (short) / (byte) casts. */
export function toShort (v: number): number { return (v << 16) >> 16 }
export function toByte (v: number): number { return (v << 24) >> 24 }

/** Long → a narrower integral type: take the low bits. */
export function longToShort (a: Long): number { return toShort(longToInt(a)) }
export function longToByte (a: Long): number { return toByte(longToInt(a)) }

// ---- number → string -----------------------------------------------------------------------------------------------

/** Java's Double.toString: plain notation for 1e-3 ≤ |d| < 1e7 (always with a fraction digit), else d.dddE±n. */
export function doubleToString (d: number): string {
  if (d !== d) return 'NaN'
  if (d === Infinity) return 'Infinity'
  if (d === -Infinity) return '-Infinity'
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0'
  const abs = Math.abs(d)
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(d)
    return s.includes('.') ? s : s + '.0'
  }
  return scientific(d.toExponential(), d < 0)
}

/** Java's Float.toString, from the shortest decimal that reads back as the same float. */
export function floatToString (f: number): string {
  if (f !== f || f === Infinity || f === -Infinity || f === 0) return doubleToString(f)
  let digits = ''
  for (let p = 1; p <= 9; p++) {
    digits = f.toPrecision(p)
    if (Math.fround(Number(digits)) === f) break
  }
  const v = Number(digits)
  const abs = Math.abs(v)
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(v)
    return s.includes('.') ? s : s + '.0'
  }
  return scientific(v.toExponential(), v < 0)
}

function scientific (exp: string, negative: boolean): string {
  // exp is like "-1.2345e-7" or "1e+21"
  const [mant, e] = (negative ? exp.slice(1) : exp).split('e') as [string, string]
  const m = mant.includes('.') ? mant : mant + '.0'
  return `${negative ? '-' : ''}${m}E${Number(e)}`
}

export function longToString (v: Long): string { return String(v) }

// ---- string → number (Spark's cast rules) ---------------------------------------------------------------------------

/**
 * CAST(string AS BIGINT/INT/…) in non-ANSI mode (UTF8String.toLong / toInt): whitespace (≤ U+0020) is trimmed, an
 * optional sign, digits, and an optional fraction that is checked for digits and then dropped ('1.9' → 1). Anything
 * else, or a value out of range, is NULL.
 */
export function parseIntegral (s: string, min: number, max: number): number | null {
  const v = parseLongText(s)
  if (v === null) return null
  if (typeof v === 'bigint' || v < min || v > max) return null
  return v
}

export function parseLong (s: string): Long | null { return parseLongText(s) }

/** Java's String.trim: drop characters ≤ U+0020 at both ends. */
export function trimControl (s: string): string {
  let a = 0
  let b = s.length
  while (a < b && s.charCodeAt(a) <= 0x20) a++
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

function parseLongText (input: string): Long | null {
  // fast path: up to 15 plain digits with an optional '-', no surrounding whitespace (the common case)
  const n = input.length
  if (n > 0 && n <= 15) {
    let i = input.charCodeAt(0) === 0x2d ? 1 : 0
    if (i < n) {
      let v = 0
      for (; i < n; i++) {
        const c = input.charCodeAt(i) - 0x30
        if (c < 0 || c > 9) break
        v = v * 10 + c
      }
      if (i === n) return input.charCodeAt(0) === 0x2d ? (v === 0 ? 0 : -v) : v
    }
  }
  return parseLongSlow(input)
}

function parseLongSlow (input: string): Long | null {
  let a = 0
  let b = input.length
  while (a < b && input.charCodeAt(a) <= 0x20) a++
  while (b > a && input.charCodeAt(b - 1) <= 0x20) b--
  if (a === b) return null
  let i = a
  const c0 = input.charCodeAt(i)
  const negative = c0 === 0x2d
  if (negative || c0 === 0x2b) {
    i++
    if (i === b) return null
  }
  const digitsStart = i
  while (i < b) {
    const c = input.charCodeAt(i)
    if (c < 0x30 || c > 0x39) break
    i++
  }
  const digitsEnd = i
  if (i < b) {
    if (input.charCodeAt(i) !== 0x2e) return null
    i++
    while (i < b) {
      const c = input.charCodeAt(i)
      if (c < 0x30 || c > 0x39) return null
      i++
    }
  }
  const digits = input.slice(digitsStart, digitsEnd)
  if (digits.length === 0) return 0 // "." and "-.5" are 0, as in Spark
  if (digits.length <= 15) {
    const v = Number(digits)
    return negative ? (v === 0 ? 0 : -v) : v
  }
  const big = BigInt(negative ? '-' + digits : digits)
  if (big > 9223372036854775807n || big < -9223372036854775808n) return null
  return normLong(big)
}

const JAVA_DOUBLE = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/

/**
 * CAST(string AS DOUBLE): Java's Double.parseDouble after trimming (so '1d', '1e3', ' 1.5 ' parse), plus Spark's
 * special literals 'inf', '+inf', '-inf', 'infinity', 'nan' in any case. Anything else is NULL.
 */
export function parseDouble (input: string): number | null {
  const s = trimControl(input)
  if (JAVA_DOUBLE.test(s)) {
    const body = /[fFdD]$/.test(s) ? s.slice(0, -1) : s
    return Number(body)
  }
  switch (s.toLowerCase()) {
    case 'inf': case '+inf': case 'infinity': case '+infinity': return Infinity
    case '-inf': case '-infinity': return -Infinity
    case 'nan': return NaN
  }
  return null
}
