// Date and time functions, in UTC. DATE values are days since the epoch, TIMESTAMP values microseconds. Functions
// that take a format use SimpleDateFormat patterns (Chronon runs Spark with the LEGACY time parser policy); a
// constant format is compiled once, at start-up, and a bad one is refused there.

import { type DataType, T } from '../../api/data-type.ts'
import {
  MICROS_PER_DAY, MICROS_PER_MILLI, MICROS_PER_SECOND, PatternCache, SECONDS_PER_DAY, addMonths, civilFromDays,
  compilePattern, dayOfYear, daysFromCivil, daysInMonth, floorDiv, floorMod, formatWithPattern, isoDayOfWeek,
  isoWeekOfYear, parseWithPattern, truncDays, truncTimestamp, truncUnit
} from '../runtime/datetime.ts'
import { type Long, doubleToLong, longToDouble } from '../runtime/numbers.ts'
import type { FnSpec, ResolveCtx, Resolution, TExpr } from '../typed.ts'
import { constantString, custom, simple } from './spec.ts'

const DATE = T.date
const TS = T.timestamp
const DEFAULT_FORMAT = 'yyyy-MM-dd HH:mm:ss'

type Pieces = ReturnType<typeof compilePattern>

function patternOrFail (fmt: string, ctx: ResolveCtx, i: number): Pieces {
  try {
    return compilePattern(fmt)
  } catch (e) {
    return ctx.fail((e as Error).message, i)
  }
}

/**
 * A function of (value, format): with a constant format the pattern is compiled now and the call takes one
 * argument; otherwise each distinct format is compiled once at run time.
 */
function withFormat (
  fn: string, ret: DataType, value: TExpr, fmtArg: TExpr | undefined, ctx: ResolveCtx,
  body: (v: any, p: Pieces) => unknown, nullable = true
): TExpr {
  if (fmtArg === undefined) {
    const p = compilePattern(DEFAULT_FORMAT)
    return ctx.call(fn, ret, [value], { impl: (v: unknown) => body(v, p), nullable })
  }
  const f = ctx.coerce(fmtArg, T.string, 1)
  const c = constantString(f, ctx, 1, 'the format')
  if (typeof c === 'string') {
    const p = patternOrFail(c, ctx, 1)
    return ctx.call(fn, ret, [value], { impl: (v: unknown) => body(v, p), nullable })
  }
  const cache = new PatternCache()
  return ctx.call(fn, ret, [value, f], { impl: (v: unknown, s: string) => body(v, cache.get(s)), nullable })
}

/** unix_timestamp / to_unix_timestamp: seconds of a timestamp, a date, or a string parsed with the format. */
function unixTimestamp (fn: string): FnSpec {
  return custom(fn, fn === 'unix_timestamp' ? 0 : 1, 2, (args, ctx) => {
    if (args.length === 0) {
      return ctx.fail('UNIX_TIMESTAMP() without an argument is the current time, which is not deterministic: a replayed event would land in another tile. Pass the event\'s time column')
    }
    const v = args[0]!
    if (v.type.kind === 'timestamp') return ctx.call(fn, T.long, [v], { impl: (us: number) => floorDiv(us, MICROS_PER_SECOND), nullable: false })
    if (v.type.kind === 'date') return ctx.call(fn, T.long, [v], { impl: (d: number) => d * SECONDS_PER_DAY, nullable: false })
    const s = ctx.coerce(v, T.string, 0)
    return withFormat(fn, T.long, s, args[1], ctx, (text: string, p) => {
      const us = parseWithPattern(p, text, ctx.pivotYear)
      return us === null ? null : floorDiv(us, MICROS_PER_SECOND)
    })
  })
}

/** to_date / to_timestamp: a cast without a format, a parse with one. */
function toDateOrTimestamp (fn: string, ret: DataType): FnSpec {
  return custom(fn, 1, 2, (args, ctx) => {
    if (args.length === 1) return ctx.cast(args[0]!, ret)
    const v = args[0]!
    if (v.type.kind === 'timestamp' || v.type.kind === 'date') return ctx.cast(v, ret)
    const s = ctx.coerce(v, T.string, 0)
    return withFormat(fn, ret, s, args[1], ctx, (text: string, p) => {
      const us = parseWithPattern(p, text, ctx.pivotYear)
      return us === null ? null : ret.kind === 'date' ? floorDiv(us, MICROS_PER_DAY) : us
    })
  })
}

/** A function of one DATE (strings and timestamps are cast to DATE first, as Spark does). */
function ofDate (names: string | string[], ret: DataType, f: (days: number) => unknown): FnSpec {
  return simple(names, [DATE], ret, f, { nullable: false })
}

function ofTimestamp (names: string | string[], f: (us: number) => unknown): FnSpec {
  return simple(names, [TS], T.int, f, { nullable: false })
}

