// The client layer on @platformatic/kafka 1.35 (pure TS; 1.35 is the last line whose engines include Node 20).
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
import { Admin, Consumer, FetchIsolationLevels, IS_CONTROL, Producer, ProduceAcks } from '@platformatic/kafka'
import type { ClusterMetadata, GroupAssignment, RecordsBatch } from '@platformatic/kafka'
import {
  deferred, EMPTY_HEADERS, isThenable, ProduceQueue, sourceError, toBuffer,
  type ConsumeOptions, type KafkaAdmin, type KafkaClient, type KafkaClientOptions, type KafkaConsumer, type KafkaHeaders,
  type KafkaProducer, type KafkaRecord, type PartitionOffsets, type ProducerOptions, type ProducerRecord, type RecordBatch, type TopicSpec
} from './kafka-client.ts'

type BufferConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>
type FetchResponse = Awaited<ReturnType<BufferConsumer['fetch']>>

const TIMESTAMP_LOG_APPEND_TIME = 0x08
const LATEST = -1n
const EARLIEST = -2n

interface BaseConfig {
  clientId: string
  bootstrapBrokers: string[]
  connectTimeout: number
  timeout: number
  tls?: object
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string }
}

function baseConfig (brokers: string[], o: KafkaClientOptions, suffix: string): BaseConfig {
  const cfg: BaseConfig = {
    clientId: `${o.clientId ?? 'tilekiln'}-${suffix}`,
    bootstrapBrokers: brokers,
    connectTimeout: o.connectionTimeoutMs ?? 3000,
    timeout: o.requestTimeoutMs ?? 30_000
  }
  if (o.ssl !== undefined && o.ssl !== false) cfg.tls = o.ssl === true ? {} : o.ssl
  if (o.sasl !== undefined) {
    const mechanism = o.sasl.mechanism === 'plain' ? 'PLAIN' : o.sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512'
    cfg.sasl = { mechanism, username: o.sasl.username, password: o.sasl.password }
  }
  return cfg
}

/** Kafka error names carried by a platformatic error (ResponseError holds one ProtocolError per failed partition). */
function protocolErrors (e: unknown): Array<{ id: string, path: string }> {
  const out: Array<{ id: string, path: string }> = []
  const walk = (x: unknown): void => {
    if (typeof x !== 'object' || x === null) return
    const r = x as { apiId?: unknown, path?: unknown, errors?: unknown, cause?: unknown }
    if (typeof r.apiId === 'string') out.push({ id: r.apiId, path: typeof r.path === 'string' ? r.path : '' })
    if (Array.isArray(r.errors)) for (const y of r.errors) walk(y)
    if (r.cause !== undefined && r.cause !== x) walk(r.cause)
  }
  walk(e)
  return out
}

export class PlatformaticClient implements KafkaClient {
  readonly library = 'platformatic' as const
  readonly brokers: readonly string[]
  readonly #opts: KafkaClientOptions

  constructor (brokers: string[], options: KafkaClientOptions) {
    this.brokers = brokers
    this.#opts = options
  }

