// The async, batched, ordered writer between the workers and the store: tile upserts (the tiled pipeline) or event
// appends (untiled); which store call a batch becomes is the target it is given (writeTilesTo, appendEventsTo).
//
//   enqueue(batch, meta, fence?) ──► log ──► up to `maxInFlight` live store requests ──► acknowledged in order
//                                                                                       ──► onFenced? ──► onDurable
//
// * Never drops a write. A failed request is retried with exponential backoff until it succeeds; meanwhile the log
//   fills and `backpressured` turns true, which makes the engine stop reading its source (a KV outage slows the
//   engine down, it does not lose data).
// * Keeps last-write-wins order: batches are handed to the store in sequence, and after a failure every request
//   from the failed one onward is re-issued in order, so an older version of a tile can never land after a newer.
// * Never stacks an attempt on a live one. A request is live from its issue until the store settles it (resolves or
//   rejects) — however long that takes. A request that outlives its deadline is *slow*, not failed: it is counted
//   (`timeouts`), reported through onSlow (rate-limited), and, if the target can reset its connection (Redis),
//   the writer asks for that so the pending requests fail for real; the request itself is never issued again while
//   it is live. Re-issuing after a failure waits until no request is live at all. So a slow store sees at most
//   `maxInFlight` requests, and the writer's log, not the store's queue, absorbs the backlog: backpressure, never a
//   storm. (The version before this one counted a timed-out request as failed and re-issued it on top of the live
//   one; under load every round added a full copy of the backlog to LMDB's queue and a 1.5M-event run never ended.)
// * Deadlines follow the store: deadline = max(timeoutMillis, 4 × the time the store is expected to take for the
//   puts live ahead of the request and its own, at the throughput it showed lately), doubled for every consecutive
//   slow request. A store that takes 5 s for a 750,000-tile batch is not slow; one that answers nothing is.
// * A fatal store error (no space left, a key the store cannot hold, a read-only store: TilekilnError with code
//   TK_STORE_FULL or context.fatal) is not retried: the writer stops, calls onFatal, and every later enqueue and
//   every waiter of ready()/drain() gets that error.
// * Stopping: once stop() was called (or the `stopSignal` aborted), a writer whose store acknowledges nothing for
//   `stopGraceMillis` gives up the same way, with an error that says how many writes were not acknowledged — so a
//   SIGTERM ends a run stalled on an unreachable store in bounded time.
// * Fencing: a batch may carry a Fence (the epochs of its partitions). A store outcome listing fenced partitions
//   is final (their tiles are stale and can never be written): the batch is acknowledged with onFenced(partitions,
//   batch) just before its onDurable, never retried for that.
// * Every batch carries whole tiles (upserts) or identified events (idempotent appends), so re-issuing one that had
//   in fact succeeded is harmless.
// * Coalescing: batches that queued up while `maxInFlight` requests were live go out together,
//   as one request of at most `maxCoalescedPuts` puts, when the target can join them (tiles: each tile's last
//   version only, see tile-coalesce.ts; fences permitting). They are acknowledged together, retried together, and
//   each still gets its own onDurable in order: the store does less work exactly when it is the bottleneck.
// Store contract this relies on: a store applies requests in the order they were issued (LMDB's single write
// queue, a single Redis connection, one connection per Redis Cluster master for the keys it holds), so a request
// issued later is applied later.

import { isTilekilnError, TilekilnError } from '../errors.ts'
import type { EventPuts } from './event-puts.ts'
import type { Fence, TileStore, WriteOutcome } from './store.ts'
import { coalesceTilePuts, mergeFences } from './tile-coalesce.ts'
import type { TilePuts } from './tile-puts.ts'

/** What the writer needs of a batch: how many puts it holds (queue accounting). */
export interface PutBatch { readonly count: number }

export interface WriteBatch<M, B extends PutBatch = TilePuts> {
  readonly puts: B
  readonly meta: M
  readonly fence: Fence | undefined
}

/** Issues one batch to the store; resolves when the store acknowledged it. */
export type WriteFn<B extends PutBatch> = (batch: B, fence?: Fence) => Promise<WriteOutcome | void>

