// The consumer on @platformatic/kafka 1.35.
//
// Its MessagesStream pushes one object per record into an object-mode Readable (and binds a commit closure per
// record), which measured slower than kafkajs. So only its group membership (join/sync/heartbeat, which run on their
// own timers and so never depend on our loop), its connection handling and its low-level Fetch are used here, and the
// fetch loop is ours: per-partition batches straight from the decoded record batches, per-partition pause, seek.
//
// Fetch loop invariants:
// - #next[p] is the offset the engine has not yet seen for partition p (its next fetch position).
// - One fetch per partition leader is in flight; it is issued before the previous response is delivered, so the
//   broker works while the engine does. A response for p is used only if it was requested at #next[p] and p is
//   still assigned, unpaused, and of the current generation; otherwise it is dropped and fetched again.
// - A batch accepted but not yet delivered when its partition is paused or seeked is dropped the same way, and #next
//   is put back to where that batch started (unless a seek moved it), so nothing is skipped.
import { Consumer, FetchIsolationLevels, IS_CONTROL } from '@platformatic/kafka'
import type { ClusterMetadata, GroupAssignment, RecordsBatch } from '@platformatic/kafka'
import { deferred, EMPTY_HEADERS, isThenable, kafkaError } from '../shared.ts'
import type { ConsumeOptions, KafkaConsumer, KafkaHeaders, KafkaRecord, PartitionOffsets, RecordBatch } from '../types.ts'
import { EARLIEST, LATEST, protocolErrors, type BaseConfig } from './config.ts'

type BufferConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>
type FetchResponse = Awaited<ReturnType<BufferConsumer['fetch']>>

const TIMESTAMP_LOG_APPEND_TIME = 0x08

interface Pending {
  batch: RecordBatch
  /** Offset the batch was fetched from: where #next goes back to if the batch is dropped. */
  from: number
  generation: number
}

export class PlatformaticConsumer implements KafkaConsumer {
  readonly topic: string
  readonly groupId: string
  readonly #cfg: BaseConfig
  readonly #opts: ConsumeOptions
  #consumer: BufferConsumer | null = null
  #assigned: number[] = []
  readonly #assignedSet = new Set<number>()
  readonly #userPaused = new Set<number>()
  /** True while onAssigned runs for the current generation: nothing is fetched. */
  #assigning = false
  readonly #next = new Map<number, number>()
  #generation = 0
  #first = deferred()
  #stopped = false
  #loop: Promise<void> | null = null
  #wake: (() => void) | null = null
  readonly #maxWait: number
  readonly #maxBytes: number
  readonly #maxBytesPerPartition: number
  readonly #minBytes: number

  constructor (cfg: BaseConfig, options: ConsumeOptions) {
    this.#cfg = cfg
    this.#opts = options
    this.topic = options.topic
    this.groupId = options.groupId
    this.#maxWait = options.maxWaitMs ?? 500
    this.#maxBytes = options.maxBytes ?? 16 << 20
    this.#maxBytesPerPartition = options.maxBytesPerPartition ?? 4 << 20
    this.#minBytes = options.minBytes ?? 1
  }

  #ctx (extra: Record<string, string | number | undefined> = {}): Record<string, string | number | undefined> {
    return { topic: this.topic, groupId: this.groupId, broker: this.#cfg.bootstrapBrokers.join(','), ...extra }
  }

  #report (message: string, e: unknown, extra: Record<string, string | number | undefined> = {}): void {
    if (this.#stopped) return
    this.#opts.onError?.(kafkaError(message, this.#ctx(extra), e))
  }