const hourOf = (us: number): number => Math.floor(floorMod(us, MICROS_PER_DAY) / 3_600_000_000)
const minuteOf = (us: number): number => Math.floor(floorMod(us, 3_600_000_000) / 60_000_000)
const secondOf = (us: number): number => Math.floor(floorMod(us, 60_000_000) / MICROS_PER_SECOND)

const DAY_NAMES: Record<string, number> = {
  MO: 1, MON: 1, MONDAY: 1, TU: 2, TUE: 2, TUESDAY: 2, WE: 3, WED: 3, WEDNESDAY: 3, TH: 4, THU: 4, THURSDAY: 4,
  FR: 5, FRI: 5, FRIDAY: 5, SA: 6, SAT: 6, SATURDAY: 6, SU: 7, SUN: 7, SUNDAY: 7
}

/** EXTRACT(field FROM x) / date_part('field', x). SECOND includes the fraction (a DOUBLE here, DECIMAL in Spark). */
const datePart = custom(['date_part', 'datepart'], 2, 2, (args, ctx) => {
  const field = ctx.constant(args[0]!)
  if (typeof field !== 'string') return ctx.fail('the field of date_part / EXTRACT must be a constant such as YEAR', 0)
  const f = field.trim().toUpperCase()
  const dayFn = (g: (d: number) => number): TExpr => ctx.call('date_part', T.int, [ctx.coerce(args[1]!, DATE, 1)], { impl: g, nullable: false })
  const tsFn = (g: (us: number) => number, type: DataType = T.int): TExpr => ctx.call('date_part', type, [ctx.coerce(args[1]!, TS, 1)], { impl: g, nullable: false })
  switch (f) {
    case 'YEAR': case 'Y': case 'YEARS': case 'YR': case 'YRS': return dayFn(d => civilFromDays(d).year)
    case 'QUARTER': case 'QTR': return dayFn(d => Math.floor((civilFromDays(d).month - 1) / 3) + 1)
    case 'MONTH': case 'MON': case 'MONS': case 'MONTHS': return dayFn(d => civilFromDays(d).month)
    case 'WEEK': case 'W': case 'WEEKS': return dayFn(isoWeekOfYear)
    case 'DAY': case 'D': case 'DAYS': return dayFn(d => civilFromDays(d).day)
    case 'DAYOFWEEK': case 'DOW': return dayFn(d => (isoDayOfWeek(d) % 7) + 1)
    case 'DAYOFWEEK_ISO': case 'DOW_ISO': return dayFn(isoDayOfWeek)
    case 'DOY': return dayFn(dayOfYear)
    case 'HOUR': case 'H': case 'HOURS': case 'HR': case 'HRS': return tsFn(hourOf)
    case 'MINUTE': case 'M': case 'MIN': case 'MINS': case 'MINUTES': return tsFn(minuteOf)
    case 'SECOND': case 'S': case 'SEC': case 'SECONDS': case 'SECS': return tsFn(us => floorMod(us, 60_000_000) / MICROS_PER_SECOND, T.double)
  }
  return ctx.fail(`unknown field '${field}' for date_part / EXTRACT`, 0)
})

const unixFrom = (fn: string, perUnit: number): FnSpec => simple(fn, [TS], T.long, (us: number) => floorDiv(us, perUnit), { nullable: false })

/** timestamp_seconds/millis/micros: integral counts; timestamp_seconds also takes fractional seconds. */
function timestampFrom (fn: string, perUnit: number): FnSpec {
  return custom(fn, 1, 1, (args, ctx) => {
    const a = args[0]!
    if (fn === 'timestamp_seconds' && (a.type.kind === 'double' || a.type.kind === 'float')) {
      return ctx.call(fn, TS, [a], { impl: (s: number) => (Number.isFinite(s) ? longToDouble(doubleToLong(s * MICROS_PER_SECOND)) : null), nullable: true })
    }
    const v = ctx.coerce(a, T.long, 0)
    return ctx.call(fn, TS, [v], { impl: (n: Long) => longToDouble(n) * perUnit, nullable: false })
  })
}

const dateTrunc = custom('date_trunc', 2, 2, (args, ctx) => {
  const fmt = ctx.coerce(args[0]!, T.string, 0)
  const ts = ctx.coerce(args[1]!, TS, 1)
  const c = constantString(fmt, ctx, 0, 'the unit')
  if (typeof c === 'string') {
    const unit = truncUnit(c)
    if (unit === null) return ctx.fail(`date_trunc unit '${c}' is not one of YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND`, 0)
    return ctx.call('date_trunc', TS, [ts], { impl: (us: number) => truncTimestamp(us, unit), nullable: false })
  }
  // a unit that is not a constant: an unknown one gives NULL, as in Spark
  return ctx.call('date_trunc', TS, [fmt, ts], {
    impl: (u: string, us: number) => { const unit = truncUnit(u); return unit === null ? null : truncTimestamp(us, unit) },
    nullable: true
  })
})

