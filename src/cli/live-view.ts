// How `tilekiln run` shows its progress:
//
//   on a terminal   one screen, redrawn in place every interval; log lines are printed above it (the logger hands
//                   them here while the screen is up, see log/logger.ts routeTerminalLines)
//   otherwise       a status line every interval (default 30 s), logged like any other line
//
// Both read LiveSample (engine/live-stats.ts): rates over the last interval next to averages since the start.

import type { LiveSample } from '../engine/live-stats.ts'
import { routeTerminalLines } from '../log/logger.ts'

const fmt = (n: number): string => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—'

/** 4.2 s, 5m 03s, 2h 10m, 3d 4h */
export function duration (ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  const s = ms / 1000
  if (Math.abs(s) < 60) return `${s.toFixed(1)} s`
  if (Math.abs(s) < 3600) return `${Math.floor(s / 60)}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`
  if (Math.abs(s) < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
}

function watermarkText (wm: number): string {
  return Number.isFinite(wm) ? new Date(wm).toISOString().replace(/\.\d{3}Z$/, 'Z') : wm > 0 ? 'end' : '—'
}

/** One status line (the same words as the screen, for logs). `events N` and `ev/s` stay in it: tools grep them. */
export function statusLine (s: LiveSample, untiled = false): string {
  const lag = Number.isNaN(s.sourceLag) ? '—' : fmt(s.sourceLag)
  const p99 = Number.isNaN(s.p99LatencyMillis) ? '—' : `${fmt(s.p99LatencyMillis)} ms`
  return `tilekiln ${(s.elapsedMillis / 1000).toFixed(1).padStart(6)}s | ${fmt(s.eventsPerSecond).padStart(9)} ev/s (avg ${fmt(s.averageEventsPerSecond)}) | events ${fmt(s.records)} | partitions ${s.partitions}, source lag ${lag} | in flight ${fmt(s.inFlight)} rec | watermark ${watermarkText(s.watermark)} (delay ${duration(s.watermarkDelayMillis)}) |${untiled ? '' : ` keys ${fmt(s.liveKeys)} |`} ${untiled ? 'events' : 'tiles'} written ${fmt(s.tilesWritten)} (${fmt(s.tileWritesPerSecond)}/s) | p99 ${p99} | dead letters ${fmt(s.deadLetters)} (late ${fmt(s.lateEvents)})${s.fencedWrites > 0 ? ` | fenced ${fmt(s.fencedWrites)}` : ''}`
}

/** The screen's lines for a sample (no trailing newline; each at most `width` characters). */
export function screenLines (s: LiveSample, title: string, untiled: boolean, width: number): string[] {
  const kv = (k: string, v: string): string => `  ${k.padEnd(22)} ${v}`
  const lines = [
    `tilekiln — ${title}   ${duration(s.elapsedMillis)}`,
    '',
    kv('events/s', `${fmt(s.eventsPerSecond)} last second, ${fmt(s.averageEventsPerSecond)} average   (${fmt(s.records)} events)`),
    kv('Kafka lag', Number.isNaN(s.sourceLag) ? `—   (partitions ${s.partitions})` : `${fmt(s.sourceLag)} records   (partitions ${s.partitions})`),
    kv('watermark delay', `${duration(s.watermarkDelayMillis)}   (watermark ${watermarkText(s.watermark)}, newest event ${duration(s.eventTimeLagMillis)} ago)`),
    kv('late events', fmt(s.lateEvents)),
    kv('dead letters', fmt(s.deadLetters)),
    kv(untiled ? 'event writes/s' : 'tile writes/s', `${fmt(s.tileWritesPerSecond)}   (${fmt(s.tilesWritten)} written, ${fmt(s.queuedPuts)} queued)`),
    kv('p99 event → store', Number.isNaN(s.p99LatencyMillis) ? '—' : `${fmt(s.p99LatencyMillis)} ms`),
    ''
  ]
  const bar = 20
  for (const w of s.workers) {
    const full = Math.round(Math.max(0, Math.min(1, w.load)) * bar)
    const state = untiled ? '' : `keys ${fmt(w.liveKeys)}, open tiles ${fmt(w.openTiles)}, ${fmt(w.stateBytes / 1024)} KiB, `
    lines.push(`  worker ${String(w.worker).padEnd(3)} ${'█'.repeat(full)}${'░'.repeat(bar - full)} ${String(Math.round(w.load * 100)).padStart(3)}%   ${state}batches of ${fmt(w.batchRecords)}`)
  }
  if (s.fencedWrites > 0) lines.push('', kv('fenced writes', fmt(s.fencedWrites)))
  return lines.map(l => l.length > width ? l.slice(0, Math.max(1, width - 1)) + '…' : l)
}

/**
 * A screen redrawn in place on a terminal. Log lines that arrive meanwhile are printed above it: the screen is
 * erased, the line written, the screen drawn again.
 */
export class LiveScreen {
  readonly #out: NodeJS.WriteStream
  readonly #title: string
  readonly #untiled: boolean
  #lines: string[] = []
  #drawn = 0
  readonly #restoreLogs: () => void

  constructor (out: NodeJS.WriteStream, title: string, untiled: boolean) {
    this.#out = out
    this.#title = title
    this.#untiled = untiled
    this.#restoreLogs = routeTerminalLines({ write: line => { this.#out.write(this.#erase() + line + this.#render()) } })
    this.#out.write('\x1b[?25l') // hide the cursor while the screen is up
  }

  draw (s: LiveSample): void {
    this.#lines = screenLines(s, this.#title, this.#untiled, Math.max(40, this.#out.columns ?? 120))
    this.#out.write(this.#erase() + this.#render())
  }

  /** Leaves the last screen as it is and gives the terminal back to plain log lines. */
  close (): void {
    this.#restoreLogs()
    this.#drawn = 0
    this.#out.write('\x1b[?25h')
  }

  /** Cursor to the screen's first line, and everything below it cleared. */
  #erase (): string {
    return this.#drawn === 0 ? '' : `\x1b[${this.#drawn}F\x1b[J`
  }

  #render (): string {
    this.#drawn = this.#lines.length
    return this.#lines.length === 0 ? '' : this.#lines.join('\n') + '\n'
  }
}
