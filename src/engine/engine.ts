// The tiled pipeline, main-thread side (DESIGN §1):
//
//   source ──push──► record probe ──► worker ring slots ──task──► workers (decode, eval, tile, aggregate, encode)
//                  (key → worker,                                        │ tiles (transferred)
//                   event time → partition clock)                        ▼
//   store ◄── KV writer (ordered, bounded, retrying, fenced per partition) ◄┘
//
// The main thread owns: routing and each partition's clock (window/partition-clock.ts: the watermark every record
// is judged by, and the one that closes tiles), ticks (closing tiles and firing buffered triggers when no records
// flow), dead letters, metrics, back-pressure (no free slot, or the writer is over its limit → the source awaits),
// and the partitions it owns: assigned ones are restored from their checkpoint under a new fencing epoch before
// any of their records is read; revoked ones get a final checkpoint and are dropped (checkpoint/coordinator.ts).
//
// Untiled (`untiled: true`, §4.1): the same graph, but workers return one event put per row instead of tiles and
// the writer appends them; checkpoints then hold positions and clocks only (workers have no state), and the
// store's event identities make the replay after a restore idempotent.

import { CheckpointCoordinator, type CutHost } from '../checkpoint/coordinator.ts'
import { decodeCheckpoint } from '../checkpoint/partition-checkpoint.ts'
import { openFineTiles, planFingerprint, splitByOwner } from '../checkpoint/restore.ts'
import { type CheckpointStorage, checkpointScope, storeCheckpoints } from '../checkpoint/storage.ts'
import type { InputFormat } from '../codec/record.ts'
import { bindGroupBy, type BoundGroupBy, type ServingInfo } from '../config/bind.ts'
import { servingInfoConflict } from '../config/serving-check.ts'
import { compilePlan, type Plan, type PlanOptions } from '../config/plan.ts'
import { describeError, TilekilnError } from '../errors.ts'
import { queryCompiler } from '../expr/index.ts'
import { faultPoint } from '../faults.ts'
import { asLogger, Limiter, type Logger } from '../log/logger.ts'
import { M, type MetricName, Metrics } from '../metrics/metrics.ts'
import { MAX_WORKERS, maskOfKey } from '../route/ownership.ts'
import { createRecordProbe, type RecordProbe } from '../route/record-probe.ts'
import { DEFAULT_RING, type RingGeometry } from '../route/ring.ts'
import { EventPuts } from '../sink/event-puts.ts'
import { appendEventsTo, KvWriter, type KvWriterOptions, type PutBatch, type WriteTarget, writeTilesTo } from '../sink/kv-writer.ts'
import type { TileStore } from '../sink/store.ts'
import { TilePuts } from '../sink/tile-puts.ts'
import type { Positions, RecordPusher, RevocationReason, Source } from '../source/source.ts'
import { PartitionClock } from '../window/partition-clock.ts'
import type { TaskResult } from '../worker/protocol.ts'
import type { StateSnapshot, Trigger } from '../worker/tile-state.ts'
import { type DeadLetterSink, RateLimitedLog } from './dead-letter.ts'
import { OwnedPartition, PartitionBook } from './partition-book.ts'
import { resolveRollups } from '../window/rollup-sizes.ts'
import { type Dispatched, WorkerPool } from './worker-pool.ts'
import { BatchSizer, type BatchSizes, DEFAULT_BATCH_RECORDS, DEFAULT_MAX_BATCH_RECORDS } from './batch-sizer.ts'

export interface EngineOptions {
  readonly groupBy: unknown
  readonly planOptions?: PlanOptions
  readonly source: Source
  readonly store: TileStore
  readonly deadLetters: DeadLetterSink
  readonly workers?: number
  readonly trigger?: Trigger
  readonly allowedLatenessMillis?: number
  /** Watermark = max event time of the partition − this (default 5 min, Chronon's). */
  readonly outOfOrdernessMillis?: number
  readonly writer?: Partial<KvWriterOptions>
  /** A partially filled slot is dispatched after this long (ms; default DEFAULT_LINGER_MILLIS) — the batching/latency trade-off. */
  readonly lingerMillis?: number
  /** The ring's geometry; its maxRecords is a slot's room (default: the largest batch). */
  readonly ring?: Partial<RingGeometry>
  /**
   * Records per worker batch (engine/batch-sizer.ts): batches take `records` (default 8,192, or the ring's
   * maxRecords if smaller) and grow up to `maxRecords` (default: the ring's maxRecords if given, else 65,536) while
   * the source outruns their worker.
   */
  readonly batch?: Partial<BatchSizes>
  readonly evaluator?: 'spark' | 'column-refs'
  /**
   * false: workers fold every record through a decoded object and the query, even for GroupBys of plain numeric
   * columns, which they otherwise fold as numbers (worker/numeric-rows.ts). Same tiles either way; for tests.
   */
  readonly numericRows?: boolean
  /** false: the numeric path reads every record in JS, not its regular ones in WASM (worker/flat-numbers.ts; tests). */
  readonly wasmRead?: boolean
  /** Called about every `progressMillis` with a snapshot (the CLI prints it). */
  readonly onProgress?: (p: Progress) => void
  readonly progressMillis?: number
  /** The engine's logger (default: the process's, log/logger.ts), or a function that takes each line's message. */
  readonly log?: Logger | ((line: string) => void)
  /**
   * Per-partition checkpoints every `intervalMillis`, restored when a partition is assigned. Stored in the store
   * (next to the tiles) unless `storage` says otherwise.
   */
  readonly checkpoints?: { readonly intervalMillis: number, readonly storage?: CheckpointStorage }
  /** The untiled pipeline: one stored event per evaluated row instead of tiles (§4.1). */
  readonly untiled?: boolean
  /**
   * Rolled-up tile sizes (ms) written beside the GroupBy's tiles (worker/rollups.ts); null/absent = the default
   * (1 h and 1 d when the longest window is ≥ 1 day, window/rollup-sizes.ts), [] = none. Ignored untiled.
   */
  readonly rollups?: readonly number[] | null
  /**
   * The source is a repartitioned topic fed by every partition of an original topic of `origins` partitions
   * (records carry their origin and original offset): clocks run per origin, replays of the shuffle are dropped.
   */
  readonly repartitioned?: { readonly origins: number }
  /**
   * Longest entity key to write (default and at most: the store's `maxKeyBytes`); longer keys are dead letters.
   */
  readonly maxKeyBytes?: number
  /**
   * 'check' (default): refuse to run when the store's serving info for this GroupBy has another key schema or the
   * other tiled/untiled mode (config/serving-check.ts); 'replace': overwrite it.
   */
  readonly servingInfo?: 'check' | 'replace'
}

export interface PartitionProgress {
  readonly partition: number
  readonly epoch: number
  /** Next position to read. */
  readonly next: number
  /** Records behind the source's end (Kafka consumer lag), NaN when unknown. */
  readonly lag: number
  /** The partition's closing watermark (−Infinity before its first event). */
  readonly watermark: number
  readonly maxEventTime: number
  readonly records: number
}

