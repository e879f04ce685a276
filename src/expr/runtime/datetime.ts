// Dates and timestamps as Spark represents them, always in UTC (Chronon pins spark.sql.session.timeZone to UTC):
//   DATE      → days since 1970-01-01 (an int)
//   TIMESTAMP → microseconds since 1970-01-01T00:00:00Z (a number; exact within ±285 years of 1970)
// The calendar is the proleptic Gregorian one, as in Spark 3.
//
// Parsing follows Spark's cast rules (DateTimeUtils.stringToDate / stringToTimestamp) for CAST, TIMESTAMP(…) and
// implicit casts, and java.text.SimpleDateFormat (non-lenient) for functions given a format, because Chronon runs
// Spark with spark.sql.legacy.timeParserPolicy = LEGACY.

import { evalError } from '../errors.ts'

export const MICROS_PER_SECOND = 1_000_000
export const MICROS_PER_MILLI = 1_000
export const MICROS_PER_DAY = 86_400_000_000
export const SECONDS_PER_DAY = 86_400

/** Floor division that stays exact for |a| < 2^53: `%` on doubles is exact, so a − mod is a multiple of b. */
export function floorDiv (a: number, b: number): number {
  return (a - floorMod(a, b)) / b
}

export function floorMod (a: number, b: number): number {
  const m = a % b
  return m !== 0 && (m < 0) !== (b < 0) ? m + b : m + 0 // + 0 turns -0 into 0
}

// ---- civil calendar (Howard Hinnant's days_from_civil / civil_from_days) --------------------------------------------

export function daysFromCivil (y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

export interface Civil { year: number, month: number, day: number }

export function civilFromDays (days: number): Civil {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp + (mp < 10 ? 3 : -9)
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}

export function isLeapYear (y: number): boolean { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 }

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
export function daysInMonth (y: number, m: number): number { return m === 2 && isLeapYear(y) ? 29 : MONTH_DAYS[m - 1]! }

/** 1 = Monday … 7 = Sunday (ISO). 1970-01-01 was a Thursday. */
export function isoDayOfWeek (days: number): number { return floorMod(days + 3, 7) + 1 }

export function dayOfYear (days: number): number {
  const c = civilFromDays(days)
  return days - daysFromCivil(c.year, 1, 1) + 1
}

/** ISO-8601 week of the year (weeks start on Monday; week 1 holds the year's first Thursday), as Spark's weekofyear. */
export function isoWeekOfYear (days: number): number {
  const thursday = days - isoDayOfWeek(days) + 4
  const y = civilFromDays(thursday).year
  return Math.floor((thursday - daysFromCivil(y, 1, 1)) / 7) + 1
}

// ---- string → date / timestamp (Spark cast rules) -----------------------------------------------------------------

/** Spark trims with UTF8String.trimAll: whitespace and ISO control characters at both ends. */
function trimAll (s: string): string {
  let a = 0
  let b = s.length
  while (a < b && s.charCodeAt(a) <= 0x20) a++
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

const DATE_RE = /^([+-]?\d{4,7})(?:-(\d{1,2})(?:-(\d{1,2})(?:[ T].*)?)?)?$/s

/** CAST(string AS DATE): `yyyy`, `yyyy-[m]m`, `yyyy-[m]m-[d]d`, and anything after `yyyy-mm-dd ` or `T`. */
export function parseDateLiteral (s: string): number | null {
  const m = DATE_RE.exec(trimAll(s))
  if (m === null) return null
  const y = Number(m[1])
  const mo = m[2] === undefined ? 1 : Number(m[2])
  const d = m[3] === undefined ? 1 : Number(m[3])
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null
  return daysFromCivil(y, mo, d)
}

const TS_RE = /^([+-]?\d{4,7})(?:-(\d{1,2})(?:-(\d{1,2})(?:(?:[ T])(?:(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{0,9}))?)?)?\s*(.*))?)?)?$/s

