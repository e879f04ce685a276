// The dead-letter output: every record the engine cannot aggregate (undecodable, wrong type, missing timestamp,
// failed expression, late) is written here with its source position, the reason and the original
// bytes, counted, and logged (rate-limited, so a flood of bad input cannot flood the log).

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from '../log/logger.ts'

export interface DeadLetterRecord {
  readonly source: string
  readonly partition: number
  readonly positionName: string
  readonly position: number
  readonly code: string
  readonly reason: string
  readonly bytes: Uint8Array | null
  readonly late: boolean
}

export interface DeadLetterSink {
  write (r: DeadLetterRecord): void
  /** Resolves when everything written so far is durable (before a checkpoint commits source positions). */
  flush? (): Promise<void>
  close (): Promise<void>
  readonly description: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function recordText (bytes: Uint8Array | null): { record?: string, recordBase64?: string } {
  if (bytes === null) return {}
  try {
    return { record: utf8.decode(bytes) }
  } catch {
    return { recordBase64: Buffer.from(bytes).toString('base64') }
  }
}

/** JSON lines: {source, partition, line|offset|…, code, reason, record | recordBase64}. */
export class FileDeadLetters implements DeadLetterSink {
  readonly description: string
  readonly #out: WriteStream

  constructor (path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.description = path
    this.#out = createWriteStream(path, { flags: 'a' })
  }

  write (r: DeadLetterRecord): void {
    const line = JSON.stringify({
      source: r.source,
      partition: r.partition,
      [r.positionName]: r.position,
      code: r.code,
      reason: r.reason,
      ...recordText(r.bytes)
    })
    this.#out.write(line + '\n')
  }

  close (): Promise<void> {
    return new Promise((resolve, reject) => this.#out.end((e?: Error | null) => (e ? reject(e) : resolve())))
  }
}

/** Logs at most `burst` lines per `windowMillis`, then a summary of how many were not shown (`what`: of what). */
export class RateLimitedLog {
  readonly #burst: number
  readonly #window: number
  readonly #log: Logger
  readonly #what: string
  #windowStart = 0
  #shown = 0
  #suppressed = 0

  constructor (log: Logger, burst = 20, windowMillis = 10_000, what = 'dead letter(s)') {
    this.#log = log
    this.#what = what
    this.#burst = burst
    this.#window = windowMillis
  }

  line (text: string, now = Date.now()): void {
    if (now - this.#windowStart >= this.#window) {
      if (this.#suppressed > 0) this.#log.warn(`… ${this.#suppressed} more ${this.#what} not shown in the last ${this.#window / 1000} s`)
      this.#windowStart = now
      this.#shown = 0
      this.#suppressed = 0
    }
    if (this.#shown < this.#burst) { this.#shown++; this.#log.warn(text) } else this.#suppressed++
  }

  flush (): void {
    if (this.#suppressed > 0) this.#log.warn(`… ${this.#suppressed} more ${this.#what} not shown`)
    this.#suppressed = 0
  }
}

/** Keeps dead letters in memory (tests, embedding). */
export class MemoryDeadLetters implements DeadLetterSink {
  readonly description = 'memory'
  readonly records: DeadLetterRecord[] = []
  write (r: DeadLetterRecord): void { this.records.push(r) }
  async close (): Promise<void> {}
}
