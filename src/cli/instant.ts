// Points in time on the command line (`fetch --at`): ISO-8601, or epoch milliseconds. A bare number that reads as a
// recent date in *seconds* (1e9 … 1e11: 2001 … 5138 in seconds, but January 1970 … March 1973 in milliseconds) is
// refused with the conversion spelled out, because taking it as milliseconds silently reads 1970.

import { TilekilnError } from '../errors.ts'

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/** Epoch milliseconds of `text`; `where` names the flag in errors. ISO times without an offset are UTC. */
export function parseInstant (text: string, where: string): number {
  const t = text.trim()
  if (/^-?\d+$/.test(t)) {
    const n = Number(t)
    if (!Number.isSafeInteger(n)) throw new TilekilnError('TK_USAGE', `${where} ${t} is out of range: give an ISO-8601 time or epoch milliseconds`)
    if (n >= 1e9 && n < 1e11) {
      const ms = n * 1000
      throw new TilekilnError('TK_USAGE', `${where} ${t} looks like epoch seconds (as milliseconds it is ${new Date(n).toISOString()}): give milliseconds, ${ms} (${new Date(ms).toISOString()}), or an ISO-8601 time`)
    }
    return n
  }
  const m = ISO.exec(t)
  if (m === null) throw new TilekilnError('TK_USAGE', `${where} must be an ISO-8601 time (2023-12-02, 2023-12-02T10:00:00Z, 2023-12-02T12:00:00+02:00) or epoch milliseconds, got '${text}'`)
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const month = Number(mo)
  const day = Number(d)
  // Date.parse rolls 2023-02-30 over to March 2nd: check the calendar first.
  const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59) {
    throw new TilekilnError('TK_USAGE', `${where} ${text} is not a date that exists`)
  }
  let offsetMillis = 0
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!
    offsetMillis = (zm[1] === '-' ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000
  }
  const ms = Number(((frac ?? '') + '000').slice(0, 3))
  return Date.UTC(Number(y), month - 1, day, Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), ms) - offsetMillis
}