/**
 * CAST(string AS TIMESTAMP): `yyyy[-[m]m[-[d]d[( |T)[h]h:[m]m[:[s]s[.fraction]][zone]]]]`; zone is Z, UTC, GMT, UT,
 * or a fixed offset (+hh, +hh:mm, +hhmm, UTC+hh:mm). A time without a date (Spark takes today's date) and region
 * zone ids (America/Los_Angeles) are not supported and give NULL.
 */
export function parseTimestampLiteral (s: string): number | null {
  const m = TS_RE.exec(trimAll(s))
  if (m === null) return null
  const y = Number(m[1])
  const mo = m[2] === undefined ? 1 : Number(m[2])
  const d = m[3] === undefined ? 1 : Number(m[3])
  const h = m[4] === undefined ? 0 : Number(m[4])
  const mi = m[5] === undefined ? 0 : Number(m[5])
  const sec = m[6] === undefined ? 0 : Number(m[6])
  const frac = m[7] === undefined ? 0 : Number((m[7] + '000000').slice(0, 6))
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return null
  let offsetSeconds = 0
  const zone = m[8] ?? ''
  if (zone !== '') {
    if (m[4] === undefined) return null // a zone needs a time
    const off = parseZoneOffset(zone)
    if (off === null) return null
    offsetSeconds = off
  }
  const seconds = daysFromCivil(y, mo, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + sec - offsetSeconds
  return seconds * MICROS_PER_SECOND + frac
}

const ZONE_RE = /^(?:Z|(?:UTC|GMT|UT)?(?:([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?)$/i

/** Offset in seconds east of UTC, or null for a zone we cannot resolve without a time-zone database. */
export function parseZoneOffset (zone: string): number | null {
  const m = ZONE_RE.exec(zone)
  if (m === null || zone === '') return null
  if (m[1] === undefined) return 0
  const h = Number(m[2])
  const mi = m[3] === undefined ? 0 : Number(m[3])
  const se = m[4] === undefined ? 0 : Number(m[4])
  if (h > 18 || mi > 59 || se > 59) return null
  const v = h * 3600 + mi * 60 + se
  return m[1] === '-' ? -v : v
}

// ---- date / timestamp → string (Spark cast rules) -----------------------------------------------------------------

function pad (n: number, width: number): string {
  const s = String(Math.abs(n))
  const p = s.length >= width ? s : '0'.repeat(width - s.length) + s
  return n < 0 ? '-' + p : p
}

function yearText (y: number): string { return y > 9999 ? '+' + y : pad(y, 4) }

export function formatDate (days: number): string {
  const c = civilFromDays(days)
  return `${yearText(c.year)}-${pad(c.month, 2)}-${pad(c.day, 2)}`
}

/** `yyyy-MM-dd HH:mm:ss[.fraction]`, the fraction without trailing zeros, as CAST(ts AS STRING) prints it. */
export function formatTimestamp (micros: number): string {
  const days = floorDiv(micros, MICROS_PER_DAY)
  const inDay = micros - days * MICROS_PER_DAY
  const secs = Math.floor(inDay / MICROS_PER_SECOND)
  const frac = inDay - secs * MICROS_PER_SECOND
  let s = `${formatDate(days)} ${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`
  if (frac !== 0) s += '.' + pad(frac, 6).replace(/0+$/, '')
  return s
}

// ---- truncation -----------------------------------------------------------------------------------------------------

export type TruncUnit = 'year' | 'quarter' | 'month' | 'week' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond' | 'microsecond'

const TRUNC_UNITS: Record<string, TruncUnit> = {
  YEAR: 'year', YYYY: 'year', YY: 'year', QUARTER: 'quarter', MONTH: 'month', MM: 'month', MON: 'month',
  WEEK: 'week', DAY: 'day', DD: 'day', HOUR: 'hour', MINUTE: 'minute', SECOND: 'second',
  MILLISECOND: 'millisecond', MICROSECOND: 'microsecond'
}

/** date_trunc's units (all of them); trunc(date, fmt) accepts only year…week, which the caller checks. */
export function truncUnit (fmt: string): TruncUnit | null {
  return TRUNC_UNITS[fmt.trim().toUpperCase()] ?? null
}

export function truncDays (days: number, unit: TruncUnit): number {
  if (unit === 'week') return days - isoDayOfWeek(days) + 1
  const c = civilFromDays(days)
  switch (unit) {
    case 'year': return daysFromCivil(c.year, 1, 1)
    case 'quarter': return daysFromCivil(c.year, c.month - ((c.month - 1) % 3), 1)
    case 'month': return daysFromCivil(c.year, c.month, 1)
    default: return days
  }
}

export function truncTimestamp (micros: number, unit: TruncUnit): number {
  switch (unit) {
    case 'microsecond': return micros
    case 'millisecond': return micros - floorMod(micros, 1000)
    case 'second': return micros - floorMod(micros, MICROS_PER_SECOND)
    case 'minute': return micros - floorMod(micros, 60 * MICROS_PER_SECOND)
    case 'hour': return micros - floorMod(micros, 3600 * MICROS_PER_SECOND)
    default: return truncDays(floorDiv(micros, MICROS_PER_DAY), unit) * MICROS_PER_DAY
  }
}

/** add_months: the day is clamped to the last day of the target month (2016-08-31 + 1 month = 2016-09-30). */
export function addMonths (days: number, months: number): number {
  const c = civilFromDays(days)
  const total = c.year * 12 + (c.month - 1) + months
  const y = Math.floor(total / 12)
  const m = total - y * 12 + 1
  return daysFromCivil(y, m, Math.min(c.day, daysInMonth(y, m)))
}

// ---- SimpleDateFormat (legacy) patterns -----------------------------------------------------------------------------

type Piece = { lit: string } | { letter: string, count: number }

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
const SUPPORTED_LETTERS = 'GyYMLdDEuaHkKhmsSzZXwWF'

/** Splits a SimpleDateFormat pattern; an unknown letter is an error, as Java's "Illegal pattern character". */
export function compilePattern (pattern: string): Piece[] {
  const pieces: Piece[] = []
  let i = 0
  while (i < pattern.length) {
    const c = pattern[i]!
    if (c === "'") {
      const close = pattern.indexOf("'", i + 1)
      if (close === i + 1) { pieces.push({ lit: "'" }); i += 2; continue }
      if (close < 0) throw new Error(`unterminated quote in date pattern '${pattern}'`)
      let text = pattern.slice(i + 1, close)
      let end = close + 1
      // '' inside a quoted section is a quote
      while (pattern[end] === "'") {
        const next = pattern.indexOf("'", end + 1)
        if (next < 0) throw new Error(`unterminated quote in date pattern '${pattern}'`)
        text += "'" + pattern.slice(end + 1, next)
        end = next + 1
      }
      pieces.push({ lit: text })
      i = end
      continue
    }
    if (/[a-zA-Z]/.test(c)) {
      if (!SUPPORTED_LETTERS.includes(c)) throw new Error(`illegal pattern character '${c}' in date pattern '${pattern}'`)
      let j = i
      while (pattern[j] === c) j++
      pieces.push({ letter: c, count: j - i })
      i = j
      continue
    }
    pieces.push({ lit: c })
    i++
  }
  return pieces
}

/** Formats like SimpleDateFormat in the UTC zone with the US locale. */
export function formatWithPattern (pieces: readonly Piece[], micros: number): string {
  const days = floorDiv(micros, MICROS_PER_DAY)
  const inDay = micros - days * MICROS_PER_DAY
  const c = civilFromDays(days)
  const ms = Math.floor(inDay / 1000)
  const hour = Math.floor(ms / 3_600_000)
  let out = ''
  for (const p of pieces) {
    if ('lit' in p) { out += p.lit; continue }
    const n = p.count
    switch (p.letter) {
      case 'G': out += c.year > 0 ? 'AD' : 'BC'; break
      case 'y': case 'Y': {
        const y = c.year > 0 ? c.year : 1 - c.year
        out += n === 2 ? pad(y % 100, 2) : pad(y, n)
        break
      }
      case 'M': case 'L': out += n >= 4 ? MONTHS[c.month - 1]! : n === 3 ? MONTHS[c.month - 1]!.slice(0, 3) : pad(c.month, n); break
      case 'd': out += pad(c.day, n); break
      case 'D': out += pad(dayOfYear(days), n); break
      case 'F': out += pad(Math.floor((c.day - 1) / 7) + 1, n); break
      case 'E': { const w = WEEKDAYS[isoDayOfWeek(days) - 1]!; out += n >= 4 ? w : w.slice(0, 3); break }
      case 'u': out += pad(isoDayOfWeek(days), n); break
      case 'w': out += pad(usWeekOfYear(days), n); break
      case 'W': out += pad(usWeekOfMonth(days), n); break
      case 'a': out += hour < 12 ? 'AM' : 'PM'; break
      case 'H': out += pad(hour, n); break
      case 'k': out += pad(hour === 0 ? 24 : hour, n); break
      case 'K': out += pad(hour % 12, n); break
      case 'h': out += pad(hour % 12 === 0 ? 12 : hour % 12, n); break
      case 'm': out += pad(Math.floor(ms / 60_000) % 60, n); break
      case 's': out += pad(Math.floor(ms / 1000) % 60, n); break
      case 'S': out += pad(ms % 1000, n); break
      case 'z': out += n >= 4 ? 'Coordinated Universal Time' : 'UTC'; break
      case 'Z': out += '+0000'; break
      case 'X': out += 'Z'; break
    }
  }
  return out
}

/** Week of the year with the US rules SimpleDateFormat uses: weeks start on Sunday, week 1 holds January 1st. */
function usWeekOfYear (days: number): number {
  const c = civilFromDays(days)
  const jan1 = daysFromCivil(c.year, 1, 1)
  const jan1Sunday0 = isoDayOfWeek(jan1) % 7 // 0 = Sunday
  const week = Math.floor((days - jan1 + jan1Sunday0) / 7) + 1
  // the last days of December belong to week 1 of the next year when that week starts before January 1st
  const nextJan1 = daysFromCivil(c.year + 1, 1, 1)
  if (days >= nextJan1 - (isoDayOfWeek(nextJan1) % 7)) return 1
  return week
}

function usWeekOfMonth (days: number): number {
  const c = civilFromDays(days)
  const first = daysFromCivil(c.year, c.month, 1)
  return Math.floor((days - first + (isoDayOfWeek(first) % 7)) / 7) + 1
}

/**
 * Parses like SimpleDateFormat with setLenient(false) in UTC, which is what Spark's LEGACY parser uses for
 * unix_timestamp / to_date / to_timestamp (SIMPLE_DATE_FORMAT): every field must be in range (no month 13, no
 * February 30), text after the pattern is ignored, a numeric field next to another numeric field takes exactly its
 * pattern width, otherwise as many digits as there are. Returns microseconds, or null when the text does not match.
 */
export function parseWithPattern (pieces: readonly Piece[], text: string, pivotYear: number): number | null {
  let pos = 0
  let year = 1970
  let month = 1
  let day = 1
  let dayOfYearField = -1
  let hour = 0
  let minute = 0
  let second = 0
  let milli = 0
  let pm = -1
  let hour12 = -1
  let offset = 0
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k]!
    if ('lit' in p) {
      if (!text.startsWith(p.lit, pos)) {
        // SimpleDateFormat lets whitespace in the pattern match any run of whitespace
        if (p.lit.trim() === '' && pos < text.length && /\s/.test(text[pos]!)) {
          while (pos < text.length && /\s/.test(text[pos]!)) pos++
          continue
        }
        return null
      }
      pos += p.lit.length
      continue
    }
    const next = pieces[k + 1]
    const abutting = next !== undefined && 'letter' in next && isNumericField(next)
    if ((p.letter === 'M' || p.letter === 'L') && p.count >= 3) {
      const idx = matchName(text, pos, MONTHS)
      if (idx === null) return null
      month = idx.index + 1
      pos = idx.end
      continue
    }
    switch (p.letter) {
      case 'M': case 'L': case 'y': case 'Y': case 'd': case 'D': case 'H': case 'k': case 'K': case 'h': case 'm': case 's': case 'S':
      case 'u': case 'w': case 'W': case 'F': {
        let j = pos
        const neg = text[j] === '-' && (p.letter === 'y' || p.letter === 'Y')
        if (neg || text[j] === '+') j++
        const limit = abutting ? j + p.count : text.length
        const digitsStart = j
        while (j < limit && j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++
        if (j === digitsStart) return null
        let v = Number(text.slice(digitsStart, j))
        if (neg) v = -v
        const digits = j - digitsStart
        pos = j
        switch (p.letter) {
          case 'y': case 'Y':
            // a two-digit year with a yy pattern lands within 80 years before / 20 after the pivot, as in Java
            year = p.count <= 2 && digits === 2 ? pivotCentury(v, pivotYear) : v
            break
          case 'M': case 'L': month = v; break
          case 'd': day = v; break
          case 'D': dayOfYearField = v; break
          case 'H': hour = v; break
          case 'k': if (v < 1 || v > 24) return null; hour = v === 24 ? 0 : v; break
          case 'K': hour12 = v; break
          case 'h': if (v < 1 || v > 12) return null; hour12 = v === 12 ? 0 : v; break
          case 'm': minute = v; break
          case 's': second = v; break
          case 'S': milli = v; break
        }
        break
      }
      case 'E': {
        const idx = matchName(text, pos, WEEKDAYS)
        if (idx === null) return null
        pos = idx.end
        break
      }
      case 'a': {
        const t = text.slice(pos, pos + 2).toUpperCase()
        if (t !== 'AM' && t !== 'PM') return null
        pm = t === 'PM' ? 1 : 0
        pos += 2
        break
      }
      case 'G': {
        const t = text.slice(pos, pos + 2).toUpperCase()
        if (t !== 'AD' && t !== 'BC') return null
        pos += 2
        break
      }
      case 'z': case 'Z': case 'X': {
        const m = /^(?:Z|UTC|GMT|UT)?(?:[+-]\d{1,2}(?::?\d{2})?)?/i.exec(text.slice(pos))
        if (m === null || m[0] === '') return null
        const off = parseZoneOffset(m[0])
        if (off === null) return null
        offset = off
        pos += m[0].length
        break
      }
    }
  }
  if (hour12 >= 0) {
    if (hour12 > 11) return null
    hour = hour12 + (pm === 1 ? 12 : 0)
  } else if (pm === 1 && hour < 12) {
    hour += 12
  }
  // non-lenient: every field within its range
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59 || milli > 999 || dayOfYearField > (isLeapYear(year) ? 366 : 365) || dayOfYearField === 0) {
    return null
  }
  const days = dayOfYearField > 0 ? daysFromCivil(year, 1, 1) + dayOfYearField - 1 : daysFromCivil(year, month, day)
  const seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset
  return seconds * MICROS_PER_SECOND + milli * MICROS_PER_MILLI
}

function isNumericField (p: { letter: string, count: number }): boolean {
  return 'yYdDHkKhmsSuwWF'.includes(p.letter) || ((p.letter === 'M' || p.letter === 'L') && p.count < 3)
}

function matchName (text: string, pos: number, names: readonly string[]): { index: number, end: number } | null {
  const rest = text.slice(pos, pos + 12).toLowerCase()
  for (let i = 0; i < names.length; i++) {
    const full = names[i]!.toLowerCase()
    if (rest.startsWith(full)) return { index: i, end: pos + full.length }
  }
  for (let i = 0; i < names.length; i++) {
    if (rest.startsWith(names[i]!.slice(0, 3).toLowerCase())) return { index: i, end: pos + 3 }
  }
  return null
}

function pivotCentury (yy: number, pivotYear: number): number {
  const start = pivotYear - 80
  let y = Math.floor(start / 100) * 100 + yy
  if (y < start) y += 100
  return y
}

/** A per-format cache for formats that are not constants: compiling a pattern per row would dominate. */
export class PatternCache {
  readonly #map = new Map<string, Piece[]>()
  get (pattern: string): Piece[] {
    let p = this.#map.get(pattern)
    if (p === undefined) {
      try {
        p = compilePattern(pattern)
      } catch (e) {
        return evalError((e as Error).message)
      }
      if (this.#map.size >= 64) this.#map.clear()
      this.#map.set(pattern, p)
    }
    return p
  }
}
