// The tiled pipeline, main-thread side (DESIGN §1):
//
//   source ──push──► key router ──► worker ring slots ──task──► workers (decode, eval, tile, aggregate, encode)
//                                                                   │ tiles (transferred) + max event times
//   store ◄── KV writer (ordered, bounded, retrying) ◄─────────────┘
//
// The main thread owns: routing, watermarks (per partition, from the max event times workers report), ticks
// (closing tiles and firing buffered triggers when no records flow), dead letters, metrics, and back-pressure
// (no free slot, or the writer is over its limit → the source awaits).
//
// Untiled (`untiled: true`, §4.1): the same graph, but workers return one event put per row instead of tiles and
// the writer appends them; checkpoints then hold positions only (workers have no state), and the store's event
// identities make the replay after a restore idempotent.

import { type Checkpoint, CheckpointStore, type Shard } from '../checkpoint/checkpoint.ts'
import { planFingerprint, reshard } from '../checkpoint/restore.ts'
import { maxKeyBytesOf } from '../codec/key.ts'
import type { InputFormat } from '../codec/record.ts'
import { bindGroupBy, type BoundGroupBy } from '../config/bind.ts'
import { compilePlan, type Plan, type PlanOptions } from '../config/plan.ts'
import { describeError, TilekilnError } from '../errors.ts'
import { faultPoint } from '../faults.ts'
import { queryCompiler } from '../expr/index.ts'
import { M, Metrics } from '../metrics/metrics.ts'
import { hashKey } from '../route/hash.ts'
import { createKeyRouter, type KeyRouter } from '../route/key-router.ts'
import { DEFAULT_RING, type RingGeometry } from '../route/ring.ts'
import { EventPuts } from '../sink/event-puts.ts'
import { KvWriter, type KvWriterOptions, type PutBatch, writeTilesTo } from '../sink/kv-writer.ts'
import type { TileStore } from '../sink/store.ts'
import { TilePuts } from '../sink/tile-puts.ts'
import type { Positions, RecordPusher, Source } from '../source/source.ts'
import { DEFAULT_WATERMARKS, type WatermarkOptions, WatermarkTracker } from '../window/watermark.ts'
import type { TaskResult, WorkerSnapshot } from '../worker/protocol.ts'
import type { Trigger } from '../worker/tile-state.ts'
import { type DeadLetterSink, RateLimitedLog } from './dead-letter.ts'
import { type Dispatched, WorkerPool } from './worker-pool.ts'

export interface EngineOptions {
  readonly groupBy: unknown
  readonly planOptions?: PlanOptions
  readonly source: Source
  readonly store: TileStore
  readonly deadLetters: DeadLetterSink
  readonly workers?: number
  readonly trigger?: Trigger
  readonly allowedLatenessMillis?: number
  readonly watermarks?: Partial<WatermarkOptions>
  readonly writer?: Partial<KvWriterOptions>
  /** A partially filled slot is dispatched after this long (ms) — the batching/latency trade-off. */
  readonly lingerMillis?: number
  readonly ring?: Partial<RingGeometry>
  readonly evaluator?: 'spark' | 'column-refs'
  /** Called about every `progressMillis` with a snapshot (the CLI prints it). */
  readonly onProgress?: (p: Progress) => void
  readonly progressMillis?: number
  readonly log?: (line: string) => void
  /** Consistent checkpoints every `intervalMillis`, and restore from the latest one at start. */
  readonly checkpoints?: { readonly store: CheckpointStore, readonly intervalMillis: number }
  /** The untiled pipeline: one stored event per evaluated row instead of tiles (§4.1). */
  readonly untiled?: boolean
  /**
   * Longest entity key the store takes (default: the store's `maxKeyBytes`; until the stores state it, 1,900 for the
   * embedded store and 65,535 for others: codec/key.ts maxKeyBytesOf).
   */
  readonly maxKeyBytes?: number
}

