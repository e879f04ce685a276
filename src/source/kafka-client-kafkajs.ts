// The client layer on kafkajs 2.2.4 (pure JS; unmaintained since 2023, so it stays behind kafka-client.ts).
//
// kafkajs facts this file leans on (src/consumer/*.js of 2.2.4):
// - GROUP_JOIN is emitted synchronously inside run()/rejoin, before the fetch loop (re)starts, so pausing there
//   guarantees no fetch of a newly assigned partition happens before onAssigned has chosen its offsets.
// - Heartbeats are only sent from the runner loop, between batches, or when eachBatch calls heartbeat(): a slow
//   onBatch must keep calling it (it is throttled to heartbeatInterval internally, so calling it often is free).
// - With eachBatchAutoResolve the runner marks a batch consumed when eachBatch returns, even one we chose not to
//   deliver; we resolve offsets ourselves so a dropped batch (paused or superseded by a seek) is fetched again.
// - After every rejoin kafkajs restarts each partition from the group's *committed* offset: a member that keeps a
//   partition across a rebalance re-reads what it had not committed. onAssigned's seeks are the cure.
// - Only the eager round-robin assignor exists: every rebalance revokes every partition.
import kafkajs from 'kafkajs'
import type { Admin, Consumer, EachBatchPayload, Kafka as KafkaInstance, KafkaConfig, Producer, SASLOptions } from 'kafkajs'
import {
  deferred, EMPTY_HEADERS, isThenable, ProduceQueue, sourceError, toBuffer,
  type ConsumeOptions, type KafkaAdmin, type KafkaClient, type KafkaClientOptions, type KafkaConsumer, type KafkaHeaders,
  type KafkaProducer, type KafkaRecord, type PartitionOffsets, type ProducerOptions, type ProducerRecord, type RecordBatch, type TopicSpec
} from './kafka-client.ts'

const { Kafka, logLevel, Partitioners, CompressionTypes } = kafkajs

function kafkaLogLevel (): number {
  // Errors reach the caller as exceptions or onError; kafkajs's own log is for debugging the library itself.
  switch (process.env.TILEKILN_KAFKA_LOG) {
    case 'debug': return logLevel.DEBUG
    case 'info': return logLevel.INFO
    case 'warn': return logLevel.WARN
    case 'error': return logLevel.ERROR
    default: return logLevel.NOTHING
  }
}

export class KafkajsClient implements KafkaClient {
  readonly library = 'kafkajs' as const
  readonly brokers: readonly string[]
  readonly #kafka: KafkaInstance

  constructor (brokers: string[], options: KafkaClientOptions) {
    this.brokers = brokers
    const config: KafkaConfig = {
      brokers,
      clientId: options.clientId ?? 'tilekiln',
      logLevel: kafkaLogLevel(),
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000
    }
    if (options.ssl !== undefined) config.ssl = options.ssl
    if (options.sasl !== undefined) config.sasl = { ...options.sasl } as SASLOptions
    this.#kafka = new Kafka(config)
  }

