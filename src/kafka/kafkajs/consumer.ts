// The consumer on kafkajs 2.2.4: its group membership and fetch loop, adapted to src/kafka/types.ts's contract.
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
import type { Admin, Consumer, EachBatchPayload, Kafka as KafkaInstance } from 'kafkajs'
import { deferred, EMPTY_HEADERS, isThenable, kafkaError, toBuffer } from '../shared.ts'
import type { ConsumeOptions, KafkaConsumer, KafkaHeaders, KafkaRecord, PartitionOffsets, RecordBatch } from '../types.ts'
import { committedOf } from './admin.ts'

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

export class KafkajsConsumer implements KafkaConsumer {
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
    if (this.#consumer !== null) throw kafkaError('consumer already started', this.#ctx())
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
      const err = kafkaError(e.payload.restart ? 'Kafka consumer failed and restarts' : 'Kafka consumer failed and stopped', this.#ctx({ fatal: e.payload.restart ? 0 : 1 }), e.payload.error)
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
      throw kafkaError('cannot start the Kafka consumer', this.#ctx(), e)
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
        const err = kafkaError('onAssigned failed; the assigned partitions stay paused', this.#ctx({ partitions: partitions.join(',') }), e)
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
      throw kafkaError('cannot seek a partition that is not assigned to this consumer', this.#ctx({ partition, offset }))
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw kafkaError('a seek offset must be a non-negative integer', this.#ctx({ partition, offset }))
    this.#pendingSeek.set(partition, String(offset))
    this.#consumer.seek({ topic: this.topic, partition, offset: String(offset) })
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    if (this.#consumer === null) throw kafkaError('cannot commit before start()', this.#ctx())
    if (offsets.size === 0) return
    try {
      await this.#consumer.commitOffsets([...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset: String(offset) })))
    } catch (e) {
      throw kafkaError('cannot commit offsets', this.#ctx({ offsets: [...offsets].map(([p, o]) => `${p}:${o}`).join(',') }), e)
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
    this.#first.reject(kafkaError('consumer stopped before its first assignment', this.#ctx()))
    try {
      await this.#consumer?.disconnect()
      await this.#admin?.disconnect()
    } finally {
      this.#revokeAll()
    }
  }
}