  async start (): Promise<void> {
    if (this.#consumer !== null) throw kafkaError('consumer already started', this.#ctx())
    const o = this.#opts
    const c = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...this.#cfg,
      groupId: o.groupId,
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3000,
      maxWaitTime: this.#maxWait,
      minBytes: this.#minBytes,
      maxBytes: this.#maxBytes,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED
    } as ConstructorParameters<typeof Consumer<Buffer, Buffer, Buffer, Buffer>>[0])
    this.#consumer = c
    // An EventEmitter throws on an 'error' event nobody listens to.
    c.on('error', (e: unknown) => { this.#report('Kafka consumer error', e) })
    c.on('consumer:heartbeat:error', (p: { error: Error }) => { this.#report('Kafka group heartbeat failed', p.error) })
    c.on('consumer:group:rebalance', () => { this.#revokeAll() })
    c.on('consumer:group:join', (p: { assignments?: GroupAssignment[] }) => {
      this.#onJoin(p.assignments?.find(a => a.topic === this.topic)?.partitions ?? [])
    })
    c.topics.track(this.topic)
    try {
      await c.joinGroup({})
      await this.#first.promise
    } catch (e) {
      await this.stop().catch(() => {})
      throw kafkaError('cannot start the Kafka consumer', this.#ctx(), e)
    }
    this.#loop = this.#run()
  }

  #onJoin (partitions: number[]): void {
    if (this.#stopped) return
    if (this.#assigned.length > 0) this.#revokeAll()
    const gen = ++this.#generation
    this.#assigned = [...partitions].sort((a, b) => a - b)
    for (const p of this.#assigned) this.#assignedSet.add(p)
    for (const p of this.#userPaused) if (!this.#assignedSet.has(p)) this.#userPaused.delete(p)
    this.#assigning = true
    void this.#resolveStart(gen, this.#assigned)
  }

  /** Starting offsets of newly assigned partitions: onAssigned's seeks, else committed, else startFrom. */
  async #resolveStart (gen: number, partitions: number[]): Promise<void> {
    const c = this.#consumer
    if (c === null) return
    for (let attempt = 0; ; attempt++) {
      try {
        const start = new Map<number, number>()
        if (partitions.length > 0) {
          const committed = await c.listCommittedOffsets({ topics: [{ topic: this.topic, partitions }] })
          const list = committed.get(this.topic) ?? []
          for (const p of partitions) {
            const off = list[p]
            if (off !== undefined && off >= 0n) start.set(p, Number(off))
          }
          const missing = partitions.filter(p => !start.has(p))
          if (missing.length > 0) {
            const offs = await c.listOffsets({ topics: [this.topic], partitions: { [this.topic]: missing }, timestamp: this.#opts.startFrom === 'latest' ? LATEST : EARLIEST })
            const arr = offs.get(this.topic) ?? []
            for (const p of missing) start.set(p, Number(arr[p] ?? 0n))
          }
        }
        if (gen !== this.#generation || this.#stopped) return
        const seeks = await this.#opts.onAssigned?.(partitions)
        if (gen !== this.#generation || this.#stopped) return
        if (seeks !== undefined && seeks !== null) {
          for (const [p, off] of seeks) if (this.#assignedSet.has(p)) start.set(p, off)
        }
        for (const [p, off] of start) this.#next.set(p, off)
        this.#assigning = false
        this.#first.resolve()
        this.#wakeUp()
        return
      } catch (e) {
        if (gen !== this.#generation || this.#stopped) return
        const err = kafkaError('cannot set up the assigned partitions', this.#ctx({ partitions: partitions.join(','), attempt }), e)
        if (attempt === 0) this.#first.reject(err)
        this.#opts.onError?.(err)
        await new Promise(resolve => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)))
      }
    }
  }

  #revokeAll (): void {
    const revoked = this.#assigned
    this.#assigned = []
    this.#assignedSet.clear()
    this.#next.clear()
    this.#generation++
    if (revoked.length > 0) this.#opts.onRevoked?.(revoked)
  }

  #wakeUp (): void {
    const w = this.#wake
    this.#wake = null
    w?.()
  }

  async #idle (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const t = setTimeout(() => { this.#wake = null; resolve() }, ms)
      this.#wake = () => { clearTimeout(t); resolve() }
    })
  }

  /** Partitions to fetch now, grouped by leader, with the offsets they are fetched from. */
  #plan (md: ClusterMetadata): Map<number, Array<{ partition: number, offset: number }>> | null {
    if (this.#assigning) return null
    const tm = md.topics.get(this.topic)
    if (tm === undefined) return null
    let plan: Map<number, Array<{ partition: number, offset: number }>> | null = null
    for (const p of this.#assigned) {
      if (this.#userPaused.has(p)) continue
      const offset = this.#next.get(p)
      if (offset === undefined) continue
      const leader = tm.partitions[p]?.leader ?? -1
      if (leader < 0) continue
      plan ??= new Map()
      let l = plan.get(leader)
      if (l === undefined) { l = []; plan.set(leader, l) }
      l.push({ partition: p, offset })
    }
    return plan
  }

  /**
   * Fetches from every leader and returns a function that *accepts* the responses (turns them into batches and
   * advances #next). The caller accepts only after it delivered the previous batches: accepting a prefetched
   * response earlier would move #next under batches still waiting to be delivered, and they would be dropped as if
   * seeked — losing their records.
   */
  async #fetchAll (): Promise<(() => Pending[]) | null> {
    const c = this.#consumer
    if (c === null) return null
    const gen = this.#generation
    let md: ClusterMetadata
    try {
      md = await c.metadata({ topics: [this.topic] })
    } catch (e) {
      this.#report('cannot read topic metadata', e)
      return () => []
    }
    const plan = this.#plan(md)
    if (plan === null) return null
    const topicId = md.topics.get(this.topic)!.id
    const results = await Promise.all([...plan].map(async ([leader, parts]) => {
      try {
        const res = await c.fetch({
          node: leader,
          topics: [{ topicId, partitions: parts.map(x => ({ partition: x.partition, fetchOffset: BigInt(x.offset), partitionMaxBytes: this.#maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
          maxWaitTime: this.#maxWait,
          minBytes: this.#minBytes,
          maxBytes: this.#maxBytes,
          isolationLevel: FetchIsolationLevels.READ_COMMITTED
        })
        return () => this.#accept(res, parts, gen)
      } catch (e) {
        // A partition-level error fails the whole response; the partitions without one still carry data.
        const res = (e as { response?: FetchResponse }).response
        await this.#recover(e, parts, gen)
        return () => (res !== undefined ? this.#accept(res, parts, gen) : [])
      }
    }))
    return () => results.flatMap(accept => accept())
  }

  async #recover (e: unknown, parts: Array<{ partition: number, offset: number }>, gen: number): Promise<void> {
    const c = this.#consumer
    if (c === null || this.#stopped) return
    const ids = protocolErrors(e)
    const outOfRange = ids.filter(x => x.id === 'OFFSET_OUT_OF_RANGE').map(x => Number(/\/partitions\/(\d+)/.exec(x.path)?.[1] ?? -1))
    if (outOfRange.length > 0) {
      // The log was truncated by retention below our position (or we were handed a bogus seek): restart from the
      // policy's end of the log, as the Java client's auto.offset.reset does, and say so.
      const ps = outOfRange.map(i => parts[i]?.partition).filter((p): p is number => p !== undefined)
      try {
        const offs = await c.listOffsets({ topics: [this.topic], partitions: { [this.topic]: ps }, timestamp: this.#opts.startFrom === 'latest' ? LATEST : EARLIEST })
        const arr = offs.get(this.topic) ?? []
        for (const p of ps) {
          const before = this.#next.get(p)
          if (gen === this.#generation && before !== undefined) {
            this.#next.set(p, Number(arr[p] ?? 0n))
            this.#report('fetch offset out of range; reset', e, { partition: p, offset: before, resetTo: Number(arr[p] ?? 0n) })
          }
        }
      } catch (e2) {
        this.#report('cannot reset an out-of-range offset', e2)
      }
      return
    }
    c.clearMetadata()
    this.#report('fetch failed; retrying', e, { partitions: parts.map(p => p.partition).join(',') })
    await new Promise(resolve => setTimeout(resolve, 500))
  }

  /** Turns a fetch response into batches and advances #next past them. */
  #accept (res: FetchResponse, parts: Array<{ partition: number, offset: number }>, gen: number): Pending[] {
    const out: Pending[] = []
    if (gen !== this.#generation) return out
    for (const tr of res.responses) {
      for (const pr of tr.partitions) {
        if (pr.errorCode !== 0) continue
        const p = pr.partitionIndex
        const requested = parts.find(x => x.partition === p)?.offset
        if (requested === undefined || this.#next.get(p) !== requested || this.#userPaused.has(p) || !this.#assignedSet.has(p)) continue
        const batches = pr.records
        if (batches === undefined || batches.length === 0) continue
        const records: KafkaRecord[] = []
        let next = requested
        for (const b of batches) {
          next = this.#decode(b, p, requested, records, next)
        }
        if (next === requested) continue
        this.#next.set(p, next)
        if (records.length === 0) continue
        out.push({ batch: { topic: this.topic, partition: p, records, nextOffset: next, highWatermark: Number(pr.highWatermark) }, from: requested, generation: gen })
      }
    }
    return out
  }

  #decode (b: RecordsBatch, partition: number, from: number, into: KafkaRecord[], next: number): number {
    const first = Number(b.firstOffset)
    const end = first + b.lastOffsetDelta + 1
    // Control batches (transaction markers) hold no data but occupy offsets.
    if ((b.attributes & IS_CONTROL) !== 0) return Math.max(next, end)
    const logAppend = (b.attributes & TIMESTAMP_LOG_APPEND_TIME) !== 0
    const ts0 = Number(b.firstTimestamp)
    const maxTs = Number(b.maxTimestamp)
    const recs = b.records
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i]!
      const offset = first + r.offsetDelta
      // A fetch may start inside a (compressed) batch; records before the requested offset were seen already.
      if (offset < from) continue
      const h = r.headers
      let headers: KafkaHeaders = EMPTY_HEADERS
      if (h.length > 0) {
        const o: Record<string, Buffer> = {}
        for (const [k, v] of h) if (k !== null && v !== null) o[k.toString()] = v
        headers = o
      }
      into.push({ partition, offset, timestamp: logAppend ? maxTs : ts0 + Number(r.timestampDelta), key: r.key, value: r.value, headers })
    }
    return Math.max(next, end)
  }

  async #run (): Promise<void> {
    let inflight: Promise<(() => Pending[]) | null> | null = null
    while (!this.#stopped) {
      inflight ??= this.#fetchAll()
      const accept = await inflight
      inflight = null
      if (this.#stopped) break
      if (accept === null) { await this.#idle(100); continue }
      const got = accept()
      // Ask for the next data before handing this to the engine, so the broker and the engine overlap.
      inflight = this.#fetchAll()
      for (const pend of got) {
        const { batch, from, generation } = pend
        const p = batch.partition
        if (this.#stopped) break
        if (generation !== this.#generation || !this.#assignedSet.has(p)) continue
        if (this.#userPaused.has(p) || this.#next.get(p) !== batch.nextOffset) {
          // Paused or seeked after this was fetched: forget it, and fetch it again from where it began.
          if (this.#next.get(p) === batch.nextOffset) this.#next.set(p, from)
          continue
        }
        try {
          const r = this.#opts.onBatch(batch)
          if (isThenable(r)) await r
        } catch (e) {
          // The engine failed on this batch: put the position back so it is not skipped, stop fetching the
          // partition, and let the engine decide (resume, seek or stop).
          if (this.#next.get(p) === batch.nextOffset) this.#next.set(p, from)
          this.#userPaused.add(p)
          this.#report('onBatch failed; partition paused', e, { partition: p, offset: from })
        }
      }
    }
    if (inflight !== null) await inflight.catch(() => {})
  }

  assignment (): number[] { return [...this.#assigned] }

  pause (partitions?: readonly number[]): void {
    for (const p of partitions ?? this.#assigned) this.#userPaused.add(p)
  }

  resume (partitions?: readonly number[]): void {
    for (const p of partitions ?? [...this.#userPaused]) this.#userPaused.delete(p)
    this.#wakeUp()
  }

  isPaused (partition: number): boolean { return this.#userPaused.has(partition) }

  seek (partition: number, offset: number): void {
    if (!this.#assignedSet.has(partition)) throw kafkaError('cannot seek a partition that is not assigned to this consumer', this.#ctx({ partition, offset }))
    if (!Number.isSafeInteger(offset) || offset < 0) throw kafkaError('a seek offset must be a non-negative integer', this.#ctx({ partition, offset }))
    this.#next.set(partition, offset)
    this.#wakeUp()
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    const c = this.#consumer
    if (c === null) throw kafkaError('cannot commit before start()', this.#ctx())
    if (offsets.size === 0) return
    try {
      await c.commit({ offsets: [...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset: BigInt(offset), leaderEpoch: -1 })) })
    } catch (e) {
      throw kafkaError('cannot commit offsets', this.#ctx({ offsets: [...offsets].map(([p, o]) => `${p}:${o}`).join(',') }), e)
    }
  }

  async committed (): Promise<Map<number, number>> {
    const c = this.#consumer
    if (c === null) throw kafkaError('cannot read committed offsets before start()', this.#ctx())
    try {
      const md = await c.metadata({ topics: [this.topic] })
      const n = md.topics.get(this.topic)?.partitionsCount ?? 0
      const partitions = Array.from({ length: n }, (_, i) => i)
      const res = await c.listCommittedOffsets({ topics: [{ topic: this.topic, partitions }] })
      const out = new Map<number, number>()
      const list = res.get(this.topic) ?? []
      for (const p of partitions) {
        const off = list[p]
        if (off !== undefined && off >= 0n) out.set(p, Number(off))
      }
      return out
    } catch (e) {
      throw kafkaError('cannot read committed offsets', this.#ctx(), e)
    }
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#first.reject(kafkaError('consumer stopped before its first assignment', this.#ctx()))
    this.#wakeUp()
    try {
      await this.#loop
    } finally {
      this.#revokeAll()
      const c = this.#consumer
      if (c !== null) {
        await new Promise<void>(resolve => { c.leaveGroup(false, () => { resolve() }) })
        await new Promise<void>(resolve => { c.close(true, () => { resolve() }) })
      }
    }
  }
}
