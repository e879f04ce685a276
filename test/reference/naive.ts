// The oracle's window rule, written from the definition (§3.2, §3.4) and nothing else: a windowed feature at query
// time Q over window W with tail hop H aggregates the events whose timestamp is at least round(Q − W, H)
// (Java's truncating division) and whose tile starts before Q (the tile holding Q is read whole). Unwindowed
// features take every event whose tile starts before Q.
//
// That is the head-tile rule `start` (Zipline's fetcher). Under the rule `latest` (airbnb's fetcher, mode
// 'tiled-latest') a tile is read whole or not at all by the time of its *last-folded* event — the event of the tile
// that came last in arrival order (Chronon's latestTsMillis, not the largest time): the tile's events are taken when
// that time is before Q, and by a window when it is at least round(Q − W, H). So the head tile (the one holding Q)
// is left out until its last event so far is before Q.
//
// Untiled (the engine stored raw events, §3.4 last bullet, §4.1): the same, but the head is the event itself:
// ts < Q exactly, no whole tile. The events are aggregated in the order given, which for an untiled read is the
// store's order: by event time, then by row identity (source partition, position, row index).
//
// Column shapes, from Chronon's definitions: a bucketed column aggregates each bucket value apart (a map of them);
// a map<string, V> input of a non-timed operation aggregates each map key apart (a map, present as soon as the
// window holds a map, even an empty one); an element-wise column (airbnb `elementWise`, a list input) aggregates each
// list position apart (a list as long as the inputs, which must all have the same length).

import { NAIVE_OPS, type NaiveOp, type NaiveSpec, type TimedValue } from './naive-ops.ts'

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
  /** airbnb `elementWise` over a list input. */
  readonly elementWise?: boolean
}

/** Operations that keep a (time, value) and never look inside the value (Chronon's timed aggregators). */
const TIMED = new Set(['FIRST', 'LAST', 'FIRST_K', 'LAST_K'])

export interface NaiveEvent {
  readonly ts: number
  readonly row: Readonly<Record<string, unknown>>
}

const truncRound = (x: number, h: number): number => Math.trunc(x / h) * h
const floorTile = (ts: number, size: number): number => Math.floor(ts / size) * size

export type NaiveMode = 'tiled' | 'tiled-latest' | 'untiled'

/** The tiled mode of a head-tile rule. */
export function tiledMode (headTile: 'start' | 'latest'): NaiveMode {
  return headTile === 'latest' ? 'tiled-latest' : 'tiled'
}

/**
 * Whether an event at ts is in window w at query time q. `lastOfTile` (mode 'tiled-latest' only): the time of the
 * last event that arrived in the event's tile.
 */
export function inWindow (ts: number, q: number, w: NaiveWindow, tileSize: number, mode: NaiveMode = 'tiled', lastOfTile = ts): boolean {
  if (mode === 'untiled' ? ts >= q : mode === 'tiled-latest' ? lastOfTile >= q : floorTile(ts, tileSize) >= q) return false
  return w.millis === null || ts >= truncRound(q - w.millis, w.hopMillis)
}

/** For 'tiled-latest': per tile start, the time of the tile's event that arrived last. */
export function lastArrivals (events: readonly NaiveEvent[], tileSize: number): Map<number, number> {
  const last = new Map<number, number>()
  for (const e of events) last.set(floorTile(e.ts, tileSize), e.ts)
  return last
}

/** Finalized value of every column for one key's events (in arrival order, or store order untiled) at query time q. */
export function naiveFeatures (events: readonly NaiveEvent[], columns: readonly NaiveColumn[], q: number, tileSize: number, mode: NaiveMode = 'tiled'): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const last = mode === 'tiled-latest' ? lastArrivals(events, tileSize) : null
  for (const c of columns) {
    const op = NAIVE_OPS[c.op]
    if (op === undefined) throw new Error(`the oracle has no naive ${c.op}`)
    const selected = events.filter(e => inWindow(e.ts, q, c.window, tileSize, mode, last?.get(floorTile(e.ts, tileSize))))
    if (c.bucket === null) {
      out[c.name] = shaped(values(selected, c.inputColumn), c, op)
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

function shaped (xs: TimedValue[], c: NaiveColumn, op: NaiveOp): unknown {
  if (TIMED.has(c.op)) return op(xs, c)
  if (c.elementWise === true && c.inputType.startsWith('list<')) {
    if (xs.length === 0) return null
    const n = (xs[0]!.value as unknown[]).length
    const spec = { ...c, inputType: c.inputType.slice(5, -1) }
    return Array.from({ length: n }, (_, i) => op(xs.map(x => {
      const list = x.value as unknown[]
      if (list.length !== n) throw new Error(`the oracle assumes tensors of one length: ${n} and ${list.length}`)
      return { ts: x.ts, value: list[i] }
    }), spec))
  }
  if (c.inputType.startsWith('map<string,')) {
    if (xs.length === 0) return null
    const spec = { ...c, inputType: c.inputType.slice('map<string,'.length, -1) }
    const byKey = new Map<string, TimedValue[]>()
    for (const x of xs) {
      const entries = x.value instanceof Map ? [...(x.value as Map<string, unknown>)] : Object.entries(x.value as Record<string, unknown>)
      for (const [k, v] of entries) {
        if (v === null || v === undefined) continue
        const list = byKey.get(k) ?? []
        list.push({ ts: x.ts, value: v })
        byKey.set(k, list)
      }
    }
    const out: Record<string, unknown> = {}
    for (const [k, vs] of byKey) out[k] = op(vs, spec)
    return out
  }
  return op(xs, c)
}

function values (events: readonly NaiveEvent[], column: string): TimedValue[] {
  const out: TimedValue[] = []
  for (const e of events) {
    const v = e.row[column]
    if (v !== null && v !== undefined) out.push({ ts: e.ts, value: v })
  }
  return out
}
