// The async, batched, ordered writer between the workers and the store: tile upserts (the tiled pipeline) or event
// appends (untiled); which store call a batch becomes is the `write` function it is given.
//
//   enqueue(batch) ──► queue ──► up to `maxInFlight` store requests ──► acknowledged in order ──► onDurable(batch)
//
// * Never drops a tile. A failed or timed-out request is retried with exponential backoff until it succeeds;
//   meanwhile the queue fills and `backpressured` turns true, which makes the engine stop reading its source
//   (a KV outage slows the engine down, it does not lose data).
// * Keeps last-write-wins order: batches are handed to the store in sequence, and after a failure every request
//   from the failed one onward is re-issued in order, so an older version of a tile can never land after a newer.
// * Every batch carries whole tiles (upserts) or identified events (idempotent appends), so re-issuing one that had
//   in fact succeeded is harmless.
// Store contract this relies on: a store applies requests in the order they were issued (LMDB's single write
// queue and a single Redis connection both do), so a timed-out request that still lands does so before its retry.

import type { Fence, TileStore, WriteOutcome } from './store.ts'
import type { TilePuts } from './tile-puts.ts'

/** What the writer needs of a batch: how many puts it holds (queue accounting). */
export interface PutBatch { readonly count: number }

export interface WriteBatch<M, B extends PutBatch = TilePuts> {
  readonly puts: B
  readonly meta: M
  readonly fence?: Fence
}

/** Issues one batch to the store; resolves when the store acknowledged it. */
export type WriteFn<B extends PutBatch> = (batch: B, fence?: Fence) => Promise<WriteOutcome | void>

/** The tiled pipeline's write: upserts of whole tiles. */
export function writeTilesTo (store: TileStore, dataset: string, tileSizeMillis: number): WriteFn<TilePuts> {
  return (puts, fence) => store.writeTiles(dataset, tileSizeMillis, puts, fence)
}

export interface KvWriterOptions {
  /** Store requests in flight at once (Chronon's async capacity; default 10). */
  readonly maxInFlight: number
  /** A request not acknowledged within this many ms counts as failed and is retried (default 1000). */
  readonly timeoutMillis: number
  /** Above this many queued tile puts the writer reports backpressure. */
  readonly maxQueuedPuts: number
  readonly retryInitialMillis: number
  readonly retryMaxMillis: number
}

export const DEFAULT_WRITER: KvWriterOptions = {
  maxInFlight: 10,
  timeoutMillis: 1000,
  maxQueuedPuts: 250_000,
  retryInitialMillis: 50,
  retryMaxMillis: 5000
}

export interface KvWriterEvents<M, B extends PutBatch = TilePuts> {
  onDurable (batch: WriteBatch<M, B>): void
  onError (error: unknown, attempt: number, retryInMillis: number): void
  /** The store refused this batch's tiles of these partitions as stale (final: not retried). */
  onFenced? (partitions: readonly number[], batch: WriteBatch<M, B>): void
}

interface Slot<M, B extends PutBatch> { batch: WriteBatch<M, B>, state: 'queued' | 'inflight' | 'done' | 'failed' }

export class KvWriter<M, B extends PutBatch = TilePuts> {
  readonly #write: WriteFn<B>
  readonly #opts: KvWriterOptions
  readonly #events: KvWriterEvents<M, B>
  /** Batches not yet acknowledged, oldest first. */
  readonly #log: Slot<M, B>[] = []
  #next = 0 // index in #log of the next slot to issue
  #inFlight = 0
  #queuedPuts = 0
  #retrying = false
  #attempt = 0
  #waiters: (() => void)[] = []
  #drainWaiters: (() => void)[] = []
  #closed = false
  written = 0
  failures = 0

  constructor (write: WriteFn<B>, events: KvWriterEvents<M, B>, options: Partial<KvWriterOptions> = {}) {
    this.#write = write
    this.#events = events
    this.#opts = { ...DEFAULT_WRITER, ...options }
  }

