// What the live view, the status line and the status page show: one sample per interval (about a second) of a
// running engine, with rates over the last interval next to the averages since the start, and a bounded history
// (the status page's charts).

import type { Engine, Progress, WorkerProgress } from './engine.ts'
import { M } from '../metrics/metrics.ts'

export interface LiveSample {
  /** When the sample was taken (epoch ms). */
  readonly at: number
  readonly elapsedMillis: number
  readonly records: number
  /** Events written to the store per second over the last interval, and on average since the start. */
  readonly eventsPerSecond: number
  readonly averageEventsPerSecond: number
  /** Kafka consumer lag: records behind the high watermarks of the owned partitions (NaN when unknown). */
  readonly sourceLag: number
  /** Owned partitions as ranges (0-3,5), or 'none'. */
  readonly partitions: string
  /** Records read and not yet acknowledged by the store. */
  readonly inFlight: number
  /** The lowest closing watermark over owned partitions (±Infinity, see Progress). */
  readonly watermark: number
  /** now − that watermark (NaN when there is none). */
  readonly watermarkDelayMillis: number
  /** now − the largest event time seen (NaN when none). */
  readonly eventTimeLagMillis: number
  readonly lateEvents: number
  readonly deadLetters: number
  readonly tilesWritten: number
  readonly tileWritesPerSecond: number
  /** p99 of event-to-store latency over the last interval (NaN when nothing was written). */
  readonly p99LatencyMillis: number
  readonly liveKeys: number
  readonly queuedPuts: number
  readonly fencedWrites: number
  readonly workers: readonly WorkerProgress[]
}

/** Samples kept for the status page's charts (10 minutes at one a second). */
const HISTORY = 600

export class LiveStats {
  readonly #engine: Engine
  readonly #history: LiveSample[] = []
  #prev: { at: number, acked: number, tiles: number } | null = null

  constructor (engine: Engine) {
    this.#engine = engine
  }

  sample (now = Date.now()): LiveSample {
    const e = this.#engine
    const p: Progress = e.progress()
    const acked = p.records - p.lagRecords
    const prev = this.#prev ?? { at: now - p.elapsedMillis, acked: 0, tiles: 0 }
    const dt = Math.max(1, now - prev.at) / 1000
    let lag = 0
    let lagKnown = p.partitions.length > 0
    for (const x of p.partitions) {
      if (Number.isNaN(x.lag)) lagKnown = false
      else lag += x.lag
    }
    const recent = e.metrics.takeRecent(M.latency)
    const s: LiveSample = {
      at: now,
      elapsedMillis: p.elapsedMillis,
      records: p.records,
      eventsPerSecond: (acked - prev.acked) / dt,
      averageEventsPerSecond: p.eventsPerSecond,
      sourceLag: lagKnown ? lag : Number.NaN,
      partitions: p.partitions.length === 0 ? 'none' : ranges(p.partitions.map(x => x.partition)),
      inFlight: p.lagRecords,
      watermark: p.watermark,
      watermarkDelayMillis: Number.isFinite(p.watermark) ? now - p.watermark : Number.NaN,
      eventTimeLagMillis: p.eventTimeLagMillis,
      lateEvents: p.lateEvents,
      deadLetters: p.deadLetters,
      tilesWritten: p.tilesWritten,
      tileWritesPerSecond: (p.tilesWritten - prev.tiles) / dt,
      p99LatencyMillis: recent.count === 0 ? Number.NaN : recent.p99,
      liveKeys: p.liveKeys,
      queuedPuts: p.queuedPuts,
      fencedWrites: p.fencedWrites,
      workers: e.workers()
    }
    this.#prev = { at: now, acked, tiles: p.tilesWritten }
    this.#history.push(s)
    if (this.#history.length > HISTORY) this.#history.shift()
    return s
  }

  /** The samples so far (oldest first), at most the last HISTORY. */
  get history (): readonly LiveSample[] { return this.#history }

  get latest (): LiveSample | undefined { return this.#history[this.#history.length - 1] }
}

/** 0-3,5,7-8 */
export function ranges (ns: readonly number[]): string {
  const out: string[] = []
  for (let i = 0; i < ns.length;) {
    let j = i
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++
    out.push(j > i ? `${ns[i]}-${ns[j]}` : String(ns[i]))
    i = j + 1
  }
  return out.join(',')
}
