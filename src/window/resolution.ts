// Chronon's FiveMinuteResolution (§3.1): which hop a window's tail moves by, and from that the tile size.

export const MINUTE = 60_000
export const HOUR = 3_600_000
export const DAY = 86_400_000
export const FIVE_MINUTES = 5 * MINUTE

/** Hop sizes from largest to smallest; each is a multiple of the next. */
export const HOP_SIZES: readonly number[] = [DAY, HOUR, FIVE_MINUTES]

/** The hop a window's tail moves by: ≥ 12 days → 1 day, ≥ 12 hours → 1 hour, otherwise 5 minutes. */
export function tailHopMillis (windowMillis: number): number {
  if (windowMillis >= 12 * DAY) return DAY
  if (windowMillis >= 12 * HOUR) return HOUR
  return FIVE_MINUTES
}

/** Java/Scala `(x / h) * h` on longs: truncates toward zero (so it rounds *up* for negative x). */
export function roundTrunc (x: number, h: number): number {
  return Math.trunc(x / h) * h
}

/** Epoch-aligned start of the tumbling window holding ts (Flink's TimeWindow.getWindowStartWithOffset, offset 0). */
export function tileStartOf (ts: number, tileSize: number): number {
  const r = ts % tileSize
  return r < 0 ? ts - r - tileSize : ts - r
}