  get backpressured (): boolean { return this.#queuedPuts > this.#opts.maxQueuedPuts }
  get queuedPuts (): number { return this.#queuedPuts }
  get inFlight (): number { return this.#inFlight }

  enqueue (puts: B, meta: M, fence?: Fence): void {
    if (this.#closed) throw new Error('writer is closed')
    this.#log.push({ batch: fence === undefined ? { puts, meta } : { puts, meta, fence }, state: 'queued' })
    this.#queuedPuts += puts.count
    this.#pump()
  }

  /** Resolves when the queue is below the backpressure limit. */
  async ready (): Promise<void> {
    while (this.backpressured) await new Promise<void>(resolve => this.#waiters.push(resolve))
  }

  /** Resolves when every enqueued batch is acknowledged. */
  async drain (): Promise<void> {
    while (this.#log.length > 0) await new Promise<void>(resolve => this.#drainWaiters.push(resolve))
  }

  async close (): Promise<void> {
    await this.drain()
    this.#closed = true
  }

  #pump (): void {
    if (this.#retrying) return
    while (this.#inFlight < this.#opts.maxInFlight && this.#next < this.#log.length) {
      const slot = this.#log[this.#next++]!
      this.#issue(slot)
    }
  }

  #issue (slot: Slot<M, B>): void {
    slot.state = 'inflight'
    this.#inFlight++
    const request = this.#write(slot.batch.puts, slot.batch.fence).then(outcome => {
      if (outcome !== undefined && outcome.fenced.length > 0) this.#events.onFenced?.(outcome.fenced, slot.batch)
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`store write not acknowledged within ${this.#opts.timeoutMillis} ms`)), this.#opts.timeoutMillis)
    })
    Promise.race([request, timeout]).then(
      () => { clearTimeout(timer); this.#settle(slot, null) },
      (e: unknown) => { clearTimeout(timer); this.#settle(slot, e ?? new Error('store write failed')) }
    )
    // A request that timed out may still fail later; nothing is waiting for it then.
    request.catch(() => {})
  }

  #settle (slot: Slot<M, B>, error: unknown): void {
    this.#inFlight--
    if (error === null) {
      slot.state = 'done'
    } else {
      slot.state = 'failed'
      this.failures++
      if (!this.#retrying) {
        this.#retrying = true
        const delay = Math.min(this.#opts.retryMaxMillis, this.#opts.retryInitialMillis * 2 ** this.#attempt)
        this.#attempt++
        this.#events.onError(error, this.#attempt, delay)
        setTimeout(() => this.#restartFromFailure(), delay).unref?.()
      }
    }
    this.#acknowledgePrefix()
    if (!this.#retrying) this.#pump()
  }

  /** Completes batches from the head of the log while they are done, in order. */
  #acknowledgePrefix (): void {
    let n = 0
    while (n < this.#log.length && this.#log[n]!.state === 'done') n++
    if (n === 0) return
    const done = this.#log.splice(0, n)
    this.#next -= n
    for (const s of done) {
      this.#queuedPuts -= s.batch.puts.count
      this.written += s.batch.puts.count
      this.#events.onDurable(s.batch)
    }
    if (!this.backpressured) this.#wake(this.#waiters)
    if (this.#log.length === 0) this.#wake(this.#drainWaiters)
  }

  /** After a failure: once nothing is in flight, re-issue everything from the first unacknowledged batch. */
  #restartFromFailure (): void {
    if (this.#inFlight > 0) {
      setTimeout(() => this.#restartFromFailure(), 10).unref?.()
      return
    }
    for (const s of this.#log) s.state = 'queued'
    this.#next = 0
    this.#retrying = false
    const before = this.failures
    this.#pump()
    // Reset the backoff once a retry round got through without new failures.
    setTimeout(() => { if (this.failures === before) this.#attempt = 0 }, this.#opts.timeoutMillis).unref?.()
  }

  #wake (list: (() => void)[]): void {
    const ws = list.splice(0, list.length)
    for (const w of ws) w()
  }
}