  consumer (options: ConsumeOptions): KafkaConsumer {
    return new KafkajsConsumer(this.#kafka, this.brokers.join(','), options)
  }

  producer (options: ProducerOptions = {}): KafkaProducer {
    return new KafkajsProducer(this.#kafka, this.brokers.join(','), options)
  }

  async admin (): Promise<KafkaAdmin> {
    const admin = this.#kafka.admin()
    try {
      await admin.connect()
    } catch (e) {
      throw sourceError('cannot connect to Kafka', { broker: this.brokers.join(',') }, e)
    }
    return new KafkajsAdmin(admin, this.brokers.join(','))
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    const admin = await this.admin()
    try { return await admin.endOffsets(topic) } finally { await admin.close() }
  }
}

function headersOf (h: Record<string, unknown> | undefined): KafkaHeaders {
  if (h === undefined) return EMPTY_HEADERS
  let out: Record<string, Buffer> | null = null
  for (const name in h) {
    out ??= {}
    const v = h[name]
    // kafkajs turns a repeated header name into an array of its values.
    const last = Array.isArray(v) ? v[v.length - 1] : v
    if (last !== undefined && last !== null) out[name] = toBuffer(last as Buffer | string)
  }
  return out ?? EMPTY_HEADERS
}

class KafkajsConsumer implements KafkaConsumer {
  readonly topic: string
  readonly groupId: string
  readonly #kafka: KafkaInstance
  readonly #brokers: string
  readonly #opts: ConsumeOptions
  #consumer: Consumer | null = null
  #admin: Admin | null = null
  #assigned: number[] = []
  /** Paused by the engine (backpressure). Survives rebalances for partitions that stay assigned. */
  readonly #userPaused = new Set<number>()
  /** Paused by us while onAssigned runs. */
  readonly #assigning = new Set<number>()
  /** Seeks not yet honoured: a batch is delivered only when it was fetched from this offset. */
  readonly #pendingSeek = new Map<number, string>()
  #generation = 0
  #first = deferred()
  #stopped = false

  constructor (kafka: KafkaInstance, brokers: string, options: ConsumeOptions) {
    this.#kafka = kafka
    this.#brokers = brokers
    this.#opts = options
    this.topic = options.topic
    this.groupId = options.groupId
  }

  #ctx (extra: Record<string, string | number | undefined> = {}): Record<string, string | number | undefined> {
    return { topic: this.topic, groupId: this.groupId, broker: this.#brokers, ...extra }
  }

  async start (): Promise<void> {
    if (this.#consumer !== null) throw sourceError('consumer already started', this.#ctx())
    const o = this.#opts
    const c = this.#kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3000,
      maxWaitTimeInMs: o.maxWaitMs ?? 500,
      minBytes: o.minBytes ?? 1,
      maxBytes: o.maxBytes ?? 16 << 20,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 4 << 20,
      allowAutoTopicCreation: false
    })
    this.#consumer = c
    c.on(c.events.GROUP_JOIN, e => { this.#onJoin(e.payload.memberAssignment[this.topic] ?? []) })
    c.on(c.events.REBALANCING, () => { this.#revokeAll() })
    c.on(c.events.CRASH, e => {
      const err = sourceError(e.payload.restart ? 'Kafka consumer failed and restarts' : 'Kafka consumer failed and stopped', this.#ctx({ fatal: e.payload.restart ? 0 : 1 }), e.payload.error)
      this.#revokeAll()
      this.#first.reject(err)
      this.#opts.onError?.(err)
    })
    try {
      await c.connect()
      await c.subscribe({ topic: this.topic, fromBeginning: o.startFrom !== 'latest' })
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async payload => { await this.#eachBatch(payload) }
      })
      await this.#first.promise
    } catch (e) {
      await this.stop().catch(() => {})
      throw sourceError('cannot start the Kafka consumer', this.#ctx(), e)
    }
  }

  #onJoin (partitions: number[]): void {
    const c = this.#consumer
    if (c === null || this.#stopped) return
    if (this.#assigned.length > 0) this.#revokeAll()
    const gen = ++this.#generation
    this.#assigned = [...partitions].sort((a, b) => a - b)
    for (const p of this.#userPaused) if (!partitions.includes(p)) this.#userPaused.delete(p)
    if (partitions.length === 0) {
      this.#first.resolve()
      return
    }
    for (const p of partitions) this.#assigning.add(p)
    c.pause([{ topic: this.topic, partitions }])
    void (async () => {
      try {
        const seeks = await this.#opts.onAssigned?.(this.#assigned)
        if (gen !== this.#generation || this.#stopped) return
        if (seeks !== undefined && seeks !== null) for (const [p, off] of seeks) this.seek(p, off)
        for (const p of partitions) this.#assigning.delete(p)
        const go = partitions.filter(p => !this.#userPaused.has(p))
        if (go.length > 0) c.resume([{ topic: this.topic, partitions: go }])
        this.#first.resolve()
      } catch (e) {
        // Partitions stay paused: consuming them from an offset the engine did not choose would break its state.
        const err = sourceError('onAssigned failed; the assigned partitions stay paused', this.#ctx({ partitions: partitions.join(',') }), e)
        this.#first.reject(err)
        this.#opts.onError?.(err)
      }
    })()
  }

  #revokeAll (): void {
    const revoked = this.#assigned
    this.#assigned = []
    this.#assigning.clear()
    this.#pendingSeek.clear()
    this.#generation++
    if (revoked.length > 0) this.#opts.onRevoked?.(revoked)
  }

  async #eachBatch ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const p = batch.partition
    if (!isRunning() || isStale() || this.#userPaused.has(p) || this.#assigning.has(p) || !this.#assigned.includes(p)) return
    const pending = this.#pendingSeek.get(p)
    if (pending !== undefined) {
      // Fetched before the seek took effect: drop it, the next fetch starts at the seek offset.
      if ((batch as unknown as { fetchedOffset: string }).fetchedOffset !== pending) return
      this.#pendingSeek.delete(p)
    }
    const msgs = batch.messages
    if (msgs.length === 0) return
    const records: KafkaRecord[] = new Array(msgs.length)
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!
      records[i] = {
        partition: p,
        offset: Number(m.offset),
        timestamp: Number(m.timestamp),
        key: m.key ?? null,
        value: m.value,
        headers: headersOf(m.headers as Record<string, unknown> | undefined)
      }
    }
    const last = msgs[msgs.length - 1]!.offset
    const out: RecordBatch = {
      topic: batch.topic,
      partition: p,
      records,
      nextOffset: Number(last) + 1,
      highWatermark: Number(batch.highWatermark)
    }
    const r = this.#opts.onBatch(out)
    if (isThenable(r)) {
      // kafkajs only heartbeats between batches; keep the membership alive while the engine works on this one.
      const timer = setInterval(() => { heartbeat().catch(() => {}) }, Math.max(100, Math.floor((this.#opts.heartbeatIntervalMs ?? 3000) / 2)))
      try { await r } finally { clearInterval(timer) }
    }
    resolveOffset(last)
  }

  assignment (): number[] { return [...this.#assigned] }

  pause (partitions?: readonly number[]): void {
    const ps = partitions ?? this.#assigned
    for (const p of ps) this.#userPaused.add(p)
    const known = ps.filter(p => this.#assigned.includes(p))
    if (this.#consumer !== null && known.length > 0) this.#consumer.pause([{ topic: this.topic, partitions: known }])
  }

  resume (partitions?: readonly number[]): void {
    const ps = partitions ?? [...this.#userPaused]
    for (const p of ps) this.#userPaused.delete(p)
    const go = ps.filter(p => this.#assigned.includes(p) && !this.#assigning.has(p))
    if (this.#consumer !== null && go.length > 0) this.#consumer.resume([{ topic: this.topic, partitions: go }])
  }

  isPaused (partition: number): boolean { return this.#userPaused.has(partition) }

  seek (partition: number, offset: number): void {
    if (this.#consumer === null || !this.#assigned.includes(partition)) {
      throw sourceError('cannot seek a partition that is not assigned to this consumer', this.#ctx({ partition, offset }))
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw sourceError('a seek offset must be a non-negative integer', this.#ctx({ partition, offset }))
    this.#pendingSeek.set(partition, String(offset))
    this.#consumer.seek({ topic: this.topic, partition, offset: String(offset) })
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    if (this.#consumer === null) throw sourceError('cannot commit before start()', this.#ctx())
    if (offsets.size === 0) return
    try {
      await this.#consumer.commitOffsets([...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset: String(offset) })))
    } catch (e) {
      throw sourceError('cannot commit offsets', this.#ctx({ offsets: [...offsets].map(([p, o]) => `${p}:${o}`).join(',') }), e)
    }
  }

  async committed (): Promise<Map<number, number>> {
    if (this.#admin === null) {
      const admin = this.#kafka.admin()
      await admin.connect()
      this.#admin = admin
    }
    return await committedOf(this.#admin, this.groupId, this.topic, this.#brokers)
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#first.reject(sourceError('consumer stopped before its first assignment', this.#ctx()))
    try {
      await this.#consumer?.disconnect()
      await this.#admin?.disconnect()
    } finally {
      this.#revokeAll()
    }
  }
}

async function committedOf (admin: Admin, groupId: string, topic: string, brokers: string): Promise<Map<number, number>> {
  try {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] })
    const out = new Map<number, number>()
    for (const t of res) {
      for (const { partition, offset } of t.partitions) {
        const o = Number(offset)
        if (o >= 0) out.set(partition, o)
      }
    }
    return out
  } catch (e) {
    throw sourceError('cannot read committed offsets', { topic, groupId, broker: brokers }, e)
  }
}

class KafkajsProducer implements KafkaProducer {
  readonly #producer: Producer
  readonly #brokers: string
  readonly #acks: number
  readonly #compression: number
  readonly #queue: ProduceQueue
  #connected: Promise<void> | null = null

  constructor (kafka: KafkaInstance, brokers: string, options: ProducerOptions) {
    const idempotent = options.idempotent ?? true
    this.#brokers = brokers
    this.#acks = options.acks === 'none' ? 0 : options.acks === 'leader' ? 1 : -1
    if (idempotent && this.#acks !== -1) throw sourceError('an idempotent producer needs acks=all', { broker: brokers })
    this.#compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None
    this.#queue = new ProduceQueue(idempotent)
    this.#producer = kafka.producer({
      idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      ...(idempotent ? { maxInFlightRequests: 1 } : {})
    })
  }

  async connect (): Promise<void> {
    this.#connected ??= this.#producer.connect().catch(e => {
      this.#connected = null
      throw sourceError('cannot connect the Kafka producer', { broker: this.#brokers }, e)
    })
    await this.#connected
  }

  async send (topic: string, records: readonly ProducerRecord[]): Promise<void> {
    await this.connect()
    const messages = records.map(r => ({
      key: r.key ?? null,
      value: r.value,
      ...(r.partition !== undefined ? { partition: r.partition } : {}),
      ...(r.headers !== undefined ? { headers: r.headers as Record<string, Buffer | string> } : {}),
      ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {})
    }))
    await this.#queue.run(async () => await this.#producer.send({ topic, acks: this.#acks, compression: this.#compression, messages }), { topic, broker: this.#brokers, records: records.length })
  }

  async close (): Promise<void> {
    await this.#queue.settled()
    await this.#producer.disconnect()
  }
}

class KafkajsAdmin implements KafkaAdmin {
  readonly #admin: Admin
  readonly #brokers: string

  constructor (admin: Admin, brokers: string) {
    this.#admin = admin
    this.#brokers = brokers
  }

  async createTopic (name: string, spec: TopicSpec): Promise<boolean> {
    try {
      return await this.#admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic: name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor ?? 1,
          configEntries: Object.entries(spec.config ?? {}).map(([n, value]) => ({ name: n, value }))
        }]
      })
    } catch (e) {
      throw sourceError('cannot create topic', { topic: name, partitions: spec.partitions, broker: this.#brokers }, e)
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
      const md = await this.#admin.fetchTopicMetadata({ topics: [topic] })
      return md.topics[0]?.partitions.length ?? 0
    } catch (e) {
      throw sourceError('cannot read topic metadata', { topic, broker: this.#brokers }, e)
    }
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, 'high')
  }

  async startOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, 'low')
  }

  async #offsets (topic: string, which: 'high' | 'low'): Promise<Map<number, number>> {
    try {
      const res = await this.#admin.fetchTopicOffsets(topic)
      return new Map(res.map(r => [r.partition, Number(r[which])] as [number, number]).sort((a, b) => a[0] - b[0]))
    } catch (e) {
      throw sourceError('cannot read topic offsets', { topic, broker: this.#brokers }, e)
    }
  }

  async committedOffsets (groupId: string, topic: string): Promise<Map<number, number>> {
    return await committedOf(this.#admin, groupId, topic, this.#brokers)
  }

  async close (): Promise<void> {
    await this.#admin.disconnect()
  }
}