/** Where batches go: the write, and optionally a way to make requests hanging on a dead connection fail. */
export interface WriteTarget<B extends PutBatch> {
  readonly write: WriteFn<B>
  readonly reset?: () => void
  /**
   * Joins consecutive batches into one that leaves the store as writing them in order would (absent: every batch is
   * its own request). `fence` says under which one fence the joined puts can go, or null when they cannot be joined.
   */
  readonly coalesce?: {
    readonly join: (batches: readonly B[]) => B
    readonly fence: (a: Fence | undefined, aBatches: readonly B[], b: Fence | undefined, bBatch: B) => Fence | undefined | null
  }
}

/** The tiled pipeline's target: upserts of whole tiles, fenced when the batch carries a fence. */
export function writeTilesTo (store: TileStore, dataset: string, tileSizeMillis: number): WriteTarget<TilePuts> {
  return {
    // A batch of rolled-up tiles says its own tile size (worker/rollups.ts); only batches of one size are joined.
    write: async (puts, fence) => await store.writeTiles(dataset, puts.tileSizeMillis ?? tileSizeMillis, puts, fence),
    reset: store.resetConnection === undefined ? undefined : () => store.resetConnection!(),
    coalesce: { join: coalesceTilePuts, fence: mergeFences }
  }
}

/** The untiled pipeline's target: idempotent event appends (never fenced). */
export function appendEventsTo (store: TileStore, dataset: string): WriteTarget<EventPuts> {
  return {
    write: async events => { await store.appendEvents(dataset, events) },
    reset: store.resetConnection === undefined ? undefined : () => store.resetConnection!()
  }
}

export interface KvWriterOptions {
  /** Store requests live at once (Chronon's async capacity; default 10). */
  readonly maxInFlight: number
  /** Least time before a live request counts as slow (default 1000 ms); the deadline grows with observed latency. */
  readonly timeoutMillis: number
  /** Above this many unacknowledged puts the writer reports backpressure. */
  readonly maxQueuedPuts: number
  readonly retryInitialMillis: number
  readonly retryMaxMillis: number
  /** After stop(): give up once the store acknowledged nothing for this long (default 10 s). */
  readonly stopGraceMillis: number
  /** onSlow at most once per this many ms (default 10 s). */
  readonly slowReportMillis: number
  /** Most puts of batches joined into one request when they queued behind live ones (0: never join). */
  readonly maxCoalescedPuts: number
  /** Aborting it calls stop(). */
  readonly stopSignal?: AbortSignal
}

export const DEFAULT_WRITER: KvWriterOptions = {
  maxInFlight: 10,
  timeoutMillis: 1000,
  maxQueuedPuts: 250_000,
  retryInitialMillis: 50,
  retryMaxMillis: 5000,
  stopGraceMillis: 10_000,
  slowReportMillis: 10_000,
  maxCoalescedPuts: 100_000
}

/** What onSlow reports: the slow requests since the last report, and the oldest live one. */
export interface SlowReport {
  /** Requests that outlived their deadline since the last report (the first report: since the start). */
  readonly slowSinceLastReport: number
  /** Every slow request so far. */
  readonly timeouts: number
  /** How long the oldest live request has waited, and how many puts it holds. */
  readonly oldestWaitingMillis: number
  readonly oldestPuts: number
  /** Its deadline when it turned slow. */
  readonly deadlineMillis: number
  readonly liveRequests: number
  readonly queuedPuts: number
  /** Whether the writer asked the target to reset its connection. */
  readonly reset: boolean
}

export interface KvWriterEvents<M, B extends PutBatch = TilePuts> {
  /** Every batch, once acknowledged, in enqueue order. */
  onDurable (batch: WriteBatch<M, B>): void
  /** A failed request; it is re-issued (with everything after it) in `retryInMillis`. */
  onError (error: unknown, attempt: number, retryInMillis: number): void
  /** A request outlived its deadline (rate-limited: at most once per `slowReportMillis`). */
  onSlow? (report: SlowReport): void
  /** The store refused the tiles of these partitions as stale; called just before onDurable of the same batch. */
  onFenced? (partitions: readonly number[], batch: WriteBatch<M, B>): void
  /** The writer stopped for good (fatal store error, or stop() on a stalled store). */
  onFatal? (error: TilekilnError): void
}

