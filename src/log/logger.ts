// The one logger (pino). Every line the engine and the CLI print about what they do goes through it, on stderr
// (stdout carries command output: `--json` summaries, fetch results, dumps):
//
//   stderr not a terminal → JSON lines: {"level":"info","time":"2026-…Z","pid":…,"name":"tilekiln","msg":"…",…}
//   stderr a terminal     → readable lines: 19:40:01.123 INFO  partition 3: took over … partition=3
//
// Lines are lifecycle events (start, assign/revoke, checkpoint, restore, store outage and recovery) or errors, the
// latter rate-limited per class (`Limiter`); nothing is logged per event. The message text of a line is the same in
// both formats (tests and operators grep it); structured context goes into fields.
//
// A terminal's lines pass through a `LineSink` so the live view (cli/live-view.ts) can print them above the screen
// it redraws.

import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]
export type LogFormat = 'json' | 'pretty'

/** Where a terminal's formatted lines go; the live view replaces it while it owns the screen. */
export interface LineSink { write (line: string): void }

export interface LoggingOptions {
  readonly level?: LogLevel
  /** Default: JSON unless the output stream is a terminal. */
  readonly format?: LogFormat | 'auto'
  /** Default: process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean, fd?: number }
}

let terminalSink: { sink: LineSink, tty: boolean } | null = null
let root: Logger = createLogger({})

/** The process's logger (configured by the CLI with `configureLogging`; JSON at info on stderr otherwise). */
export function getLogger (): Logger {
  return root
}

/** Replaces the process's logger; returns it. */
export function configureLogging (o: LoggingOptions): Logger {
  root.flush?.()
  root = createLogger(o)
  return root
}

/** Whether the process's log lines are readable ones on a terminal (where the live view can draw). */
export function terminalLogs (): boolean {
  return terminalSink !== null && terminalSink.tty
}

/**
 * While the live view draws on the terminal, formatted lines are handed to `sink` (which prints them above the
 * screen). Returns a function that restores direct writing. No effect in JSON mode.
 */
export function routeTerminalLines (sink: LineSink): () => void {
  if (terminalSink === null) return () => {}
  const holder = terminalSink
  const before = holder.sink
  holder.sink = sink
  return () => { holder.sink = before }
}

export function createLogger (o: LoggingOptions): Logger {
  const stream = o.stream ?? process.stderr
  const pretty = o.format === 'pretty' || ((o.format ?? 'auto') === 'auto' && stream.isTTY === true)
  const options = {
    name: 'tilekiln',
    level: o.level ?? 'info',
    // Level names, not numbers: a JSON line is read by people and log shippers alike.
    formatters: { level: (label: string) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime
  }
  if (!pretty) {
    terminalSink = null
    // Synchronous: lifecycle lines are rare, and a line written just before process.exit must not be lost.
    const dest: DestinationStream = stream === process.stderr ? pino.destination({ dest: 2, sync: true }) : { write: s => { stream.write(s) } }
    return pino(options, dest)
  }
  const holder = { sink: { write: (line: string) => { stream.write(line) } } as LineSink, tty: stream.isTTY === true }
  terminalSink = holder
  const colors = stream.isTTY === true && process.env.NO_COLOR === undefined
  return pino(options, { write: (json: string) => { holder.sink.write(formatLine(json, colors)) } })
}

/** A logger whose lines (their message text) go to `fn`: for tests and embedders that collect lines. */
export function lineLogger (fn: (line: string) => void, level: LogLevel = 'info'): Logger {
  return pino({ level }, { write: (json: string) => { fn((JSON.parse(json) as { msg?: string }).msg ?? '') } })
}

/** An engine or library option: a logger, or a function that takes each line's message. */
export function asLogger (log: Logger | ((line: string) => void) | undefined): Logger {
  if (log === undefined) return getLogger()
  return typeof log === 'function' ? lineLogger(log) : log
}

const STANDARD = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg'])
const LEVEL_COLORS: Record<string, string> = { fatal: '\x1b[41m', error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[36m', trace: '\x1b[90m' }

/** One readable line from pino's JSON: time of day, level, message, then the other fields as key=value. */
export function formatLine (json: string, colors = false): string {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : new Date().toISOString().slice(11, 23)
  const level = String(o.level ?? 'info')
  const tag = level.toUpperCase().padEnd(5)
  let line = `${time} ${colors ? `${LEVEL_COLORS[level] ?? ''}${tag}\x1b[0m` : tag} ${String(o.msg ?? '')}`
  for (const [k, v] of Object.entries(o)) {
    if (STANDARD.has(k)) continue
    if (k === 'err' && typeof v === 'object' && v !== null) {
      const stack = (v as { stack?: unknown }).stack
      if (typeof stack === 'string' && level !== 'info') line += `\n${stack}`
      continue
    }
    line += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`
  }
  return line + '\n'
}

/**
 * Rate limit per class of trouble: at most one line per `intervalMillis` for each class, with the count of those
 * left out since the last one. The class of a message defaults to its text without numbers, so "attempt 3" and
 * "attempt 4" are one class.
 */
export class Limiter {
  readonly #interval: number
  readonly #last = new Map<string, { at: number, suppressed: number }>()

  constructor (intervalMillis = 10_000) {
    this.#interval = intervalMillis
  }

  /** Logs `msg` at `level` unless its class was logged within the interval (then it is only counted). */
  log (logger: Logger, level: 'warn' | 'error' | 'info', msg: string, fields: Record<string, unknown> = {}, kind = classOf(msg), now = Date.now()): boolean {
    const s = this.#last.get(kind)
    if (s !== undefined && now - s.at < this.#interval) { s.suppressed++; return false }
    const suppressed = s?.suppressed ?? 0
    this.#last.set(kind, { at: now, suppressed: 0 })
    logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, suppressed > 0 ? `${msg} (and ${suppressed} more like it since the last report)` : msg)
    return true
  }
}

export function classOf (msg: string): string {
  return msg.replace(/\d+/g, '#').slice(0, 200)
}