export interface Progress {
  readonly elapsedMillis: number
  readonly records: number
  /** Raw record bytes read from the source. */
  readonly bytesIn: number
  readonly rows: number
  readonly eventsPerSecond: number
  readonly tilesWritten: number
  readonly deadLetters: number
  readonly lateEvents: number
  readonly watermark: number
  /** Records accepted but whose tiles are not yet acknowledged by the store. */
  readonly lagRecords: number
  /** now − the largest event time seen, when event time is being observed. */
  readonly eventTimeLagMillis: number
  readonly liveKeys: number
  readonly liveEntries: number
  readonly stateBytes: number
  readonly queuedPuts: number
}

export interface RunSummary extends Progress {
  readonly latency: ReturnType<Metrics['summary']>
  /** Sequence number of the checkpoint the run started from, if any. */
  readonly restoredFrom: number | null
  readonly checkpointsTaken: number
}

interface BatchMeta { readonly records: number, readonly firstAt: number }

/** How much of a record too large for a ring slot its dead letter keeps (a dead-letter topic takes ~1 MB messages). */
const OVERSIZED_KEPT_BYTES = 64 * 1024

/** Least time between two watermark-only ticks to an idle worker (each costs a task round trip). */
const TICK_MILLIS = 50

export class Engine {
  readonly plan: Plan
  readonly bound: BoundGroupBy
  readonly metrics: Metrics
  readonly #o: EngineOptions
  readonly #source: Source
  readonly #workers: number
  readonly #log: (line: string) => void
  readonly #dlqLog: RateLimitedLog
  readonly #tracker: WatermarkTracker
  readonly #router: KeyRouter
  readonly #abort = new AbortController()
  #pool!: WorkerPool
  #writer!: KvWriter<BatchMeta, PutBatch>
  #failure: unknown = null
  #finalWatermark = false
  #records = 0
  #bytesIn = 0
  #rowsDone = 0
  #acked = 0
  #maxEventTime = -Infinity
  #lastSentWatermark: number[] = []
  #lastTickAt: number[] = []
  #nextTimer: number[] = []
  #workerStats: { liveKeys: number, liveEntries: number, stateBytes: number }[] = []
  #now = Date.now()
  #lastPartition = -1
  #lastTouch = 0
  /** Next position per partition, as far as records were handed to workers. */
  readonly #positions = new Map<number, number>()
  /** While a checkpoint is being taken, new records wait on this. */
  #gate: Promise<void> | null = null
  /** Records partly copied into slots, waiting for a free slot. */
  #appending = 0
  readonly #appendWaiters: (() => void)[] = []
  /** The checkpoint being taken, if any (one at a time). */
  #checkpointing: Promise<void> | null = null
  #checkpointsTaken = 0
  /** Records appended when the last checkpoint was taken: an unchanged count means nothing to save. */
  #checkpointedRecords = 0
  #restoredFrom: number | null = null
  /** Data bytes of one ring slot: the largest record a worker can be handed. */
  #slotDataBytes = Infinity

  constructor (o: EngineOptions) {
    this.#o = o
    this.#source = o.source
    this.#log = o.log ?? (line => process.stderr.write(line + '\n'))
    this.#dlqLog = new RateLimitedLog(this.#log)
    this.plan = compilePlan(o.groupBy, o.planOptions)
    this.bound = bindGroupBy(this.plan, o.source.format.schema, queryCompiler(o.evaluator ?? 'spark'))
    this.metrics = new Metrics(this.plan.name)
    this.#workers = Math.max(1, Math.min(31, o.workers ?? 1))
    this.#tracker = new WatermarkTracker({ ...DEFAULT_WATERMARKS, ...o.watermarks })
    this.#router = createKeyRouter(this.bound, o.source.format, this.#workers)
  }

  /** Stops a running engine: the source stops reading and everything in flight is written. */
  stop (): void {
    this.#abort.abort()
  }