export interface WorkerProgress {
  readonly worker: number
  /** Fraction of the last second the worker had work. */
  readonly load: number
  readonly liveKeys: number
  readonly openTiles: number
  readonly stateBytes: number
  /** Records its next batch takes (engine/batch-sizer.ts: more than --batch-records while the source outruns it). */
  readonly batchRecords: number
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
  /** The lowest closing watermark over owned partitions (−Infinity when none has one). */
  readonly watermark: number
  /** Records accepted but whose tiles are not yet acknowledged by the store. */
  readonly lagRecords: number
  /** now − the largest event time seen, when event time is being observed. */
  readonly eventTimeLagMillis: number
  readonly liveKeys: number
  readonly liveEntries: number
  readonly stateBytes: number
  readonly queuedPuts: number
  readonly partitions: readonly PartitionProgress[]
  readonly fencedWrites: number
}

export interface RunSummary extends Progress {
  readonly latency: ReturnType<Metrics['summary']>
  /** Partitions restored from a checkpoint when they were assigned. */
  readonly restoredPartitions: number
  readonly checkpointsTaken: number
}

interface BatchMeta {
  readonly records: number
  readonly firstAt: number
  /** When the batch was handed to its worker and when its result came back (the latency's stages). */
  readonly sentAt: number
  readonly backAt: number
  /** Partitions whose first records since their assignment this batch writes. */
  readonly first?: readonly number[]
}

/**
 * A part-filled batch goes to an idle worker after this long (ms). 2 ms: at half the engine's maximum rate the
 * latency scenario measured p99 event→store 18 ms with it, against 28 ms at 5 ms, and no loss of the maximum rate
 * (a busy worker's batch keeps filling whatever the linger).
 */
export const DEFAULT_LINGER_MILLIS = 2

/** How much of a record too large for a ring slot its dead letter keeps (a dead-letter topic takes ~1 MB messages). */
const OVERSIZED_KEPT_BYTES = 64 * 1024

/** A source's trouble report counts for readiness this long (the Kafka source repeats it while it lasts). */
const SOURCE_TROUBLE_MILLIS = 30_000
/** A store failing or slow for this long makes the engine not ready (shorter trouble is a retry that works). */
const STALL_MILLIS = 5_000

/** Least time between two watermark-only ticks to an idle worker (each costs a task round trip). */
const TICK_MILLIS = 50

export class Engine {
  readonly plan: Plan
  readonly bound: BoundGroupBy
  readonly metrics: Metrics
  readonly #o: EngineOptions
  readonly #source: Source
  readonly #workers: number
  readonly #log: Logger
  /** Rate limit of error lines, per class of trouble. */
  readonly #limiter = new Limiter()
  /** Since when the store fails or is slow (0: it is fine); its recovery is logged once. */
  #storeTroubleSince = 0
  #storeConnected = false
  #startedAt = Date.now()
  #sourceConnected = false
  #sourceTrouble: { why: string, at: number } | null = null
  /** Worker load: busy time at the previous gauge update, and the resulting fraction per worker. */
  #busyAt = performance.now()
  readonly #busyBefore: number[] = []
  readonly #load: number[] = []
  readonly #dlqLog: RateLimitedLog
  /** Unmergeable rolled-up tiles: logged like dead letters (a line each, rate-limited), counted in their metric. */
  readonly #unmergeableLog: RateLimitedLog
  readonly #probe: RecordProbe
  readonly #book = new PartitionBook()
  readonly #ooo: number
  readonly #fingerprint: string
  /** Rolled-up tile sizes this run writes. */
  readonly rollups: readonly number[]
  readonly #storage: CheckpointStorage | null
  /** Tile writes carry fences only when epochs come from the store itself (a test may keep checkpoints elsewhere). */
  readonly #fencing: boolean
  readonly #coordinator: CheckpointCoordinator
  readonly #abort = new AbortController()
  #pool!: WorkerPool
  #writer!: KvWriter<BatchMeta, PutBatch>
  #failure: unknown = null
  /** End of a bounded input: every clock is at +Infinity. */
  #ended = false
  #records = 0
  #bytesIn = 0
  #acked = 0
  #restored = 0
  #maxEventTime = -Infinity
  #sizer!: BatchSizer
  #lastSentVersion: number[] = []
  #lastTickAt: number[] = []
  #nextTimer: number[] = []
  #workerStats: { liveKeys: number, liveEntries: number, stateBytes: number }[] = []
  /** While a cut is being taken, new records wait on this. */
  #gate: Promise<void> | null = null
  /** Records partly copied into slots, waiting for a free slot. */
  #appending = 0
  readonly #appendWaiters: (() => void)[] = []
  #crossLogged = false
  /** The final cut is taken (or the run failed): partitions come and go no more, their state is written. */
  #closing = false
  /** Data bytes of one ring slot: the largest record a worker can be handed. */
  #slotDataBytes = Infinity

