// The oracle's window rule, written from the definition (§3.2, §3.4) and nothing else: a windowed feature at query
// time Q over window W with tail hop H aggregates the events whose timestamp is at least round(Q − W, H)
// (Java's truncating division) and whose tile starts before Q (the tile holding Q is read whole). Unwindowed
// features take every event whose tile starts before Q.

import { NAIVE_OPS, type NaiveSpec, type TimedValue } from './naive-ops.ts'

export interface NaiveWindow {
  /** Window length in ms, or null when unbounded. */
  readonly millis: number | null
  readonly hopMillis: number
}

export interface NaiveColumn extends NaiveSpec {
  readonly name: string
  readonly inputColumn: string
  readonly bucket: string | null
  readonly window: NaiveWindow
}

export interface NaiveEvent {
  readonly ts: number
  readonly row: Readonly<Record<string, unknown>>
}

const truncRound = (x: number, h: number): number => Math.trunc(x / h) * h
const floorTile = (ts: number, size: number): number => Math.floor(ts / size) * size

export function inWindow (ts: number, q: number, w: NaiveWindow, tileSize: number): boolean {
  if (floorTile(ts, tileSize) >= q) return false
  return w.millis === null || ts >= truncRound(q - w.millis, w.hopMillis)
}

/** Finalized value of every column for one key's events (in arrival order) at query time q. */
export function naiveFeatures (events: readonly NaiveEvent[], columns: readonly NaiveColumn[], q: number, tileSize: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const c of columns) {
    const op = NAIVE_OPS[c.op]
    if (op === undefined) throw new Error(`the oracle has no naive ${c.op}`)
    const selected = events.filter(e => inWindow(e.ts, q, c.window, tileSize))
    if (c.bucket === null) {
      out[c.name] = op(values(selected, c.inputColumn), c)
    } else {
      const byBucket = new Map<string, NaiveEvent[]>()
      for (const e of selected) {
        const b = e.row[c.bucket]
        const v = e.row[c.inputColumn]
        if (b === null || b === undefined || v === null || v === undefined) continue
        const list = byBucket.get(String(b)) ?? []
        list.push(e)
        byBucket.set(String(b), list)
      }
      const m: Record<string, unknown> = {}
      for (const [b, es] of byBucket) m[b] = op(values(es, c.inputColumn), c)
      out[c.name] = byBucket.size === 0 ? null : m
    }
  }
  return out
}

function values (events: readonly NaiveEvent[], column: string): TimedValue[] {
  const out: TimedValue[] = []
  for (const e of events) {
    const v = e.row[column]
    if (v !== null && v !== undefined) out.push({ ts: e.ts, value: v })
  }
  return out
}