  consumer (options: ConsumeOptions): KafkaConsumer {
    return new PlatformaticConsumer(baseConfig([...this.brokers], this.#opts, 'consumer'), options)
  }

  producer (options: ProducerOptions = {}): KafkaProducer {
    return new PlatformaticProducer(baseConfig([...this.brokers], this.#opts, 'producer'), options)
  }

  async admin (): Promise<KafkaAdmin> {
    const cfg = baseConfig([...this.brokers], this.#opts, 'admin')
    const admin = new Admin(cfg)
    try {
      await admin.metadata({ topics: [] })
    } catch (e) {
      await admin.close().catch(() => {})
      throw sourceError('cannot connect to Kafka', { broker: this.brokers.join(',') }, e)
    }
    return new PlatformaticAdmin(admin, this.brokers.join(','))
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    const admin = await this.admin()
    try { return await admin.endOffsets(topic) } finally { await admin.close() }
  }
}

interface Pending {
  batch: RecordBatch
  /** Offset the batch was fetched from: where #next goes back to if the batch is dropped. */
  from: number
  generation: number
}

class PlatformaticConsumer implements KafkaConsumer {
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
    this.#opts.onError?.(sourceError(message, this.#ctx(extra), e))
  }

  async start (): Promise<void> {
    if (this.#consumer !== null) throw sourceError('consumer already started', this.#ctx())
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
      throw sourceError('cannot start the Kafka consumer', this.#ctx(), e)
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
        const err = sourceError('cannot set up the assigned partitions', this.#ctx({ partitions: partitions.join(','), attempt }), e)
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
    if (!this.#assignedSet.has(partition)) throw sourceError('cannot seek a partition that is not assigned to this consumer', this.#ctx({ partition, offset }))
    if (!Number.isSafeInteger(offset) || offset < 0) throw sourceError('a seek offset must be a non-negative integer', this.#ctx({ partition, offset }))
    this.#next.set(partition, offset)
    this.#wakeUp()
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    const c = this.#consumer
    if (c === null) throw sourceError('cannot commit before start()', this.#ctx())
    if (offsets.size === 0) return
    try {
      await c.commit({ offsets: [...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset: BigInt(offset), leaderEpoch: -1 })) })
    } catch (e) {
      throw sourceError('cannot commit offsets', this.#ctx({ offsets: [...offsets].map(([p, o]) => `${p}:${o}`).join(',') }), e)
    }
  }

  async committed (): Promise<Map<number, number>> {
    const c = this.#consumer
    if (c === null) throw sourceError('cannot read committed offsets before start()', this.#ctx())
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
      throw sourceError('cannot read committed offsets', this.#ctx(), e)
    }
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#first.reject(sourceError('consumer stopped before its first assignment', this.#ctx()))
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

class PlatformaticProducer implements KafkaProducer {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #brokers: string
  readonly #queue: ProduceQueue

  constructor (cfg: BaseConfig, options: ProducerOptions) {
    const idempotent = options.idempotent ?? true
    const acks = options.acks === 'none' ? ProduceAcks.NO_RESPONSE : options.acks === 'leader' ? ProduceAcks.LEADER : ProduceAcks.ALL
    if (idempotent && acks !== ProduceAcks.ALL) throw sourceError('an idempotent producer needs acks=all', { broker: cfg.bootstrapBrokers.join(',') })
    this.#brokers = cfg.bootstrapBrokers.join(',')
    this.#queue = new ProduceQueue(idempotent)
    this.#producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ ...cfg, idempotent, acks, compression: options.compression === 'gzip' ? 'gzip' : 'none', autocreateTopics: false } as ConstructorParameters<typeof Producer<Buffer, Buffer, Buffer, Buffer>>[0])
  }

  async connect (): Promise<void> {
    try {
      await this.#producer.metadata({ topics: [] })
    } catch (e) {
      throw sourceError('cannot connect the Kafka producer', { broker: this.#brokers }, e)
    }
  }

  async send (topic: string, records: readonly ProducerRecord[]): Promise<void> {
    const messages = records.map(r => {
      const m: { topic: string, key?: Buffer, value?: Buffer, partition?: number, headers?: Map<Buffer, Buffer>, timestamp?: bigint } = { topic }
      if (r.key !== undefined && r.key !== null) m.key = toBuffer(r.key)
      if (r.value !== null) m.value = toBuffer(r.value)
      if (r.partition !== undefined) m.partition = r.partition
      if (r.headers !== undefined) m.headers = new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), toBuffer(v)]))
      if (r.timestamp !== undefined) m.timestamp = BigInt(r.timestamp)
      return m
    })
    await this.#queue.run(async () => await this.#producer.send({ messages }), { topic, broker: this.#brokers, records: records.length })
  }

  async close (): Promise<void> {
    await this.#queue.settled()
    await this.#producer.close()
  }
}

class PlatformaticAdmin implements KafkaAdmin {
  readonly #admin: Admin
  readonly #brokers: string

  constructor (admin: Admin, brokers: string) {
    this.#admin = admin
    this.#brokers = brokers
  }

  async createTopic (name: string, spec: TopicSpec): Promise<boolean> {
    let created = true
    try {
      await this.#admin.createTopics({
        topics: [name],
        partitions: spec.partitions,
        replicas: spec.replicationFactor ?? 1,
        configs: Object.entries(spec.config ?? {}).map(([n, value]) => ({ name: n, value }))
      })
    } catch (e) {
      if (!protocolErrors(e).some(x => x.id === 'TOPIC_ALREADY_EXISTS')) {
        throw sourceError('cannot create topic', { topic: name, partitions: spec.partitions, broker: this.#brokers }, e)
      }
      created = false
    }
    // CreateTopics returns before the partitions have leaders; clients would get LEADER_NOT_AVAILABLE until then.
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        const md = await this.#admin.metadata({ topics: [name], forceUpdate: true })
        const t = md.topics.get(name)
        if (t !== undefined && t.partitions.length > 0 && t.partitions.every(p => p.leader >= 0)) return created
      } catch {}
      if (Date.now() > deadline) throw sourceError('topic has no partition leaders 30 s after creation', { topic: name, broker: this.#brokers })
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  async deleteTopic (name: string): Promise<void> {
    try {
      await this.#admin.deleteTopics({ topics: [name] })
    } catch (e) {
      throw sourceError('cannot delete topic', { topic: name, broker: this.#brokers }, e)
    }
  }

  async partitionCount (topic: string): Promise<number> {
    try {
      const md = await this.#admin.metadata({ topics: [topic], forceUpdate: true })
      return md.topics.get(topic)?.partitionsCount ?? 0
    } catch (e) {
      throw sourceError('cannot read topic metadata', { topic, broker: this.#brokers }, e)
    }
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, LATEST)
  }

  async startOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, EARLIEST)
  }

  async #offsets (topic: string, timestamp: bigint): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic)
    try {
      const res = await this.#admin.listOffsets({
        topics: [{ name: topic, partitions: Array.from({ length: n }, (_, partitionIndex) => ({ partitionIndex, timestamp })) }],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED
      })
      const out = new Map<number, number>()
      for (const t of res) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset))
      return new Map([...out].sort((a, b) => a[0] - b[0]))
    } catch (e) {
      throw sourceError('cannot read topic offsets', { topic, broker: this.#brokers }, e)
    }
  }

  async committedOffsets (groupId: string, topic: string): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic)
    try {
      const res = await this.#admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: Array.from({ length: n }, (_, i) => i) }] }] })
      const out = new Map<number, number>()
      for (const g of res) for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset))
      return out
    } catch (e) {
      throw sourceError('cannot read committed offsets', { topic, groupId, broker: this.#brokers }, e)
    }
  }

  async close (): Promise<void> {
    await this.#admin.close()
  }
}