  async run (): Promise<RunSummary> {
    const o = this.#o
    const started = Date.now()
    const geometry: RingGeometry = { ...DEFAULT_RING, ...o.ring }
    this.#slotDataBytes = geometry.dataBytes
    const untiled = o.untiled === true
    await o.store.putMetadata(this.plan.name, JSON.stringify(untiled ? { ...this.bound.serving, untiled } : this.bound.serving))
    const dataset = this.plan.streamingDataset
    const write = untiled
      ? (b: PutBatch) => o.store.appendEvents(dataset, b as EventPuts)
      : writeTilesTo(o.store, dataset, this.plan.tileSizeMillis) as (b: PutBatch) => Promise<void>
    this.#writer = new KvWriter<BatchMeta, PutBatch>(write, {
      onDurable: b => this.#durable(b.meta, b.puts.count),
      onError: (e, attempt, delay) => {
        this.metrics.inc(M.kvErrors)
        this.#log(`tilekiln: store write failed (attempt ${attempt}, retrying in ${delay} ms): ${describeError(e)} [groupBy=${this.plan.name}, store=${o.store.description}]`)
      }
    }, o.writer)
    this.#pool = new WorkerPool({
      groupBy: o.groupBy,
      planOptions: o.planOptions ?? {},
      format: this.#source.format as InputFormat,
      allowedLatenessMillis: o.allowedLatenessMillis ?? 0,
      trigger: o.trigger ?? { kind: 'always' },
      evaluator: o.evaluator ?? 'spark',
      ownershipCheck: this.bound.query.multiRow && this.#workers > 1,
      untiled,
      // Keys the store cannot take are dead-lettered by the workers, before they reach the writer (issue 12).
      maxKeyBytes: o.maxKeyBytes ?? maxKeyBytesOf(o.store)
    }, this.#workers, geometry, (d, r) => this.#onResult(d, r), e => this.#fail(e))
    for (let w = 0; w < this.#workers; w++) {
      this.#lastSentWatermark.push(-Infinity)
      this.#lastTickAt.push(0)
      this.#nextTimer.push(Infinity)
      this.#workerStats.push({ liveKeys: 0, liveEntries: 0, stateBytes: 0 })
    }
    for (const p of this.#source.partitions) this.#tracker.register(p, Date.now())

    const linger = o.lingerMillis ?? 5
    let clock: NodeJS.Timeout | undefined
    let progress: NodeJS.Timeout | undefined
    let checkpointTimer: NodeJS.Timeout | undefined
    try {
      const from = await this.#restore()
      clock = setInterval(() => this.#onClock(linger), Math.max(1, Math.min(linger, 20)))
      if (o.onProgress !== undefined) progress = setInterval(() => o.onProgress!(this.#progress(started)), o.progressMillis ?? 1000)
      if (o.checkpoints !== undefined) {
        checkpointTimer = setInterval(() => { this.#checkpoint().catch(e => this.#fail(e)) }, o.checkpoints.intervalMillis)
      }
      await this.#source.run(this.#pusher(), this.#abort.signal, from)
      // A periodic checkpoint still under way owns the workers until it is done: closing tiles behind its back
      // would put their final writes outside the cut it snapshots.
      await this.#checkpointing
      this.#check()
      await this.#quiesce()
      if (this.#source.bounded && !this.#abort.signal.aborted) {
        // End of a bounded input: event time is over, every tile closes and is written complete.
        this.#finalWatermark = true
        this.#tracker.advanceTo(Infinity)
      }
      // Close whatever the watermark has passed, so the store's final state does not depend on tick timing.
      const wm = this.#watermark(Date.now())
      for (let w = 0; w < this.#workers; w++) this.#pool.tick(w, wm, Date.now())
      await this.#pool.idle()
      await this.#writer.drain()
      await o.store.flushed()
      this.#check()
      if (o.checkpoints !== undefined) {
        clearInterval(checkpointTimer)
        await this.#checkpointing
        await this.#checkpoint(true)
      }
    } finally {
      clearInterval(clock)
      clearInterval(progress)
      clearInterval(checkpointTimer)
      this.#dlqLog.flush()
      await this.#pool.close()
      await this.#source.close?.()
    }
    return { ...this.#progress(started), latency: this.metrics.summary(M.latency), restoredFrom: this.#restoredFrom, checkpointsTaken: this.#checkpointsTaken }
  }

  // ---- checkpoints -------------------------------------------------------------------------------------------

  /** Everything handed to workers is folded in, written and flushed. */
  async #quiesce (): Promise<void> {
    await this.#flushAll()
    await this.#pool.idle()
    await this.#writer.drain()
    await this.#o.store.flushed()
  }

  /**
   * Takes a consistent cut: stops records at the gate, drains everything in flight, snapshots every worker, writes
   * the checkpoint durably, then lets the source commit its positions and resume.
   */
  #checkpoint (final = false): Promise<void> {
    if (this.#checkpointing !== null) return this.#checkpointing
    const taking = this.#takeCheckpoint(final).finally(() => { this.#checkpointing = null })
    this.#checkpointing = taking
    return taking
  }

  async #takeCheckpoint (final: boolean): Promise<void> {
    const cps = this.#o.checkpoints
    if (cps === undefined || this.#failure !== null) return
    // Nothing consumed since the last one: replaying from it reproduces this state exactly, so skip the work.
    if (this.#records === this.#checkpointedRecords) return
    let open!: () => void
    this.#gate = new Promise<void>(resolve => { open = resolve })
    try {
      // Records already on their way into slots finish first (they are part of this cut).
      while (this.#appending > 0) await new Promise<void>(resolve => this.#appendWaiters.push(resolve))
      await this.#quiesce()
      this.#check()
      // Dead letters of the records this cut covers must be durable before the cut is: nothing replays them after.
      if (!await this.#flushDeadLetters(final)) return
      const snaps = await Promise.all(Array.from({ length: this.#workers }, (_, w) => this.#pool.call<WorkerSnapshot>(w, { kind: 'snapshot' })))
      // The snapshot has every task before it folded in, so every write those tasks made must be durable before the
      // checkpoint is: a tile closed just before the snapshot is absent from it, and its final write exists only in
      // the writer's queue until then.
      await this.#writer.drain()
      await this.#o.store.flushed()
      this.#check()
      const positions = new Map(this.#positions)
      this.#checkpointedRecords = this.#records
      cps.store.write({
        groupBy: this.plan.name,
        fingerprint: planFingerprint(this.bound, this.#o.untiled === true),
        takenAt: Date.now(),
        source: this.#source.description,
        positions: [...positions],
        watermark: this.#tracker.value,
        maxEventTime: this.#tracker.snapshot(),
        workers: this.#workers
      }, snaps)
      this.#checkpointsTaken++
      this.metrics.inc('checkpoints')
      faultPoint('checkpoint-before-commit')
      await this.#commit(positions, final)
    } finally {
      this.#gate = null
      open()
    }
  }

  /**
   * Makes the dead letters sent so far durable. When their output is unreachable (a Kafka dead-letter topic during
   * a broker outage) the checkpoint is skipped — the next one tries again, and a crash meanwhile replays from the
   * previous one, dead letters included. The last checkpoint before exit retries for a while, then fails the run
   * rather than exit with dead letters unsent.
   */
  async #flushDeadLetters (final: boolean): Promise<boolean> {
    const sink = this.#o.deadLetters
    if (sink.flush === undefined) return true
    const failed = await this.#attempt(final, M.deadLetterFlushFailures, `writing dead letters to ${sink.description}`, () => sink.flush!())
    if (failed === null) return true
    if (final) {
      throw new TilekilnError('TK_DEAD_LETTER', `cannot write dead letters to ${sink.description}: ${describeError(failed.error)}; the last checkpoint does not cover them, so a restart reprocesses those records`, { groupBy: this.plan.name }, { cause: failed.error })
    }
    this.#log(`tilekiln: dead letters not written to ${sink.description} (checkpoint skipped; the next one retries): ${describeError(failed.error)} [group-by ${this.plan.name}]`)
    return false
  }

  /**
   * Commits the checkpoint's positions to the source (Kafka's group offsets). The durable checkpoint is what a
   * restart resumes from, so a failed commit (broker outage) costs only monitoring accuracy until the next
   * checkpoint commits newer positions: it is counted and logged, never fatal. The last commit before exit has no
   * next one, so it is retried for a while first.
   */
  async #commit (positions: Positions, final: boolean): Promise<void> {
    const failed = await this.#attempt(final, M.commitFailures, `committing the checkpoint's positions to ${this.#source.description}`, async () => { await this.#source.commit?.(positions) })
    if (failed === null) return
    this.#log(`tilekiln: could not commit the checkpoint's positions to ${this.#source.description} (${final ? 'giving up; the checkpoint still holds them' : 'the next checkpoint commits newer ones'}): ${describeError(failed.error)} [group-by ${this.plan.name}, positions ${[...positions].map(([p, n]) => `${p}:${n}`).join(',')}]`)
  }

  /**
   * Runs a checkpoint's follow-up step once, or — for the final checkpoint, which has no next one to make up for
   * it — up to 5 times with backoff (1, 2, 4, 8 s). Every failure is counted in `metric`. Returns null on success,
   * else the last failure.
   */
  async #attempt (final: boolean, metric: string, what: string, step: () => Promise<unknown>): Promise<{ error: unknown } | null> {
    const attempts = final ? 5 : 1
    for (let attempt = 1; ; attempt++) {
      try {
        await step()
        return null
      } catch (e) {
        this.metrics.inc(metric)
        if (attempt >= attempts) return { error: e }
        this.#log(`tilekiln: ${what} failed (attempt ${attempt} of ${attempts}, retrying): ${describeError(e)} [group-by ${this.plan.name}]`)
        await new Promise(resolve => setTimeout(resolve, 1000 * 2 ** (attempt - 1)))
      }
    }
  }

  /** Loads the latest checkpoint into the workers; returns the positions the source resumes from. */
  async #restore (): Promise<Positions | undefined> {
    const cps = this.#o.checkpoints
    if (cps === undefined) return undefined
    const cp: Checkpoint | null = cps.store.latest()
    if (cp === null) return undefined
    const h = cp.header
    if (h.groupBy !== this.plan.name || h.fingerprint !== planFingerprint(this.bound, this.#o.untiled === true)) {
      throw new TilekilnError('TK_CHECKPOINT', `the checkpoint in ${cps.store.dir} was taken for a different GroupBy, tile layout or mode (tiled/untiled) (${h.groupBy}); use another --checkpoint-dir or delete it to start over`, { groupBy: this.plan.name, checkpoint: cp.seq })
    }
    const shards: Shard[] = reshard(cp.shards, this.bound, this.#workers)
    const openTiles = shards.reduce((a, s) => a + new TilePuts(s.entries).count, 0)
    const now = Date.now()
    await Promise.all(shards.map((s, w) => this.#pool.call(w, { kind: 'restore', entries: s.entries, timers: s.timers, watermark: h.watermark, now }, [s.entries])))
    this.#tracker.restore(h.maxEventTime, h.watermark, now)
    for (let w = 0; w < this.#workers; w++) this.#lastSentWatermark[w] = h.watermark
    for (const [p, next] of h.positions) this.#positions.set(p, next)
    this.#restoredFrom = cp.seq
    this.#checkpointedRecords = 0
    this.#log(`tilekiln: restored checkpoint ${cp.seq} of ${new Date(h.takenAt).toISOString()} (${h.positions.length} partition position(s), ${openTiles} open tile(s))`)
    return new Map(h.positions)
  }

  // ---- pushing records ---------------------------------------------------------------------------------------

  #pusher (): RecordPusher {
    const workers = this.#workers
    return {
      push: (bytes, partition, position) => {
        if (this.#gate !== null) { const copy = Uint8Array.from(bytes); return this.#gate.then(() => this.#append(this.#router(copy), copy, partition, position)) }
        this.#touch(partition)
        return this.#append(this.#router(bytes), bytes, partition, position)
      },
      pushKeyed: (keyValues, bytes, partition, position) => {
        const mask = workers === 1 ? 1 : 1 << (hashKey(keyValues) % workers)
        if (this.#gate !== null) { const copy = Uint8Array.from(bytes); return this.#gate.then(() => this.#append(mask, copy, partition, position)) }
        this.#touch(partition)
        return this.#append(mask, bytes, partition, position)
      },
      flush: () => this.#flushAll(),
      reject: (bytes, partition, position, reason) => {
        this.#positions.set(partition, position + 1)
        this.#deadLetter({ index: -1, partition, position, code: 'TK_DECODE', reason, bytes, late: false })
      },
      assigned: partitions => { for (const p of partitions) this.#tracker.register(p, Date.now()) },
      revoked: partitions => { for (const p of partitions) this.#tracker.unregister(p) }
    }
  }

  #touch (partition: number): void {
    if (partition !== this.#lastPartition || this.#now !== this.#lastTouch) {
      this.#tracker.touch(partition, this.#now)
      this.#lastPartition = partition
      this.#lastTouch = this.#now
    }
  }

  /**
   * Copies the record into the slot of every target worker; returns a promise only when it had to wait. The
   * record's position counts as consumed only once every copy is in a slot, so a checkpoint (which waits for
   * appends in progress) never records a position whose record is not in the state it snapshots.
   */
  #append (mask: number, bytes: Uint8Array, partition: number, position: number): Promise<void> | undefined {
    this.#records++
    this.#bytesIn += bytes.length
    // Issue 12: a record larger than a ring slot can never reach a worker; it is a dead letter, not a failed run.
    if (bytes.length > this.#slotDataBytes) { this.#oversized(bytes, partition, position); return undefined }
    let waits: Promise<void>[] | undefined
    let primary = true
    for (let w = 0; mask !== 0; w++, mask >>>= 1) {
      if ((mask & 1) === 0) continue
      const r = this.#appendTo(w, bytes, partition, position, primary)
      primary = false
      if (r !== undefined) (waits ??= []).push(r)
    }
    if (waits === undefined) {
      this.#positions.set(partition, position + 1)
      return undefined
    }
    this.#appending++
    return Promise.all(waits).then(
      () => { this.#positions.set(partition, position + 1) }
    ).finally(() => {
      if (--this.#appending === 0) for (const f of this.#appendWaiters.splice(0)) f()
    })
  }

  /** Dead-letters a record too large for a ring slot, keeping its first OVERSIZED_KEPT_BYTES as its bytes. */
  #oversized (bytes: Uint8Array, partition: number, position: number): void {
    this.#positions.set(partition, position + 1)
    const kept = bytes.length > OVERSIZED_KEPT_BYTES ? bytes.slice(0, OVERSIZED_KEPT_BYTES) : bytes.slice()
    this.#deadLetter({
      index: -1, partition, position, code: 'TK_INPUT', late: false, bytes: kept,
      reason: `record of ${bytes.length} bytes is larger than a ring slot (${this.#slotDataBytes} bytes; raise it with --ring-slot-bytes)${kept.length < bytes.length ? `; its first ${kept.length} bytes are kept here` : ''}`
    })
  }

  #appendTo (w: number, bytes: Uint8Array, partition: number, position: number, primary: boolean): Promise<void> | undefined {
    this.#check()
    const slot = this.#pool.filling(w)
    if (slot !== null && slot.append(bytes, partition, position, this.#now, primary)) {
      if (slot.count === 1) slot.watermark = this.#watermark(this.#now)
      if (slot.full) this.#dispatch(w)
      return undefined
    }
    if (slot !== null && slot.count === 0) {
      throw new TilekilnError('TK_SOURCE', `a record of ${bytes.length} bytes does not fit in a ring slot (${slot.view.data.length} bytes); raise the slot size`, { partition, position })
    }
    // Full slot: dispatch it and wait for a free one (and for the writer, if it is behind).
    if (slot !== null) this.#dispatch(w)
    const copy = Uint8Array.from(bytes)
    return this.#waitAndAppend(w, copy, partition, position, primary)
  }

  async #waitAndAppend (w: number, bytes: Uint8Array, partition: number, position: number, primary: boolean): Promise<void> {
    for (;;) {
      await this.#writer.ready()
      const slot = this.#pool.filling(w)
      if (slot !== null && slot.append(bytes, partition, position, this.#now, primary)) {
        if (slot.count === 1) slot.watermark = this.#watermark(this.#now)
        if (slot.full) this.#dispatch(w)
        return
      }
      if (slot !== null) this.#dispatch(w)
      await this.#pool.waitForSlot(w)
      this.#check()
    }
  }

  #dispatch (w: number): void {
    const slot = this.#pool.filling(w)
    if (slot !== null && slot.watermark > this.#lastSentWatermark[w]!) this.#lastSentWatermark[w] = slot.watermark
    this.#pool.dispatchBatch(w, Date.now())
  }

  async #flushAll (): Promise<void> {
    for (let w = 0; w < this.#workers; w++) if (this.#pool.hasPending(w)) this.#dispatch(w)
  }

  #watermark (now: number): number {
    if (this.#finalWatermark) return Infinity
    if (this.#source.watermarks === 'end') return -Infinity
    return this.#tracker.current(now)
  }

  // ---- periodic work -----------------------------------------------------------------------------------------

  #onClock (linger: number): void {
    const now = Date.now()
    this.#now = now
    // A checkpoint drains and snapshots: no tile may close behind its back.
    if (this.#failure !== null || this.#checkpointing !== null) return
    for (let w = 0; w < this.#workers; w++) {
      // Adaptive batching: a partly filled slot goes out after the linger time only to an idle worker — a busy one
      // would just queue it, so it keeps filling (bigger batches, fewer tasks) until the worker is free (#onResult).
      if (this.#pool.pendingSince(w) <= now - linger && this.#pool.inFlight(w) === 0 && !this.#writer.backpressured) {
        this.#dispatch(w)
        continue
      }
      // Idle worker: tell it when the watermark moved or a buffered trigger is due. Never while records wait for
      // it here: they must reach it before any watermark computed after they arrived.
      if (this.#pool.inFlight(w) > 0 || this.#pool.hasPending(w)) continue
      // A moved watermark can wait a little (batches carry it too); a due buffered trigger cannot.
      const wm = this.#watermark(now)
      if ((wm > this.#lastSentWatermark[w]! && now - this.#lastTickAt[w]! >= TICK_MILLIS) || this.#nextTimer[w]! <= now) {
        this.#lastSentWatermark[w] = wm
        this.#nextTimer[w] = Infinity
        this.#lastTickAt[w] = now
        this.#pool.tick(w, wm, now)
      }
    }
    this.metrics.set(M.queuedPuts, this.#writer.queuedPuts)
  }

  // ---- results -----------------------------------------------------------------------------------------------

  #onResult (d: Dispatched, r: TaskResult): void {
    // The worker is free: hand it what waited for it, if that waited long enough already.
    if (this.#pool.inFlight(d.worker) === 0 && this.#pool.pendingSince(d.worker) <= Date.now() - (this.#o.lingerMillis ?? 5) && this.#gate === null) this.#dispatch(d.worker)
    const m = this.metrics
    m.inc(M.recordsIn, d.slot === null ? 0 : d.slot.primaries)
    m.inc(M.rows, r.rows)
    m.inc(M.filtered, r.filtered)
    m.inc(M.tilesClosed, r.closedTiles)
    if (r.late > 0) m.inc(M.lateEvents, r.late)
    for (let i = 0; i < r.exprEvalMicros.length; i++) m.record(M.exprEvalTime, r.exprEvalMicros[i]!)
    for (let i = 0; i < r.maxTs.length; i += 2) {
      this.#tracker.observe(r.maxTs[i]!, r.maxTs[i + 1]!)
      if (r.maxTs[i + 1]! > this.#maxEventTime) this.#maxEventTime = r.maxTs[i + 1]!
    }
    this.#nextTimer[d.worker] = r.nextTimer
    this.#workerStats[d.worker] = { liveKeys: r.liveKeys, liveEntries: r.liveEntries, stateBytes: r.stateBytes }
    for (const dl of r.deadLetters) this.#deadLetter(dl)
    const meta: BatchMeta = { records: d.slot === null ? 0 : d.slot.primaries, firstAt: d.slot === null ? Date.now() : d.slot.firstAt }
    this.#rowsDone += meta.records
    if (r.puts !== null) {
      this.#writer.enqueue(this.#o.untiled === true ? new EventPuts(r.puts) : new TilePuts(r.puts), meta)
    } else {
      this.#durable(meta, 0)
    }
  }

  #deadLetter (dl: TaskResult['deadLetters'][number]): void {
    this.metrics.inc(M.deadLetters)
    if (dl.late) { /* counted as tiling.late_events already */ } else if (dl.code === 'TK_DECODE') this.metrics.inc(M.decodeErrors)
    else if (dl.code === 'TK_EXPR_EVAL') this.metrics.inc(M.exprErrors)
    else this.metrics.inc(M.inputErrors)
    this.#o.deadLetters.write({
      source: this.#source.description,
      partition: dl.partition,
      positionName: this.#source.positionName,
      position: dl.position,
      code: dl.code,
      reason: dl.reason,
      bytes: dl.bytes,
      late: dl.late
    })
    this.#dlqLog.line(`tilekiln: dead letter (${this.#source.positionName} ${dl.position}${dl.partition > 0 ? `, partition ${dl.partition}` : ''}): ${dl.reason} [groupBy=${this.plan.name}, code=${dl.code}] → ${this.#o.deadLetters.description}`)
  }

  #durable (meta: BatchMeta, puts: number): void {
    this.#acked += meta.records
    if (puts > 0) this.metrics.inc(M.kvSuccesses, puts)
    if (meta.records > 0) this.metrics.record(M.latency, Date.now() - meta.firstAt, meta.records)
  }

  #fail (e: unknown): void {
    this.#failure ??= e
    this.#abort.abort()
  }

  #check (): void {
    if (this.#failure !== null) throw this.#failure
  }

  #progress (started: number): Progress {
    const elapsed = Date.now() - started
    const s = this.#workerStats
    return {
      elapsedMillis: elapsed,
      records: this.#records,
      bytesIn: this.#bytesIn,
      rows: this.metrics.counter(M.rows),
      eventsPerSecond: elapsed > 0 ? this.#acked / (elapsed / 1000) : 0,
      tilesWritten: this.#writer?.written ?? 0,
      deadLetters: this.metrics.counter(M.deadLetters),
      lateEvents: this.metrics.counter(M.lateEvents),
      watermark: this.#tracker.value,
      lagRecords: this.#records - this.#acked,
      eventTimeLagMillis: Number.isFinite(this.#maxEventTime) ? Date.now() - this.#maxEventTime : NaN,
      liveKeys: s.reduce((a, x) => a + x.liveKeys, 0),
      liveEntries: s.reduce((a, x) => a + x.liveEntries, 0),
      stateBytes: s.reduce((a, x) => a + x.stateBytes, 0),
      queuedPuts: this.#writer?.queuedPuts ?? 0
    }
  }
}