const trunc = custom('trunc', 2, 2, (args, ctx) => {
  const d = ctx.coerce(args[0]!, DATE, 0)
  const fmt = ctx.coerce(args[1]!, T.string, 1)
  const res: Resolution = {
    impl: (days: number, u: string) => {
      const unit = truncUnit(u)
      return unit === 'year' || unit === 'quarter' || unit === 'month' || unit === 'week' ? truncDays(days, unit) : null
    },
    nullable: true
  }
  return ctx.call('trunc', DATE, [d, fmt], res)
})

export const datetimeFunctions: FnSpec[] = [
  unixTimestamp('unix_timestamp'),
  unixTimestamp('to_unix_timestamp'),
  unixFrom('unix_seconds', MICROS_PER_SECOND),
  unixFrom('unix_millis', MICROS_PER_MILLI),
  unixFrom('unix_micros', 1),
  timestampFrom('timestamp_seconds', MICROS_PER_SECOND),
  timestampFrom('timestamp_millis', MICROS_PER_MILLI),
  timestampFrom('timestamp_micros', 1),
  custom('from_unixtime', 1, 2, (args, ctx) => {
    const sec = ctx.coerce(args[0]!, T.long, 0)
    return withFormat('from_unixtime', T.string, sec, args[1], ctx, (s: Long, p) => formatWithPattern(p, longToDouble(s) * MICROS_PER_SECOND), false)
  }),
  custom('date_format', 2, 2, (args, ctx) => {
    const ts = ctx.coerce(args[0]!, TS, 0)
    return withFormat('date_format', T.string, ts, args[1], ctx, (us: number, p) => formatWithPattern(p, us), false)
  }),
  toDateOrTimestamp('to_date', DATE),
  toDateOrTimestamp('to_timestamp', TS),
  dateTrunc,
  trunc,
  ofDate('year', T.int, d => civilFromDays(d).year),
  ofDate('quarter', T.int, d => Math.floor((civilFromDays(d).month - 1) / 3) + 1),
  ofDate('month', T.int, d => civilFromDays(d).month),
  ofDate(['day', 'dayofmonth'], T.int, d => civilFromDays(d).day),
  ofDate('dayofweek', T.int, d => (isoDayOfWeek(d) % 7) + 1), // 1 = Sunday … 7 = Saturday
  ofDate('weekday', T.int, d => isoDayOfWeek(d) - 1), // 0 = Monday … 6 = Sunday
  ofDate('dayofyear', T.int, dayOfYear),
  ofDate('weekofyear', T.int, isoWeekOfYear),
  ofDate('last_day', DATE, d => { const c = civilFromDays(d); return daysFromCivil(c.year, c.month, daysInMonth(c.year, c.month)) }),
  ofDate('unix_date', T.int, d => d),
  ofTimestamp('hour', hourOf),
  ofTimestamp('minute', minuteOf),
  ofTimestamp('second', secondOf),
  simple('date_from_unix_date', [T.int], DATE, (d: number) => d, { nullable: false }),
  simple(['date_add', 'dateadd'], [DATE, T.int], DATE, (d: number, n: number) => d + n, { nullable: false }),
  simple('date_sub', [DATE, T.int], DATE, (d: number, n: number) => d - n, { nullable: false }),
  simple(['datediff', 'date_diff'], [DATE, DATE], T.int, (end: number, start: number) => end - start, { nullable: false }),
  simple('add_months', [DATE, T.int], DATE, addMonths, { nullable: false }),
  simple('next_day', [DATE, T.string], DATE, (d: number, day: string) => {
    const target = DAY_NAMES[day.trim().toUpperCase()]
    if (target === undefined) return null
    const diff = (target - isoDayOfWeek(d) + 7) % 7
    return d + (diff === 0 ? 7 : diff)
  }),
  simple('make_date', [T.int, T.int, T.int], DATE, (y: number, m: number, d: number) => (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m) ? null : daysFromCivil(y, m, d))),
  datePart,
  custom('current_timezone', 0, 0, (_a, ctx) => ({ k: 'lit', type: T.string, nullable: false, pos: ctx.pos, value: 'UTC' })),
  ...['current_timestamp', 'current_date', 'now', 'localtimestamp', 'curdate'].map((n): FnSpec => ({
    names: [n], minArgs: 0, maxArgs: 0, nondeterministic: true,
    resolve: (_a, ctx) => ctx.call(n, n === 'current_date' || n === 'curdate' ? DATE : TS, [], { impl: () => null, nullable: true })
  }))
]