  constructor (o: EngineOptions) {
    this.#o = o
    this.#source = o.source
    this.plan = compilePlan(o.groupBy, o.planOptions)
    this.#log = asLogger(o.log).child({ groupBy: this.plan.name })
    this.#dlqLog = new RateLimitedLog(this.#log)
    this.#unmergeableLog = new RateLimitedLog(this.#log, 20, 10_000, 'unmergeable rolled-up tile(s)')
    const compile = queryCompiler(o.evaluator ?? 'spark')
    this.bound = bindGroupBy(this.plan, o.source.format.schema, compile)
    this.metrics = new Metrics(this.plan.name)
    this.#workers = Math.max(1, Math.min(MAX_WORKERS, o.workers ?? 1))
    this.#ooo = o.outOfOrdernessMillis ?? 300_000
    this.#probe = createRecordProbe(this.bound, o.source.format, this.#workers, compile)
    this.rollups = o.untiled === true ? [] : resolveRollups(this.plan, o.rollups)
    this.#fingerprint = planFingerprint(this.bound, o.untiled === true)
    this.#storage = o.checkpoints === undefined
      ? null
      : o.checkpoints.storage ?? storeCheckpoints(o.store, checkpointScope(this.plan.streamingDataset, o.source.checkpointName), { log: this.#log })
    this.#fencing = o.checkpoints !== undefined && o.checkpoints.storage === undefined
    this.#coordinator = new CheckpointCoordinator(this.#cutHost())
  }

  /** Stops a running engine: the source stops reading and everything in flight is written. */
  stop (): void {
    this.#abort.abort()
  }

  /**
   * What a stopping run is waiting for (null before the stop): the CLI says it while a stop takes long, so that a
   * daemon that does not exit on SIGTERM tells which step holds it.
   */
  get stopPhase (): string | null {
    return this.#abort.signal.aborted ? this.#phase : null
  }

  #phase = 'the source to stop reading'

  async run (): Promise<RunSummary> {
    const o = this.#o
    const started = Date.now()
    this.#startedAt = started
    this.#sizer = new BatchSizer(this.#workers, batchSizes(o))
    const geometry: RingGeometry = { ...DEFAULT_RING, ...o.ring, maxRecords: Math.max(this.#sizer.maxRecords, o.ring?.maxRecords ?? 0) }
    this.#slotDataBytes = geometry.dataBytes
    const untiled = o.untiled === true
    const serving: ServingInfo = untiled ? { ...this.bound.serving, untiled } : this.bound.serving
    if (o.servingInfo !== 'replace') {
      const stored = await o.store.getMetadata(this.plan.name)
      const conflict = stored === undefined ? null : servingInfoConflict(JSON.parse(stored) as ServingInfo, serving)
      if (conflict !== null) throw new TilekilnError('TK_CONFIG', conflict, { groupBy: this.plan.name, store: o.store.description })
    }
    await o.store.putMetadata(this.plan.name, JSON.stringify(serving))
    this.#storeConnected = true
    const dataset = this.plan.streamingDataset
    const target = (untiled ? appendEventsTo(o.store, dataset) : writeTilesTo(o.store, dataset, this.plan.tileSizeMillis)) as unknown as WriteTarget<PutBatch>
    this.#writer = new KvWriter<BatchMeta, PutBatch>(target, {
      onDurable: b => this.#durable(b.meta, b.puts.count),
      onError: (e, attempt, delay) => {
        this.metrics.inc(M.kvErrors)
        this.metrics.inc(M.kvRetries)
        if (this.#storeTroubleSince === 0) this.#storeTroubleSince = Date.now()
        this.#limiter.log(this.#log, 'warn', `store write failed (attempt ${attempt}, retrying in ${delay} ms): ${describeError(e)} [groupBy=${this.plan.name}, store=${o.store.description}]`, { attempt, store: o.store.description }, 'store write failed')
      },
      onFenced: partitions => this.#fenced(partitions, 'the store refused its tile writes as stale: another daemon took the partition over'),
      // Rate-limited by the writer; a slow request is waited for, never issued twice.
      onSlow: r => (this.#storeTroubleSince ||= Date.now(), this.#log.warn({ store: o.store.description }, `the store is slow: ${r.slowSinceLastReport} request(s) outlived their deadline since the last report (${r.timeouts} in all); the oldest (${r.oldestPuts} puts) has waited ${(r.oldestWaitingMillis / 1000).toFixed(1)} s (deadline ${(r.deadlineMillis / 1000).toFixed(1)} s); ${r.liveRequests} request(s) live, ${r.queuedPuts} puts unacknowledged${r.reset ? '; asked the store to reset its connection' : ''}; not re-issuing, the source waits [groupBy=${this.plan.name}, store=${o.store.description}]`)),
      onFatal: e => this.#fail(e)
    }, { ...o.writer, stopSignal: this.#abort.signal })
    this.#pool = new WorkerPool({
      groupBy: o.groupBy,
      planOptions: o.planOptions ?? {},
      format: this.#source.format as InputFormat,
      allowedLatenessMillis: o.allowedLatenessMillis ?? 0,
      trigger: o.trigger ?? { kind: 'always' },
      evaluator: o.evaluator ?? 'spark',
      ownershipCheck: this.bound.query.multiRow && this.#workers > 1,
      ...(o.repartitioned === undefined ? {} : { keyedPartitions: o.repartitioned.origins }),
      untiled,
      rollups: this.rollups,
      // Keys the store cannot take are dead-lettered by the workers, before they reach the writer (issue 12).
      maxKeyBytes: Math.min(o.maxKeyBytes ?? Infinity, o.store.maxKeyBytes),
      ...(o.numericRows === false ? { numericRows: false } : {}),
      ...(o.wasmRead === false ? { wasmRead: false } : {})
    }, this.#workers, geometry, this.#sizer, (d, r) => this.#onResult(d, r), e => this.#fail(e))
    for (let w = 0; w < this.#workers; w++) {
      this.metrics.setLabelled(M.batchLimit, w, this.#sizer.limit(w))
      this.#lastSentVersion.push(-1)
      this.#lastTickAt.push(0)
      this.#nextTimer.push(Infinity)
      this.#workerStats.push({ liveKeys: 0, liveEntries: 0, stateBytes: 0 })
    }

    const linger = o.lingerMillis ?? DEFAULT_LINGER_MILLIS
    let clock: NodeJS.Timeout | undefined
    let progress: NodeJS.Timeout | undefined
    let checkpointTimer: NodeJS.Timeout | undefined
    let gauges: NodeJS.Timeout | undefined
    try {
      // Ticks at half the linger: a part-filled batch goes out at most half a linger late (the default 2 ms: every 1 ms).
      clock = setInterval(() => this.#onClock(linger), Math.max(1, Math.min(Math.floor(linger / 2), 20)))
      gauges = setInterval(() => this.#partitionGauges(), 1000)
      if (o.onProgress !== undefined) progress = setInterval(() => o.onProgress!(this.#progress(started)), o.progressMillis ?? 1000)
      if (this.#storage !== null) {
        checkpointTimer = setInterval(() => { this.#coordinator.cut().catch(e => this.#fail(e)) }, o.checkpoints!.intervalMillis)
      }
      await this.#source.run(this.#pusher(), this.#abort.signal)
      this.#phase = 'the workers to finish their batches and the writer to store their tiles'
      this.#check()
      if (this.#source.bounded && !this.#abort.signal.aborted) {
        // End of a bounded input: event time is over, every tile closes and is written complete.
        this.#ended = true
        this.#book.version++
      }
      // Close whatever the clocks have passed, so the store's final state does not depend on tick timing.
      await this.#coordinator.serial(async () => { await this.#settle() })
      this.#check()
      if (this.#storage !== null) {
        clearInterval(checkpointTimer)
        this.#phase = 'the final checkpoint (written to the store, then the positions committed)'
        await this.#coordinator.cut({ final: true })
      }
    } finally {
      // Closing the source leaves the group, which revokes every partition: their final checkpoint is written.
      this.#closing = true
      clearInterval(clock)
      clearInterval(gauges)
      this.#partitionGauges()
      clearInterval(progress)
      clearInterval(checkpointTimer)
      this.#dlqLog.flush()
      this.#unmergeableLog.flush()
      this.#phase = 'the worker threads to exit'
      await this.#pool.close()
      this.#phase = `the source to close (${this.#source.description}: leaving the consumer group hands the partitions over, each after its final checkpoint)`
      await this.#source.close?.()
      this.#phase = 'nothing (stopped)'
    }
    return { ...this.#progress(started), latency: this.metrics.summary(M.latency), restoredPartitions: this.#restored, checkpointsTaken: this.#coordinator.taken }
  }

  // ---- partitions: assignment, revocation, fencing -------------------------------------------------------

  /**
   * Takes partitions over: a new fencing epoch each, then its checkpoint (if any) restored into the workers and
   * its open tiles rewritten under the new epoch. Resolves with the position each restored partition resumes at.
   */
  #assign (partitions: readonly number[]): Promise<Positions> {
    if (this.#closing) return Promise.resolve(new Map())
    return this.#coordinator.serial(async () => {
      const from = new Map<number, number>()
      // The fencing epochs of the partitions new to this daemon are taken together: one store round trip (LMDB: one
      // flushed commit) instead of one per partition, which at start and after a rebalance delayed every partition's
      // first record by the others' commits. Their takeover (checkpoint read, restore) stays one at a time, in order.
      const storage = this.#storage
      const epochs = new Map(storage === null ? [] : await Promise.all(partitions.filter(p => this.#book.get(p) === undefined)
        .map(async p => [p, await storage.acquireEpoch(p)] as const)))
      for (const p of partitions) {
        const at = await this.#assignOne(p, epochs.get(p))
        if (at !== null) from.set(p, at)
      }
      this.metrics.set(M.ownedPartitions, this.#book.size)
      return from
    })
  }

  /** `taken`: the partition's new fencing epoch when #assign took it already. */
  async #assignOne (partition: number, taken?: number): Promise<number | null> {
    const t0 = Date.now()
    const held = this.#book.get(partition)
    if (held !== undefined && held.status === 'active' && this.#storage !== null) {
      // Assigned again without a revocation in between (a replaced consumer, a client that does not report it).
      // Once every write under the old epoch is acknowledged, a new epoch one above ours means nobody owned the
      // partition in between: keep the state as it is.
      await this.#settle()
      const epoch = await this.#storage.acquireEpoch(partition)
      if (epoch === held.epoch + 1) {
        held.epoch = epoch
        this.#log.info({ partition, epoch }, `partition ${partition}: assigned again, kept (epoch ${epoch}, ${this.#source.positionName} ${held.next})`)
        return held.checkpointed >= 0 || held.records > 0 ? held.next : null
      }
      this.#log.warn({ partition, epoch }, `partition ${partition}: another daemon owned it in between (epoch ${held.epoch} → ${epoch}); restoring from the store`)
      await this.#drop([partition])
      this.#book.remove(partition)
    } else if (held !== undefined) {
      await this.#release([partition], 'reassigned')
    }
    const clock = new PartitionClock({ outOfOrdernessMillis: this.#ooo, origins: this.#o.repartitioned?.origins ?? null })
    const storage = this.#storage
    let epoch = 0
    let next: number | null = null
    const owned = new OwnedPartition(partition, clock, 0, 0, t0)
    if (storage !== null) {
      epoch = taken ?? await storage.acquireEpoch(partition)
      owned.epoch = epoch
      faultPoint('handover-after-epoch')
      const stored = await storage.read(partition)
      if (stored !== null) {
        const where = `of partition ${partition} in ${storage.description}`
        const cp = decodeCheckpoint(stored.bytes, where)
        const h = cp.header
        if (h.groupBy !== this.plan.name || h.fingerprint !== this.#fingerprint) {
          throw new TilekilnError('TK_CHECKPOINT', `the checkpoint ${where} was taken for a different GroupBy, tile layout or mode (tiled/untiled) (${h.groupBy}); use another store prefix or consumer group, or delete it to start over`, { groupBy: this.plan.name, partition })
        }
        clock.restore(h.clock)
        for (const [origin, n] of h.originNext) owned.originNext.set(origin, n)
        next = h.next
        owned.next = h.next
        owned.checkpointed = h.next
        owned.restoredBytes = stored.bytes.length
        if (h.entries > 0) {
          const shards = splitByOwner(partition, cp.entries, cp.timers, cp.latest, this.bound, this.#workers)
          const closes = [partition, clock.closing]
          const now = Date.now()
          // The checkpoint's rollups may not be this run's (another --rollups, or an older version): the workers
          // map them by size, and do not write rolled-up tiles whose fine tiles closed before the checkpoint.
          const rollups = h.rollups ?? []
          // Copied to the workers, not transferred: a transfer detaches the buffer on this thread, and the first
          // detach in an isolate costs its optimized code a detached-buffer check on every typed-array access from
          // then on (V8's ArrayBufferDetaching protector; measured 2–36 % more main-thread CPU, README, Benchmarks).
          await Promise.all(shards.map((s, w) => this.#pool.call(w, { kind: 'restore', snapshot: s, closes, now, rollups })))
          // Rewrite the open tiles under the new epoch: whatever a previous owner still writes to these keys is
          // refused from now on (the store fences per partition, or per key with the partition's epoch).
          const open = openFineTiles(cp.entries, cp.timers, cp.latest)
          if (open.count > 0) this.#writer.enqueue(new TilePuts(open.entries, new Int32Array(open.count).fill(partition), open.latest), { records: 0, firstAt: now, sentAt: now, backAt: now }, this.#fence([partition], epoch))
        }
        this.#restored++
        this.metrics.inc(M.restoredBytes, stored.bytes.length)
        this.#log.info({ partition, epoch, restoredBytes: stored.bytes.length }, `partition ${partition}: took over at ${this.#source.positionName} ${h.next} under epoch ${epoch} (checkpoint of ${new Date(h.takenAt).toISOString()} by epoch ${h.epoch}, ${h.entries} open tile(s), ${stored.bytes.length} bytes; restored in ${Date.now() - t0} ms, at ${new Date().toISOString()})`)
      } else {
        this.#log.info({ partition, epoch }, `partition ${partition}: took over under epoch ${epoch} (no checkpoint: from the source's start position; at ${new Date().toISOString()})`)
      }
    }
    owned.restoreMillis = Date.now() - t0
    this.#book.add(owned)
    this.metrics.inc(M.rebalances)
    this.metrics.record(M.handover, owned.restoreMillis)
    return next
  }

  /** Partitions taken away by the source: final checkpoint, then their state is dropped. */
  #revoke (partitions: readonly number[], reason: RevocationReason): Promise<void> {
    const mine = partitions.filter(p => this.#book.get(p) !== undefined)
    if (mine.length === 0 || this.#closing) return Promise.resolve()
    this.#log[reason === 'lost' ? 'warn' : 'info']({ partitions: mine, reason }, reason === 'lost'
      ? `partition(s) ${mine.join(', ')} lost: the group expelled this daemon (frozen or cut off past its session); their final checkpoint is attempted under the old epoch and refused if another daemon took them over (at ${new Date().toISOString()})`
      : `partition(s) ${mine.join(', ')} revoked by the group (at ${new Date().toISOString()})`)
    return this.#coordinator.serial(async () => {
      await this.#release(mine, 'revoked')
      this.metrics.set(M.ownedPartitions, this.#book.size)
    })
  }

  /** (Runs inside the coordinator's chain.) Checkpoints what is still ours of `partitions`, then drops them. */
  async #release (partitions: readonly number[], why: 'revoked' | 'reassigned'): Promise<void> {
    if (this.#storage !== null && this.#failure === null) {
      await this.#coordinator.cutNow({ partitions, force: true })
    } else {
      await this.#settle()
    }
    await this.#drop(partitions)
    for (const p of partitions) {
      this.#book.remove(p)
      this.metrics.dropPartition(p)
    }
    this.metrics.inc(M.revocations, partitions.length)
    this.#log.info({ partitions }, `partition(s) ${partitions.join(', ')} ${why === 'revoked' ? 'revoked' : 'assigned again'}: final checkpoint written, state dropped (at ${new Date().toISOString()})`)
  }

  async #drop (partitions: readonly number[]): Promise<void> {
    if (this.#o.untiled === true) return
    await Promise.all(Array.from({ length: this.#workers }, (_, w) => this.#pool.call(w, { kind: 'drop', partitions })))
  }

  /**
   * Another daemon owns these partitions now (this one was frozen or cut off past its session, and the store
   * refused its writes): stop taking their records and forget their state; the group will revoke them.
   */
  #fenced (partitions: readonly number[], why: string): void {
    const hit = partitions.filter(p => this.#book.active(p) !== undefined)
    this.metrics.inc(M.fencedWrites, partitions.length)
    if (hit.length === 0) return
    for (const p of hit) this.#book.get(p)!.status = 'fenced'
    this.#book.version++
    this.#log.warn({ partitions: hit }, `partition(s) ${hit.join(', ')} fenced: ${why}; dropping them (another daemon of the group owns them now) [groupBy=${this.plan.name}]`)
    void this.#coordinator.serial(async () => {
      await this.#pool.idle()
      await this.#drop(hit)
      for (const p of hit) {
        if (this.#book.get(p)?.status !== 'fenced') continue
        this.#book.remove(p)
        this.metrics.dropPartition(p)
      }
      this.metrics.set(M.ownedPartitions, this.#book.size)
    }).catch(e => this.#fail(e))
  }

  /** The fence a batch of these partitions' tiles is written under. */
  #fence (partitions: Iterable<number>, epoch?: number): { scope: string, epochs: Map<number, number> } | undefined {
    if (!this.#fencing) return undefined
    const epochs = new Map<number, number>()
    for (const p of partitions) {
      const e = epoch ?? this.#book.get(p)?.epoch
      if (e !== undefined && e > 0) epochs.set(p, e)
    }
    return { scope: checkpointScope(this.plan.streamingDataset, this.#source.checkpointName), epochs }
  }

  // ---- cuts ---------------------------------------------------------------------------------------------------

  #cutHost (): CutHost {
    return {
      groupBy: this.plan.name,
      fingerprint: this.#fingerprint,
      rollups: this.rollups,
      sourceDescription: this.#source.description,
      book: this.#book,
      storage: this.#storage!,
      metrics: this.metrics,
      log: this.#log,
      hold: () => this.#hold(),
      settle: () => this.#settle(),
      snapshot: partitions => Promise.all(Array.from({ length: this.#workers }, (_, w) => this.#pool.call<StateSnapshot>(w, { kind: 'snapshot', partitions }))),
      flushDeadLetters: final => this.#flushDeadLetters(final),
      commit: (positions, final) => this.#commit(positions, final),
      fenced: (partitions, why) => this.#fenced(partitions, why)
    }
  }

  /** Stops records at the gate; resolves once records on their way into slots are in. */
  async #hold (): Promise<() => void> {
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    const previous = this.#gate
    this.#gate = gate
    while (this.#appending > 0) await new Promise<void>(resolve => this.#appendWaiters.push(resolve))
    return () => {
      if (this.#gate === gate) this.#gate = previous
      open()
    }
  }

  /**
   * Everything handed to workers is folded in; every tile the clocks passed is closed; every write is
   * acknowledged and flushed by the store.
   */
  async #settle (): Promise<void> {
    this.#flushAll()
    await this.#pool.idle()
    const closes = this.#closes()
    const now = Date.now()
    for (let w = 0; w < this.#workers; w++) {
      this.#pool.tick(w, closes, now)
      this.#lastSentVersion[w] = this.#book.version
    }
    await this.#pool.idle()
    await this.#writer.drain()
    await this.#o.store.flushed()
    this.#check()
  }

  #closes (): number[] {
    if (this.#ended) return this.#book.closes(Infinity)
    if (this.#source.watermarks === 'end') return this.#book.closes(-Infinity)
    return this.#book.closes()
  }

  /**
   * Makes the dead letters sent so far durable. When their output is unreachable (a Kafka dead-letter topic during
   * a broker outage) the cut is skipped — the next one tries again, and a crash meanwhile replays from the
   * previous one, dead letters included. The last cut before exit retries for a while, then fails the run rather
   * than exit with dead letters unsent.
   */
  async #flushDeadLetters (final: boolean): Promise<boolean> {
    const sink = this.#o.deadLetters
    if (sink.flush === undefined) return true
    const failed = await this.#attempt(final, M.deadLetterFlushFailures, `writing dead letters to ${sink.description}`, () => sink.flush!())
    if (failed === null) return true
    if (final) {
      throw new TilekilnError('TK_DEAD_LETTER', `cannot write dead letters to ${sink.description}: ${describeError(failed.error)}; the last checkpoint does not cover them, so a restart reprocesses those records`, { groupBy: this.plan.name }, { cause: failed.error })
    }
    this.#log.warn(`dead letters not written to ${sink.description} (checkpoint skipped; the next one retries): ${describeError(failed.error)} [group-by ${this.plan.name}]`)
    return false
  }

  /**
   * Commits the checkpoint's positions to the source (Kafka's group offsets). The durable checkpoint is what a
   * restart resumes from, so a failed commit (broker outage, or the group moved on) costs only monitoring
   * accuracy until the next checkpoint commits newer positions: it is counted and logged, never fatal. The last
   * commit before exit has no next one, so it is retried for a while first.
   */
  async #commit (positions: ReadonlyMap<number, number>, final: boolean): Promise<boolean> {
    const failed = await this.#attempt(final, M.commitFailures, `committing the checkpoint's positions to ${this.#source.description}`, async () => { await this.#source.commit?.(positions) })
    if (failed === null) return true
    this.#log.warn(`could not commit the checkpoint's positions to ${this.#source.description} (${final ? 'giving up; the checkpoint still holds them' : 'the next checkpoint commits newer ones'}): ${describeError(failed.error)} [group-by ${this.plan.name}, positions ${[...positions].map(([p, n]) => `${p}:${n}`).join(',')}]`)
    return false
  }

  /**
   * Runs a checkpoint's follow-up step once, or — for the final checkpoint, which has no next one to make up for
   * it — up to 5 times with backoff (1, 2, 4, 8 s). Every failure is counted in `metric`. Returns null on success,
   * else the last failure.
   */
  async #attempt (final: boolean, metric: MetricName, what: string, step: () => Promise<unknown>): Promise<{ error: unknown } | null> {
    const attempts = final ? 5 : 1
    for (let attempt = 1; ; attempt++) {
      try {
        await step()
        return null
      } catch (e) {
        this.metrics.inc(metric)
        if (attempt >= attempts) return { error: e }
        this.#log.warn(`${what} failed (attempt ${attempt} of ${attempts}, retrying): ${describeError(e)} [group-by ${this.plan.name}]`)
        await new Promise(resolve => setTimeout(resolve, 1000 * 2 ** (attempt - 1)))
      }
    }
  }

  // ---- pushing records ---------------------------------------------------------------------------------------

  #pusher (): RecordPusher {
    return {
      push: (bytes, partition, position, origin = -1, originOffset = -1, originMax = NaN) => {
        if (this.#gate !== null) { const copy = Uint8Array.from(bytes); return this.#gate.then(() => this.#take(copy, 0, copy.length, partition, position, origin, originOffset, originMax, null, NaN)) }
        return this.#take(bytes, 0, bytes.length, partition, position, origin, originOffset, originMax, null, NaN)
      },
      pushKeyed: (keyValues, eventTime, data, start, end, partition, position) => {
        if (this.#gate !== null) {
          const copy = data.slice(start, end)
          const keys = keyValues.slice()
          return this.#gate.then(() => this.#take(copy, 0, copy.length, partition, position, -1, -1, NaN, keys, eventTime))
        }
        return this.#take(data, start, end, partition, position, -1, -1, NaN, keyValues, eventTime)
      },
      // Like records, a heartbeat and a refused record wait while a checkpoint holds the gate: the cut must not
      // see a clock or a position move under it (and a heartbeat that is a partition's last record must still move
      // its position, or the partition would never count as caught up).
      originTime: (partition, position, origin, max) => {
        if (this.#gate !== null) return this.#gate.then(() => { this.#originTime(partition, position, origin, max) })
        this.#originTime(partition, position, origin, max)
        return undefined
      },
      flush: async () => { this.#flushAll() },
      reject: (bytes, partition, position, reason) => {
        if (this.#gate !== null) {
          const copy = bytes === null ? null : Uint8Array.from(bytes)
          return this.#gate.then(() => { this.#reject(copy, partition, position, reason) })
        }
        this.#reject(bytes, partition, position, reason)
        return undefined
      },
      assigned: partitions => { this.#sourceConnected = true; return this.#assign(partitions) },
      revoked: (partitions, reason) => this.#revoke(partitions, reason ?? 'rebalance'),
      caughtUp: (partition, end, read) => {
        const p = this.#book.get(partition)
        if (p !== undefined) {
          p.end = end
          // Only for a partition it processes: a fenced one (another daemon owns it now) dropped the batch's records.
          if (read !== undefined && read > p.next && p.status === 'active') p.next = read
        }
        // A batch came (the source calls this once per batch): whatever trouble it reported is over.
        this.#sourceTrouble = null
      },
      sourceTrouble: why => {
        if (why === null) {
          this.#sourceConnected = true
          this.#sourceTrouble = null
        } else {
          this.#sourceTrouble = { why, at: Date.now() }
        }
      }
    }
  }

  #originTime (partition: number, position: number, origin: number, max: number): void {
    const p = this.#book.active(partition)
    if (p === undefined) return
    const before = p.clock.closing
    p.clock.advance(origin, max)
    if (p.clock.closing !== before) this.#book.version++
    // Nothing to fold; the records before it are in slots (the source awaited them).
    p.next = position + 1
  }

  #reject (bytes: Uint8Array | null, partition: number, position: number, reason: string): void {
    const p = this.#book.active(partition)
    if (p === undefined) return
    p.next = position + 1
    this.#deadLetter({ index: -1, partition, position, code: 'TK_DECODE', reason, bytes, late: false })
  }

  /** One record, `data[start, end)`: probe it, judge it by its partition's clock, copy it to its workers' slots. */
  #take (data: Uint8Array, start: number, end: number, partition: number, position: number, origin: number, originOffset: number, originMax: number, keyValues: readonly unknown[] | null, eventTime: number): Promise<void> | undefined {
    const owned = this.#book.active(partition)
    // Records of a partition this daemon no longer owns (fenced, revoked meanwhile) are not ours to process.
    if (owned === undefined) return undefined
    let mask: number
    let ts: number
    if (keyValues !== null) {
      mask = this.#workers === 1 ? 1 : maskOfKey(keyValues, this.#workers)
      ts = Number.isNaN(eventTime) ? this.#probe.timeOf(data.subarray(start, end)) : eventTime
    } else {
      mask = this.#probe.probe(start === 0 && end === data.length ? data : data.subarray(start, end))
      ts = this.#probe.ts
    }
    let watermark: number
    if (this.#source.watermarks === 'end') {
      watermark = -Infinity
    } else {
      const before = owned.clock.closing
      if (origin >= 0) {
        // A repartitioned record already seen before a crash of the shuffle stage: drop it.
        if (originOffset < (owned.originNext.get(origin) ?? 0)) {
          owned.next = position + 1
          this.metrics.inc(M.shuffleDuplicates)
          return undefined
        }
        owned.originNext.set(origin, originOffset + 1)
        watermark = owned.clock.judgePrior(origin, originMax, ts)
      } else {
        watermark = owned.clock.judge(partition, ts)
      }
      if (owned.clock.closing !== before) this.#book.version++
      if (ts > this.#maxEventTime) this.#maxEventTime = ts
    }
    return this.#append(owned, mask, data, start, end, partition, position, watermark)
  }

  /**
   * Copies the record into the slot of every target worker; returns a promise only when it had to wait. The
   * record's position counts as consumed only once every copy is in a slot, so a checkpoint (which waits for
   * appends in progress) never records a position whose record is not in the state it snapshots.
   */
  #append (owned: OwnedPartition, mask: number, data: Uint8Array, start: number, end: number, partition: number, position: number, watermark: number): Promise<void> | undefined {
    this.#records++
    owned.records++
    this.#bytesIn += end - start
    // Issue 12: a record larger than a ring slot can never reach a worker; it is a dead letter, not a failed run.
    if (end - start > this.#slotDataBytes) { this.#oversized(owned, data.subarray(start, end), partition, position); return undefined }
    let waits: Promise<void>[] | undefined
    let primary = true
    for (let w = 0; mask !== 0; w++, mask >>>= 1) {
      if ((mask & 1) === 0) continue
      const r = this.#appendTo(w, data, start, end, partition, position, watermark, primary)
      primary = false
      if (r !== undefined) (waits ??= []).push(r)
    }
    if (waits === undefined) {
      owned.next = position + 1
      return undefined
    }
    this.#appending++
    return Promise.all(waits).then(
      () => { owned.next = position + 1 }
    ).finally(() => {
      if (--this.#appending === 0) for (const f of this.#appendWaiters.splice(0)) f()
    })
  }

  /** Dead-letters a record too large for a ring slot, keeping its first OVERSIZED_KEPT_BYTES as its bytes. */
  #oversized (owned: OwnedPartition, bytes: Uint8Array, partition: number, position: number): void {
    owned.next = position + 1
    const kept = bytes.length > OVERSIZED_KEPT_BYTES ? bytes.slice(0, OVERSIZED_KEPT_BYTES) : bytes.slice()
    this.#deadLetter({
      index: -1, partition, position, code: 'TK_INPUT', late: false, bytes: kept,
      reason: `record of ${bytes.length} bytes is larger than a ring slot (${this.#slotDataBytes} bytes; raise it with --ring-slot-bytes)${kept.length < bytes.length ? `; its first ${kept.length} bytes are kept here` : ''}`
    })
  }

  #appendTo (w: number, data: Uint8Array, start: number, end: number, partition: number, position: number, watermark: number, primary: boolean): Promise<void> | undefined {
    this.#check()
    // The writer is behind (a slow or failed store): the record waits for it. Waiting only once the ring is full
    // would hold back a fast source but never a trickle (records arriving in small bursts, a paced generator, a
    // Kafka topic at a moderate rate): its slots go out part-filled and come back, so the ring never fills, and the
    // writer's log would grow for as long as the store is down.
    if (this.#writer.backpressured) return this.#waitAndAppend(w, data.slice(start, end), partition, position, watermark, primary)
    const slot = this.#pool.filling(w)
    if (slot !== null && slot.append(data, start, end, partition, position, watermark, primary)) {
      if (slot.full) this.#dispatch(w)
      return undefined
    }
    // Every slot of worker w is queued or running: the source outruns it, so its next batches may be larger.
    if (slot === null) this.#sizer.outrun(w)
    if (slot !== null && slot.count === 0) {
      throw new TilekilnError('TK_SOURCE', `a record of ${end - start} bytes does not fit in a ring slot (${slot.view.data.length} bytes); raise the slot size`, { partition, position })
    }
    // Full slot: dispatch it and wait for a free one (and for the writer, if it is behind).
    if (slot !== null) this.#dispatch(w)
    return this.#waitAndAppend(w, data.slice(start, end), partition, position, watermark, primary)
  }

  /** `bytes` is the record's own copy: the source may reuse its buffer once the push returned. */
  async #waitAndAppend (w: number, bytes: Uint8Array, partition: number, position: number, watermark: number, primary: boolean): Promise<void> {
    for (;;) {
      await this.#writer.ready()
      const slot = this.#pool.filling(w)
      if (slot !== null && slot.append(bytes, 0, bytes.length, partition, position, watermark, primary)) {
        if (slot.full) this.#dispatch(w)
        return
      }
      if (slot !== null) this.#dispatch(w)
      await this.#pool.waitForSlot(w)
      this.#check()
    }
  }

  #dispatch (w: number): void {
    this.#lastSentVersion[w] = this.#book.version
    if (!this.#pool.dispatchBatch(w, this.#closes(), Date.now())) return
    this.metrics.inc(M.workerBatches)
    this.metrics.setLabelled(M.batchLimit, w, this.#sizer.limit(w))
  }

  /** A part-filled batch lingered out to idle worker w: the worker waited for records, so its batches are small again. */
  #lingeredOut (w: number): void {
    this.#sizer.waited(w)
    this.#dispatch(w)
  }

  #flushAll (): void {
    for (let w = 0; w < this.#workers; w++) if (this.#pool.hasPending(w)) this.#dispatch(w)
  }

  // ---- periodic work -----------------------------------------------------------------------------------------

  #onClock (linger: number): void {
    const now = Date.now()
    // A cut drains and snapshots: no tile may close behind its back.
    if (this.#failure !== null || this.#coordinator.busy) return
    for (let w = 0; w < this.#workers; w++) {
      // Adaptive batching: a partly filled slot goes out after the linger time only to an idle worker — a busy one
      // would just queue it, so it keeps filling (bigger batches, fewer tasks) until the worker is free (#onResult).
      if (this.#pool.pendingSince(w) <= now - linger && this.#pool.inFlight(w) === 0 && !this.#writer.backpressured) {
        this.#lingeredOut(w)
        continue
      }
      // Idle worker: tell it when a clock moved or a buffered trigger is due. Never while records wait for it
      // here: they must reach it before any closing computed after they arrived.
      if (this.#pool.inFlight(w) > 0 || this.#pool.hasPending(w)) continue
      const moved = this.#book.version !== this.#lastSentVersion[w]
      if ((moved && now - this.#lastTickAt[w]! >= TICK_MILLIS) || this.#nextTimer[w]! <= now) {
        this.#lastSentVersion[w] = this.#book.version
        this.#nextTimer[w] = Infinity
        this.#lastTickAt[w] = now
        this.#pool.tick(w, this.#closes(), now)
      }
    }
    this.metrics.set(M.queuedPuts, this.#writer.queuedPuts)
  }

  /**
   * Gauges for /metrics, every second: per partition lag, watermark, epoch, records (a partition gone is
   * forgotten); per worker state and load; the writer's queue, requests in flight and slow requests.
   */
  #partitionGauges (): void {
    const m = this.metrics
    for (const p of this.#book.all()) {
      m.setPartition(M.partitionLag, p.partition, p.lag)
      m.setPartition(M.partitionWatermark, p.partition, this.#ended ? Infinity : p.clock.closing)
      m.setPartition(M.partitionEpoch, p.partition, p.epoch)
      m.setPartition(M.partitionRecords, p.partition, p.records)
    }
    m.set(M.ownedPartitions, this.#book.size)
    const now = performance.now()
    const span = now - this.#busyAt
    for (let w = 0; w < this.#workerStats.length; w++) {
      const s = this.#workerStats[w]!
      m.setLabelled(M.liveKeys, w, s.liveKeys)
      m.setLabelled(M.liveEntries, w, s.liveEntries)
      m.setLabelled(M.stateBytes, w, s.stateBytes)
      if (this.#pool === undefined) continue
      const busy = this.#pool.busyMillis(w, now)
      if (span > 0) this.#load[w] = Math.min(1, (busy - (this.#busyBefore[w] ?? 0)) / span)
      this.#busyBefore[w] = busy
      m.setLabelled(M.workerBusy, w, this.#load[w] ?? 0)
    }
    this.#busyAt = now
    if (this.#writer !== undefined) {
      m.set(M.queuedPuts, this.#writer.queuedPuts)
      m.set(M.inflightRequests, this.#writer.inFlight)
      m.set(M.kvTimeouts, this.#writer.timeouts)
    }
  }

  /**
   * Readiness (`/readyz`): null when the engine is running with its store and source connected and neither is
   * stalled; otherwise why not.
   */
  notReady (now = Date.now()): string | null {
    if (this.#failure !== null) return `the run failed: ${describeError(this.#failure)}`
    if (this.#abort.signal.aborted) return 'stopping'
    if (!this.#storeConnected) return `connecting to the store ${this.#o.store.description}`
    if (this.#sourceTrouble !== null && now - this.#sourceTrouble.at < SOURCE_TROUBLE_MILLIS) return `the source is not reading: ${this.#sourceTrouble.why}`
    if (!this.#sourceConnected) return `connecting to the source ${this.#source.description}`
    if (this.#storeTroubleSince !== 0 && now - this.#storeTroubleSince >= STALL_MILLIS) {
      return `the store writer is stalled: the store has failed or been slow for ${((now - this.#storeTroubleSince) / 1000).toFixed(0)} s (${this.#writer?.queuedPuts ?? 0} writes waiting)`
    }
    return null
  }

  /** Liveness (`/healthz`): null while the engine can still make progress; otherwise why it cannot. */
  notLive (): string | null {
    return this.#failure === null ? null : `the run failed: ${describeError(this.#failure)}`
  }

  /** Each worker's load over the last second (fraction of time it had work) and state, as of its last batch. */
  workers (): WorkerProgress[] {
    // (#workerStats is empty until run() made the sizer.)
    return this.#workerStats.map((s, w) => ({ worker: w, load: this.#load[w] ?? 0, liveKeys: s.liveKeys, openTiles: s.liveEntries, stateBytes: s.stateBytes, batchRecords: this.#sizer.limit(w) }))
  }

  /** The store took the run's serving info: the store is reachable, and readers can bind to it. */
  get storeConnected (): boolean { return this.#storeConnected }

  /** A snapshot of the run so far (what `onProgress` gets). */
  progress (): Progress {
    return this.#progress(this.#startedAt)
  }

  // ---- results -----------------------------------------------------------------------------------------------

  #onResult (d: Dispatched, r: TaskResult): void {
    // The worker is free: hand it what waited for it, if that waited long enough already.
    if (this.#pool.inFlight(d.worker) === 0 && this.#pool.pendingSince(d.worker) <= Date.now() - (this.#o.lingerMillis ?? DEFAULT_LINGER_MILLIS) && this.#gate === null) this.#lingeredOut(d.worker)
    const m = this.metrics
    m.inc(M.recordsIn, d.slot === null ? 0 : d.slot.primaries)
    m.inc(M.rows, r.rows)
    m.inc(M.filtered, r.filtered)
    m.inc(M.tilesClosed, r.closedTiles)
    if (r.late > 0) m.inc(M.lateEvents, r.late)
    if (r.crossings > 0) this.#crossed(r.crossings, r.crossingSample)
    for (let i = 0; i < r.unmergeableRollups.length; i++) this.#unmergeable(r.unmergeableRollups[i]!)
    for (let i = 0; i < r.exprEvalMicros.length; i++) m.record(M.exprEvalTime, r.exprEvalMicros[i]!)
    this.#nextTimer[d.worker] = r.nextTimer
    this.#workerStats[d.worker] = { liveKeys: r.liveKeys, liveEntries: r.liveEntries, stateBytes: r.stateBytes }
    for (const dl of r.deadLetters) this.#deadLetter(dl)
    const backAt = Date.now()
    const meta: BatchMeta = d.slot === null
      ? { records: 0, firstAt: backAt, sentAt: backAt, backAt }
      : { records: d.slot.primaries, firstAt: d.slot.firstAt, sentAt: d.task.kind === 'batch' ? d.task.now : backAt, backAt }
    if (r.puts !== null) {
      if (this.#o.untiled === true) {
        this.#writer.enqueue(new EventPuts(r.puts), meta)
      } else {
        const parts = r.putPartitions ?? new Int32Array(0)
        const ps = distinct(parts)
        let first: number[] | undefined
        if (meta.records > 0) {
          for (const p of ps) {
            const owned = this.#book.get(p)
            if (owned !== undefined && owned.firstWrite === 'pending') { owned.firstWrite = 'queued'; (first ??= []).push(p) }
          }
        }
        this.#writer.enqueue(new TilePuts(r.puts, parts, r.putLatest ?? undefined), first === undefined ? meta : { ...meta, first }, this.#fence(ps))
      }
    } else {
      this.#durable(meta, 0)
    }
    // Rolled-up tiles, after the fine tiles they were made of (records are counted with those).
    for (const ru of r.rollups) this.#writer.enqueue(new TilePuts(ru.puts, ru.partitions, ru.latest, ru.tileSizeMillis), { ...meta, records: 0 }, this.#fence(distinct(ru.partitions)))
  }

  #crossed (rows: number, sample: string | null): void {
    this.metrics.inc(M.crossPartitionRows, rows)
    if (this.#crossLogged) return
    this.#crossLogged = true
    this.#log.warn(`an entity key arrives from more than one partition (${sample ?? 'example unavailable'}): the topic is not keyed by the entity, so partitions cannot be owned independently. Each key's state stays with the partition it came from first; with several daemons, run with --repartition. Counted in ${M.crossPartitionRows}; logged once. [groupBy=${this.plan.name}]`)
  }

  /**
   * A rolled-up tile whose fine tiles do not merge (worker/rollups.ts). Not a dead letter: every record is in its fine
   * tile, and reads are right (they take the fine tiles); what is lost is only the shortcut, so it is counted and
   * logged, with where it is.
   */
  #unmergeable (u: TaskResult['unmergeableRollups'][number]): void {
    this.metrics.inc(M.rollupUnmergeable)
    const iso = (ms: number): string => new Date(ms).toISOString()
    this.#unmergeableLog.line(`the rolled-up ${u.tileSizeMillis} ms tile [${iso(u.tileStart)}, ${iso(u.tileStart + u.tileSizeMillis)}) of key ${u.key} cannot be made: its fine tile at ${iso(u.fineTileStart)} does not merge with the earlier ones (${u.reason}). Its fine tiles are written as they are and reads take them instead; the rolled-up tile is written empty and not complete. Counted in ${M.rollupUnmergeable}. [groupBy=${this.plan.name}, key=${u.key}, partition=${u.partition}, tileStart=${u.tileStart}, tileSizeMillis=${u.tileSizeMillis}, fineTileStart=${u.fineTileStart}]`)
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
    this.#dlqLog.line(`dead letter (${this.#source.positionName} ${dl.position}${dl.partition > 0 ? `, partition ${dl.partition}` : ''}): ${dl.reason} [groupBy=${this.plan.name}, code=${dl.code}] → ${this.#o.deadLetters.description}`)
  }

  #durable (meta: BatchMeta, puts: number): void {
    // Only an acknowledged write says the store is back (a batch without puts never reached it).
    if (this.#storeTroubleSince !== 0 && puts > 0) {
      this.#log.info({ store: this.#o.store.description }, `the store acknowledges writes again, ${((Date.now() - this.#storeTroubleSince) / 1000).toFixed(1)} s after its trouble began [store=${this.#o.store.description}]`)
      this.#storeTroubleSince = 0
    }
    this.#acked += meta.records
    if (puts > 0) this.metrics.inc(M.kvSuccesses, puts)
    if (meta.records > 0) {
      const now = Date.now()
      this.metrics.record(M.latency, now - meta.firstAt, meta.records)
      this.metrics.record(M.latencyBatching, meta.sentAt - meta.firstAt, meta.records)
      this.metrics.record(M.latencyWorker, meta.backAt - meta.sentAt, meta.records)
      this.metrics.record(M.latencyStore, now - meta.backAt, meta.records)
    }
    if (meta.first !== undefined) {
      const now = Date.now()
      for (const p of meta.first) {
        const owned = this.#book.get(p)
        if (owned === undefined || owned.firstWrite !== 'queued') continue
        owned.firstWrite = 'done'
        this.metrics.record(M.firstWrite, now - owned.assignedAt)
        this.#log.info({ partition: p }, `partition ${p}: tiles of its first records written ${now - owned.assignedAt} ms after it was assigned (at ${new Date(now).toISOString()})`)
      }
    }
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
    const parts: PartitionProgress[] = this.#book.all().map(p => ({
      partition: p.partition,
      epoch: p.epoch,
      next: p.next,
      lag: p.lag,
      watermark: this.#ended ? Infinity : p.clock.closing,
      maxEventTime: p.clock.maxEventTime,
      records: p.records
    }))
    let wm = Infinity
    for (const p of parts) if (p.watermark < wm) wm = p.watermark
    return {
      elapsedMillis: elapsed,
      records: this.#records,
      bytesIn: this.#bytesIn,
      rows: this.metrics.counter(M.rows),
      eventsPerSecond: elapsed > 0 ? this.#acked / (elapsed / 1000) : 0,
      tilesWritten: this.#writer?.written ?? 0,
      deadLetters: this.metrics.counter(M.deadLetters),
      lateEvents: this.metrics.counter(M.lateEvents),
      watermark: parts.length === 0 ? -Infinity : wm,
      lagRecords: this.#records - this.#acked,
      eventTimeLagMillis: Number.isFinite(this.#maxEventTime) ? Date.now() - this.#maxEventTime : NaN,
      liveKeys: s.reduce((a, x) => a + x.liveKeys, 0),
      liveEntries: s.reduce((a, x) => a + x.liveEntries, 0),
      stateBytes: s.reduce((a, x) => a + x.stateBytes, 0),
      queuedPuts: this.#writer?.queuedPuts ?? 0,
      partitions: parts,
      fencedWrites: this.metrics.counter(M.fencedWrites)
    }
  }
}

/**
 * The batch sizes of a run: explicit ones, else bounded by an explicit ring slot's room, else the defaults (the
 * sizer checks them).
 */
function batchSizes (o: EngineOptions): BatchSizes {
  const room = o.ring?.maxRecords
  const records = o.batch?.records ?? Math.min(DEFAULT_BATCH_RECORDS, room ?? Infinity)
  return { records, maxRecords: o.batch?.maxRecords ?? Math.max(records, room ?? DEFAULT_MAX_BATCH_RECORDS) }
}

function distinct (parts: Int32Array): number[] {
  const out: number[] = []
  for (let i = 0; i < parts.length; i++) if (!out.includes(parts[i]!)) out.push(parts[i]!)
  return out
}
