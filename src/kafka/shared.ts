// Helpers both client implementations use, written once: broker lists, wrapping a library's error with what we were
// doing, promise plumbing, and header/value conversion.
import { TilekilnError } from '../errors.ts'
import type { KafkaHeaders, RevokeReason } from './types.ts'

export function parseBrokers (brokers: string | readonly string[]): string[] {
  const list = (typeof brokers === 'string' ? brokers.split(',') : [...brokers]).map(b => b.trim()).filter(b => b.length > 0)
  if (list.length === 0) throw new TilekilnError('TK_SOURCE', 'no Kafka brokers given', { brokers: String(brokers) })
  for (const b of list) {
    if (!/^[^\s:]+:\d+$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(b)) {
      throw new TilekilnError('TK_SOURCE', `a Kafka broker must be host:port, not "${b}"`, { broker: b })
    }
  }
  return list
}

/** Wraps a library error with what we were doing; keeps the original as `cause`. */
export function kafkaError (message: string, context: Record<string, string | number | undefined>, cause?: unknown): TilekilnError {
  const detail = cause instanceof Error ? `: ${cause.message}` : cause !== undefined ? `: ${String(cause)}` : ''
  return new TilekilnError('TK_SOURCE', message + detail, context, { cause })
}

/**
 * Most bytes one fetch returns (all partitions), and per partition a quarter of it. Both clients decode a whole fetch
 * response into one object per record before the engine sees the first: with Avro records of ~40 bytes, the former
 * 16 MiB fetch was ~230,000 records and ~250 MB of main-thread heap (a bench:kafka run peaked at 1.1 GB RSS).
 */
export const DEFAULT_FETCH_MAX_BYTES = 2 << 20

/** The per-partition bound of a fetch of `maxBytes` (at least 64 KiB). */
export function fetchMaxBytesPerPartition (maxBytes: number): number {
  return Math.max(64 << 10, Math.floor(maxBytes / 4))
}

/** See KafkaClientOptions.requestTimeoutMs. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/**
 * The heartbeat interval for a session timeout: a twentieth of it, between 250 ms and 1 s. A member hears of a
 * rebalance only at its next heartbeat, and a cooperative hand-over takes two rounds (revoke, then assign), so the
 * interval is most of the pause a moved partition sees (Kafka's default 3 s would make it seconds); a heartbeat costs
 * the coordinator next to nothing.
 */
export function heartbeatIntervalFor (sessionTimeoutMs: number): number {
  return Math.min(1000, Math.max(250, Math.floor(sessionTimeoutMs / 20)))
}

export const EMPTY_HEADERS: KafkaHeaders = Object.freeze({})

/** A promise with its settle functions; a rejection nobody awaits is not reported as unhandled. */
export interface Deferred { promise: Promise<void>, resolve: () => void, reject: (e: unknown) => void }
export function deferred (): Deferred {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  promise.catch(() => {})
  return { promise, resolve, reject }
}

export function isThenable (v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

export function toBuffer (v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v
}

/** Runs async tasks one at a time, in the order they were queued; a failed task does not stop the ones after it. */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve()

  run (task: () => Promise<void>): Promise<void> {
    const next = this.#tail.then(task, task)
    this.#tail = next.catch(() => {})
    return next
  }

  /** Resolves when every task queued so far has settled. */
  async idle (): Promise<void> {
    await this.#tail
  }
}

/**
 * Calls onRevoked and waits for it, at most `timeoutMs`: a member that takes longer than the rebalance timeout to let
 * go is expelled by the group, so past it we stop waiting (the callback may still finish) and say so.
 */
export async function revokeWithin (
  onRevoked: ((removed: readonly number[], reason: RevokeReason) => void | Promise<void>) | undefined,
  removed: readonly number[],
  reason: RevokeReason,
  timeoutMs: number,
  report: (message: string, cause?: unknown) => void
): Promise<void> {
  if (onRevoked === undefined || removed.length === 0) return
  let timer: NodeJS.Timeout | undefined
  try {
    const r = onRevoked(removed, reason)
    if (!isThenable(r)) return
    const late = new Promise<'late'>(resolve => { timer = setTimeout(() => resolve('late'), timeoutMs) })
    const outcome = await Promise.race([Promise.resolve(r).then(() => 'done' as const), late])
    if (outcome === 'late') report(`onRevoked did not finish within the rebalance timeout (${timeoutMs} ms); the partitions are released without it`)
  } catch (e) {
    report('onRevoked failed; the partitions are released anyway', e)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Checks every `intervalMs` that the consumed topic still exists, and calls `gone` once when two checks in a row say it
 * does not (one could be a metadata glitch right after a restart). `exists` answers null when it cannot tell (broker
 * unreachable): that is not a deletion. Without this, a deleted topic looks like a topic without new records: the
 * group simply assigns nothing, and lag reads 0. Returns the function that stops the checks.
 */
export function watchTopic (exists: () => Promise<boolean | null>, gone: () => void, intervalMs = 2000): () => void {
  let misses = 0
  let stopped = false
  let timer: NodeJS.Timeout | null = null
  const check = async (): Promise<void> => {
    const e = await exists().catch(() => null)
    if (stopped) return
    misses = e === false ? misses + 1 : e === true ? 0 : misses
    if (misses >= 2) { stopped = true; gone(); return }
    timer = setTimeout(() => { void check() }, intervalMs)
    timer.unref()
  }
  timer = setTimeout(() => { void check() }, intervalMs)
  timer.unref()
  return () => { stopped = true; if (timer !== null) clearTimeout(timer) }
}