interface Slot<M, B extends PutBatch> {
  readonly batch: WriteBatch<M, B>
  state: 'queued' | 'live' | 'done' | 'failed'
  /** The slots issued in one request with this one (itself included; the first holds the request's timer). */
  group: Slot<M, B>[]
  /** Increments per issue; a settlement of an older attempt of a re-issued slot is recognised and ignored. */
  attempt: number
  issuedAt: number
  deadline: number
  slow: boolean
  timer: NodeJS.Timeout | undefined
  fenced: number[] | null
}

interface Waiter { resolve: () => void, reject: (e: unknown) => void }

/** Slow requests in a row double the deadline, up to 2^this. */
const MAX_STRIKES = 6
const DEADLINE_FACTOR = 4
const RATE_SAMPLE_MILLIS = 250

export function isFatalStoreError (e: unknown): e is TilekilnError {
  return isTilekilnError(e) && (e.code === 'TK_STORE_FULL' || e.context.fatal === true)
}

export class KvWriter<M, B extends PutBatch = TilePuts> {
  readonly #target: WriteTarget<B>
  readonly #opts: KvWriterOptions
  readonly #events: KvWriterEvents<M, B>
  /** Batches not yet acknowledged, oldest first. */
  readonly #log: Slot<M, B>[] = []
  #next = 0 // index in #log of the next slot to issue
  #live = 0
  #queuedPuts = 0
  #retrying = false
  #retryAt = 0
  #retryTimer: NodeJS.Timeout | undefined
  #attempt = 0
  #waiters: Waiter[] = []
  #drainWaiters: Waiter[] = []
  #closed = false
  #failure: TilekilnError | null = null
  // Latency model: puts per ms of busy time (some request live) the store applied lately (EWMA; 0 = unknown),
  // sampled every RATE_SAMPLE_MILLIS of busy time — a store acknowledges several requests at once (one LMDB commit
  // holds many), so a single request's latency says little.
  #rate = 0
  #busyMillis = 0
  #busyAt = 0
  #sampleBusy = 0
  #samplePuts = 0
  #strikes = 0
  #lastResetAt = -Infinity
  #lastReportAt = -Infinity
  #slowSinceReport = 0
  #stopping = false
  // Silence after a stop is counted in check intervals, each at most two intervals long: a process that did not run
  // (a loaded machine, a long GC, SIGSTOP) has not heard from the store either, and its acknowledgements wait in the
  // event loop behind the check. Seen in CI: a 30 ms store's request waited 0.3 s and the writer gave up on it.
  // An acknowledgement starts the count again.
  #silentMillis = 0
  /** Since when the silence is not counted yet: the stop, the last acknowledgement or the last check. */
  #silentSince = 0
  #checkEvery = 0
  #stopTimer: NodeJS.Timeout | undefined
  #lastError: unknown = null
  written = 0
  failures = 0
  /** Requests that outlived their deadline. */
  timeouts = 0
  /** Connection resets the writer asked for. */
  resets = 0
  /** Puts refused as stale (their partition's epoch was no longer current). */
  fencedPuts = 0

  constructor (target: WriteFn<B> | WriteTarget<B>, events: KvWriterEvents<M, B>, options: Partial<KvWriterOptions> = {}) {
    this.#target = typeof target === 'function' ? { write: target } : target
    this.#events = events
    this.#opts = { ...DEFAULT_WRITER, ...options }
    const signal = this.#opts.stopSignal
    if (signal !== undefined) {
      if (signal.aborted) this.stop()
      else signal.addEventListener('abort', () => this.stop(), { once: true })
    }
  }

