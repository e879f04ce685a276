// What a read returns, and the parts the tiled and untiled reads share (kept apart from both, so neither imports
// the other): how far back a read goes, and how finalized values become JSON.

import type { Plan } from '../config/plan.ts'
import { roundTrunc } from '../window/resolution.ts'

export interface FetchResult {
  /** Output column → finalized value (JSON-ready: maps as objects, bytes as base64). */
  readonly features: Record<string, unknown>
  readonly tilesRead: number
  /** Untiled: the stored events read, and how many of them some column could not aggregate (see untiled-read.ts). */
  readonly eventsRead?: number
  readonly skippedEvents?: number
  readonly atMillis: number
}

/** The earliest tile start (or event time, untiled) any output column needs at query time q. */
export function readStart (plan: Plan, q: number): number {
  if (plan.hasUnbounded) return -Infinity
  let from = Infinity
  for (const o of plan.outputs) from = Math.min(from, roundTrunc(q - o.window.millis, o.window.hopMillis))
  return from
}

/** Maps → objects, bigints → numbers (or strings beyond ±2^53), bytes → base64, NaN/∞ → null. */
export function toJsonValue (v: unknown): unknown {
  if (v === null || v === undefined) return null
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
  if (v instanceof Map) {
    const o: Record<string, unknown> = {}
    for (const [k, x] of v) o[String(k)] = toJsonValue(x)
    return o
  }
  if (Array.isArray(v)) return v.map(toJsonValue)
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as object)) o[k] = toJsonValue(x)
    return o
  }
  return v
}
