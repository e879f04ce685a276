// Helpers both client implementations use, written once: broker lists, wrapping a library's error with what we were
// doing, promise plumbing, and header/value conversion.
import { TilekilnError } from '../errors.ts'
import type { KafkaHeaders } from './types.ts'

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