  get backpressured (): boolean { return this.#queuedPuts > this.#opts.maxQueuedPuts }
  get queuedPuts (): number { return this.#queuedPuts }
  get inFlight (): number { return this.#live }
  /** The fatal error the writer stopped with, or null. */
  get failure (): TilekilnError | null { return this.#failure }
  /** The deadline a request of `puts` issued now would get (ms). */
  deadlineFor (puts: number): number { return this.#deadline(this.#livePuts() + puts) }

  enqueue (puts: B, meta: M, fence?: Fence): void {
    if (this.#failure !== null) throw this.#failure
    if (this.#closed) throw new TilekilnError('TK_INTERNAL', 'the store writer is closed')
    const slot: Slot<M, B> = { batch: { puts, meta, fence }, state: 'queued', group: [], attempt: 0, issuedAt: 0, deadline: 0, slow: false, timer: undefined, fenced: null }
    slot.group = [slot]
    this.#log.push(slot)
    this.#queuedPuts += puts.count
    this.#pump()
  }

  /** Resolves when the log is below the backpressure limit; rejects once the writer stopped for good. */
  async ready (): Promise<void> {
    while (this.backpressured) {
      if (this.#failure !== null) throw this.#failure
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    }
  }

  /** Resolves when every enqueued batch is acknowledged; rejects once the writer stopped for good. */
  async drain (): Promise<void> {
    while (this.#log.length > 0) {
      if (this.#failure !== null) throw this.#failure
      await new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }))
    }
  }

  async close (): Promise<void> {
    try {
      await this.drain()
    } finally {
      this.#closed = true
      clearInterval(this.#stopTimer)
    }
  }

  /**
   * The run is stopping: keep writing, but if the store acknowledges nothing for `stopGraceMillis` while writes are
   * outstanding, give up (drain() and ready() reject with an error that says what was not written).
   */
  stop (): void {
    if (this.#stopping) return
    this.#stopping = true
    this.#silentSince = Date.now()
    this.#silentMillis = 0
    const every = this.#checkEvery = Math.max(10, Math.min(1000, this.#opts.stopGraceMillis / 4))
    this.#stopTimer = setInterval(() => this.#checkStalled(), every)
    this.#stopTimer.unref?.()
  }

  #checkStalled (): void {
    if (this.#failure !== null || this.#log.length === 0) return
    const now = Date.now()
    this.#silentMillis += Math.min(Math.max(0, now - this.#silentSince), 2 * this.#checkEvery)
    this.#silentSince = now
    if (this.#silentMillis < this.#opts.stopGraceMillis) return
    const puts = this.#queuedPuts
    const oldest = this.#log[0]!
    const waited = oldest.state === 'live' ? ` (the oldest request has waited ${((now - oldest.issuedAt) / 1000).toFixed(1)} s)` : ''
    const last = this.#lastError === null ? '' : `; last store error: ${errorText(this.#lastError)}`
    this.#abandon(new TilekilnError('TK_STORE',
      `stopped with ${puts.toLocaleString('en-US')} write(s) in ${this.#log.length} batch(es) not acknowledged by the store: ` +
      `it acknowledged nothing for ${(this.#opts.stopGraceMillis / 1000).toFixed(1)} s after the stop${waited}${last}. ` +
      'Those writes may be missing from the store; with checkpoints, a restart from the last one writes them again',
      { unwrittenPuts: puts, unwrittenBatches: this.#log.length, timeouts: this.timeouts }))
  }

  #pump (): void {
    if (this.#retrying || this.#failure !== null) return
    // Batches queue here only while `maxInFlight` requests are live: the store is behind. They go out joined, so the
    // store's work per request (an LMDB commit and its flush, a Redis round trip) is spent on all of them at once.
    // Joining costs a hash and a copy per put (~0.2 µs) and saves the repeated versions of a tile. Joining only under
    // backpressure (250,000 puts queued) came seconds too late: with small batches (a paced source, 2 ms linger) and
    // a flush per commit, 10 requests in flight could not keep up with 99,000 events/s, and records waited 1.5–2.9 s.
    const coalesce = this.#opts.maxCoalescedPuts > 0 ? this.#target.coalesce : undefined
    while (this.#live < this.#opts.maxInFlight && this.#next < this.#log.length) {
      const first = this.#log[this.#next++]!
      const group = [first]
      let fence = first.batch.fence
      let puts = first.batch.puts.count
      // Batches that queued while the store was busy join the first one, as far as their fences let them.
      while (coalesce !== undefined && this.#next < this.#log.length) {
        const next = this.#log[this.#next]!
        if (puts + next.batch.puts.count > this.#opts.maxCoalescedPuts) break
        const joined = coalesce.fence(fence, group.map(s => s.batch.puts), next.batch.fence, next.batch.puts)
        if (joined === null) break
        fence = joined
        puts += next.batch.puts.count
        group.push(next)
        this.#next++
      }
      this.#issue(group, group.length === 1 ? first.batch.puts : coalesce!.join(group.map(s => s.batch.puts)), fence)
    }
  }

  /** Accounts busy time (some request live) up to `now`; call before #live changes. */
  #busy (now: number): void {
    if (this.#live > 0) this.#busyMillis += now - this.#busyAt
    this.#busyAt = now
  }

  #livePuts (): number {
    let n = 0
    for (let i = 0; i < this.#next; i++) if (this.#log[i]!.state === 'live') n += this.#log[i]!.batch.puts.count
    return n
  }

  /** The deadline of a request that has `puts` puts to wait for (its own and those live ahead of it). */
  #deadline (puts: number): number {
    const expected = this.#rate > 0 ? puts / this.#rate : 0
    return Math.max(this.#opts.timeoutMillis, DEADLINE_FACTOR * expected) * 2 ** this.#strikes
  }

  /** One request for the slots of `group` (consecutive in the log), writing `puts` under `fence`. */
  #issue (group: Slot<M, B>[], puts: B, fence: Fence | undefined): void {
    const ahead = this.#livePuts()
    const slot = group[0]!
    const now = Date.now()
    const deadline = this.#deadline(ahead + puts.count)
    for (const s of group) {
      s.state = 'live'
      s.attempt++
      s.slow = false
      s.issuedAt = now
      s.deadline = deadline
      s.group = group
    }
    this.#busy(now)
    this.#live++
    const attempt = slot.attempt
    let request: Promise<WriteOutcome | void>
    try {
      request = this.#target.write(puts, fence)
    } catch (e) {
      request = Promise.reject(e)
    }
    slot.timer = setTimeout(() => this.#deadlinePassed(slot, attempt), slot.deadline)
    request.then(
      outcome => this.#settle(slot, attempt, null, outcome),
      (e: unknown) => this.#settle(slot, attempt, e ?? new Error('store write failed'), undefined)
    )
  }

  /**
   * A request's deadline timer fired. The verdict waits for this turn of the event loop to read the I/O that came:
   * when the process itself did not run for a while (a loaded machine, a long GC), the timers run first in the next
   * turn, before the store's answer — which came meanwhile — is read (LMDB's write thread, a Redis socket: the poll
   * phase); judged at once, an answered request was counted slow, reported, and a Redis connection reset under it,
   * failing the requests it had just answered. setImmediate runs after the poll phase.
   */
  #deadlinePassed (slot: Slot<M, B>, attempt: number): void {
    setImmediate(() => this.#onDeadline(slot, attempt))
  }

  /** A live request outlived its deadline: a slow store, not a failure. It stays live; nothing is re-issued. */
  #onDeadline (slot: Slot<M, B>, attempt: number): void {
    if (slot.state !== 'live' || slot.attempt !== attempt || this.#failure !== null) return
    const now = Date.now()
    const waited = now - slot.issuedAt
    if (!slot.slow) {
      slot.slow = true
      this.timeouts++
      this.#slowSinceReport++
      this.#strikes = Math.min(MAX_STRIKES, this.#strikes + 1)
    }
    // Ask for a reset at most once per deadline, so a reset cannot become a storm of its own.
    let reset = false
    if (this.#target.reset !== undefined && now - this.#lastResetAt >= slot.deadline) {
      this.#lastResetAt = now
      this.resets++
      reset = true
      try { this.#target.reset() } catch {}
    }
    if (this.#events.onSlow !== undefined && now - this.#lastReportAt >= this.#opts.slowReportMillis) {
      this.#lastReportAt = now
      const report: SlowReport = {
        slowSinceLastReport: this.#slowSinceReport,
        timeouts: this.timeouts,
        oldestWaitingMillis: waited,
        oldestPuts: slot.group.reduce((n, s) => n + s.batch.puts.count, 0),
        deadlineMillis: slot.deadline,
        liveRequests: this.#live,
        queuedPuts: this.#queuedPuts,
        reset
      }
      this.#slowSinceReport = 0
      this.#events.onSlow(report)
    }
    // Still waiting: look again later (a longer wait each time), to report and reset while it lasts.
    slot.timer = setTimeout(() => this.#deadlinePassed(slot, attempt), slot.deadline)
  }

  #settle (slot: Slot<M, B>, attempt: number, error: unknown, outcome: WriteOutcome | void): void {
    // An attempt of a slot that was since acknowledged or abandoned: nothing waits for it.
    if (slot.attempt !== attempt || slot.state !== 'live') return
    clearTimeout(slot.timer)
    slot.timer = undefined
    const now = Date.now()
    this.#busy(now)
    this.#live--
    if (this.#failure !== null) return
    if (error === null) {
      // Only acknowledgements are progress: a store that fails at once (Redis down) is as stalled as a silent one.
      this.#silentSince = now
      this.#silentMillis = 0
      const fenced = outcome?.fenced
      for (const s of slot.group) {
        s.state = 'done'
        this.#samplePuts += s.batch.puts.count
        // A joined request's fenced partitions concern only the batches fenced for them.
        const mine = fenced === undefined || s.group.length === 1 ? fenced : fenced.filter(p => s.batch.fence?.epochs.has(p) === true)
        if (mine !== undefined && mine.length > 0) s.fenced = s.fenced === null ? [...mine] : union(s.fenced, mine)
      }
      const busy = this.#busyMillis - this.#sampleBusy
      if (busy >= RATE_SAMPLE_MILLIS) {
        const sample = this.#samplePuts / busy
        this.#rate = this.#rate === 0 ? sample : 0.7 * this.#rate + 0.3 * sample
        this.#sampleBusy = this.#busyMillis
        this.#samplePuts = 0
      }
      if (!slot.slow) this.#strikes = 0
    } else {
      for (const s of slot.group) s.state = 'failed'
      this.failures++
      this.#lastError = error
      if (isFatalStoreError(error)) {
        this.#abandon(error)
        return
      }
      if (!this.#retrying) {
        this.#retrying = true
        const delay = Math.min(this.#opts.retryMaxMillis, this.#opts.retryInitialMillis * 2 ** this.#attempt)
        this.#attempt++
        this.#retryAt = now + delay
        this.#events.onError(error, this.#attempt, delay)
      }
    }
    this.#acknowledgePrefix()
    if (this.#retrying) this.#maybeRestart()
    else this.#pump()
  }

  /** Completes batches from the head of the log while they are done, in order. */
  #acknowledgePrefix (): void {
    let n = 0
    while (n < this.#log.length && this.#log[n]!.state === 'done') n++
    if (n === 0) return
    const done = this.#log.splice(0, n)
    this.#next -= n
    // The head moved: whatever failed before was written since, so the next failure starts the backoff afresh.
    if (!this.#retrying) this.#attempt = 0
    for (const s of done) {
      this.#queuedPuts -= s.batch.puts.count
      this.written += s.batch.puts.count
      if (s.fenced !== null) {
        const puts = s.batch.puts as unknown as { partition?: (i: number) => number }
        if (typeof puts.partition === 'function') {
          for (let i = 0; i < s.batch.puts.count; i++) if (s.fenced.includes(puts.partition(i))) this.fencedPuts++
        }
        this.#events.onFenced?.(s.fenced, s.batch)
      }
      this.#events.onDurable(s.batch)
    }
    if (!this.backpressured) this.#wake(this.#waiters)
    if (this.#log.length === 0) this.#wake(this.#drainWaiters)
  }

  /** After a failure: once no request is live and the backoff passed, re-issue everything from the first unacknowledged batch. */
  #maybeRestart (): void {
    if (this.#live > 0 || this.#retryTimer !== undefined || this.#failure !== null) return
    const delay = Math.max(0, this.#retryAt - Date.now())
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (this.#failure !== null) return
      for (const s of this.#log) { s.state = 'queued'; s.group = [s] }
      this.#next = 0
      this.#retrying = false
      this.#pump()
    }, delay)
  }

  /** Stops for good: nothing more is issued, every waiter and later enqueue gets `error`. */
  #abandon (error: TilekilnError): void {
    if (this.#failure !== null) return
    this.#failure = error
    clearTimeout(this.#retryTimer)
    clearInterval(this.#stopTimer)
    for (const s of this.#log) clearTimeout(s.timer)
    const ws = [...this.#waiters.splice(0), ...this.#drainWaiters.splice(0)]
    for (const w of ws) w.reject(error)
    this.#events.onFatal?.(error)
  }

  #wake (list: Waiter[]): void {
    const ws = list.splice(0, list.length)
    for (const w of ws) w.resolve()
  }
}

function union (a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y)
}

function errorText (e: unknown): string {
  if (isTilekilnError(e)) return e.message
  return e instanceof Error ? e.message : String(e)
}
