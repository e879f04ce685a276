// The consumer on @platformatic/kafka 1.35: the library's connections, metadata and Fetch requests; our fetch loop,
// our reading of the fetched record batches (raw-fetch.ts, ../record-batch-reader.ts) and our group membership
// (membership.ts; group-classic.ts or group-consumer.ts by ConsumeOptions.groupProtocol).
//
// The library's MessagesStream pushes one object per record into an object-mode Readable (and binds a commit closure
// per record), which measured slower than kafkajs; its group membership rejoins or acknowledges by itself, before the
// application has let go of what it loses. So the fetch loop here is ours (per-partition batches straight from the
// record batches' bytes, per-partition pause and seek), and so is the membership.
//
// Fetch loop invariants:
// - Each owned partition has a Part; a partition assigned again gets a new Part, so anything fetched for an older one
//   is recognised by identity and dropped. part.next is the offset the engine has not seen yet (the next fetch).
// - A Part is fetched and delivered only while `live`: from the moment onAssigned returned (and its start offset is
//   known) until its revocation begins.
// - One fetch per partition leader is in flight; it is issued before the previous response is delivered, so the
//   broker works while the engine does. A response is used only if it was requested at part.next of a Part still
//   live and unpaused; otherwise it is dropped and fetched again.
// - A batch accepted but not yet delivered when its partition is paused or seeked is dropped the same way, and
//   part.next is put back to where that batch started (unless a seek moved it), so nothing is skipped.
// - A partition whose next record batch is larger than the per-partition fetch limit gets no data in a shared fetch
//   (the broker returns part of a batch, which is discarded), forever. Such a partition is fetched alone: the broker
//   always returns the first batch of the first partition of a fetch whole, whatever the limits (KIP-74).
import { Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import type { ClusterMetadata } from '@platformatic/kafka'
import { AbortedTransactions } from '../aborted-transactions.ts'
import { codecRefusal } from '../codecs.ts'
import { readRecordBatches } from '../record-batch-reader.ts'
import { DEFAULT_FETCH_MAX_BYTES, fetchMaxBytesPerPartition, heartbeatIntervalFor, isThenable, kafkaError, revokeWithin, watchTopic } from '../shared.ts'
import type { ConsumeOptions, KafkaConsumer, KafkaRecord, PartitionOffsets, RecordBatch, RevokeReason } from '../types.ts'
import { EARLIEST, isUnknownTopic, LATEST, protocolErrors, withKafkaErrors, type BaseConfig } from './config.ts'
import { ClassicGroupMember } from './group-classic.ts'
import { ConsumerGroupMember } from './group-consumer.ts'
import { GroupCoordinator, sleep, type Membership, type MemberOptions } from './membership.ts'
import { rawFetch, type RawFetchResponse } from './raw-fetch.ts'

type BufferConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>

interface Part {
  readonly partition: number
  /** Next offset to fetch; -1 until known. */
  next: number
  live: boolean
  /** Fetch this partition in a request of its own (see the header). */
  alone: boolean
}

interface Pending {
  batch: RecordBatch
  /** Offset the batch was fetched from: where part.next goes back to if the batch is dropped. */
  from: number
  part: Part
}

interface Planned { part: Part, offset: number }

export class PlatformaticConsumer implements KafkaConsumer {
  readonly topic: string
  readonly groupId: string
  readonly #cfg: BaseConfig
  readonly #opts: ConsumeOptions
  readonly #rebalanceTimeout: number
  /** The library client: metadata, fetch, list offsets. It never joins the group (the member does). */
  #client: BufferConsumer | null = null
  #coordinator: GroupCoordinator | null = null
  #member: Membership | null = null
  readonly #parts = new Map<number, Part>()
  readonly #userPaused = new Set<number>()
  /** The onBatch being delivered. */
  #delivering: Promise<unknown> = Promise.resolve()
  #stopped = false
  #loop: Promise<void> | null = null
  #wake: (() => void) | null = null
  #unwatch: (() => void) | null = null
  readonly #maxWait: number
  readonly #maxBytes: number
  readonly #maxBytesPerPartition: number
  readonly #minBytes: number

  constructor (cfg: BaseConfig, options: ConsumeOptions) {
    this.#cfg = cfg
    this.#opts = options
    this.topic = options.topic
    this.groupId = options.groupId
    this.#rebalanceTimeout = options.rebalanceTimeoutMs ?? 60_000
    this.#maxWait = options.maxWaitMs ?? 500
    this.#maxBytes = options.maxBytes ?? DEFAULT_FETCH_MAX_BYTES
    this.#maxBytesPerPartition = options.maxBytesPerPartition ?? fetchMaxBytesPerPartition(this.#maxBytes)
    this.#minBytes = options.minBytes ?? 1
  }

  #ctx (extra: Record<string, string | number | undefined> = {}): Record<string, string | number | undefined> {
    return { topic: this.topic, groupId: this.groupId, broker: this.#cfg.bootstrapBrokers.join(','), ...extra }
  }

  #report (message: string, e?: unknown, fatal?: 'consumer' | 'run', extra: Record<string, string | number | undefined> = {}): void {
    if (this.#stopped) return
    this.#opts.onError?.(kafkaError(message, this.#ctx(fatal === undefined ? extra : { ...extra, fatal }), withKafkaErrors(e)))
  }

  async start (): Promise<void> {
    if (this.#client !== null) throw kafkaError('consumer already started', this.#ctx())
    const o = this.#opts
    const c = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...this.#cfg,
      groupId: o.groupId,
      autocommit: false,
      maxWaitTime: this.#maxWait,
      minBytes: this.#minBytes,
      maxBytes: this.#maxBytes,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED
    } as ConstructorParameters<typeof Consumer<Buffer, Buffer, Buffer, Buffer>>[0])
    this.#client = c
    // An EventEmitter throws on an 'error' event nobody listens to.
    c.on('error', (e: unknown) => { this.#report('Kafka consumer error', e) })
    c.topics.track(this.topic)
    const coordinator = new GroupCoordinator(o.groupId, c, this.#cfg, this.#rebalanceTimeout)
    this.#coordinator = coordinator
    const member: MemberOptions = {
      groupId: o.groupId,
      topic: this.topic,
      instanceId: o.instanceId ?? null,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 30_000,
      rebalanceTimeoutMs: this.#rebalanceTimeout,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? heartbeatIntervalFor(o.sessionTimeoutMs ?? 30_000)
    }
    const events = {
      revoke: async (removed: readonly number[], reason: RevokeReason) => { await this.#revoke(removed, reason) },
      assign: async (added: readonly number[]) => { await this.#assign(added) },
      error: (message: string, cause?: unknown, fatal?: 'consumer' | 'run') => { this.#report(message, cause, fatal) }
    }
    this.#member = (o.groupProtocol ?? 'classic') === 'consumer'
      ? new ConsumerGroupMember(member, coordinator, c, events)
      : new ClassicGroupMember(member, coordinator, c, events)
    this.#loop = this.#run()
    try {
      await this.#member.start()
    } catch (e) {
      await this.stop().catch(() => {})
      throw kafkaError('cannot start the Kafka consumer', this.#ctx(), withKafkaErrors(e))
    }
    this.#unwatch = watchTopic(async () => await this.#topicExists(), () => {
      this.#report(`topic ${this.topic} no longer exists (deleted while consuming it)`, undefined, 'run')
    })
  }

  /** true / false, or null when the broker cannot tell us now. */
  async #topicExists (): Promise<boolean | null> {
    const c = this.#client
    if (c === null || this.#stopped) return null
    try {
      const md = await c.metadata({ topics: [this.topic], forceUpdate: true })
      return md.topics.has(this.topic)
    } catch (e) {
      return isUnknownTopic(e) ? false : null
    }
  }

  /** Revocation: stop fetching and delivering them, let the batch in delivery settle, then onRevoked. */
  async #revoke (removed: readonly number[], reason: RevokeReason): Promise<void> {
    for (const p of removed) { const part = this.#parts.get(p); if (part !== undefined) part.live = false }
    await this.#delivering.catch(() => {})
    await revokeWithin(this.#opts.onRevoked, removed, reason, this.#rebalanceTimeout, (m, e) => { this.#report(m, e, undefined, { partitions: removed.join(','), reason }) })
    for (const p of removed) { this.#parts.delete(p); this.#userPaused.delete(p) }
  }

  /** Assignment: onAssigned's offsets, else the group's committed ones, else `startFrom`; then fetching starts. */
  async #assign (added: readonly number[]): Promise<void> {
    const parts = added.map(partition => {
      const part: Part = { partition, next: -1, live: false, alone: false }
      this.#parts.set(partition, part)
      return part
    })
    const mine = (part: Part): boolean => this.#parts.get(part.partition) === part && !this.#stopped
    let seeks: void | PartitionOffsets
    try {
      seeks = await this.#opts.onAssigned?.(added)
    } catch (e) {
      // They stay not live: consuming them from an offset the engine did not choose would break its state.
      this.#report('onAssigned failed; the assigned partitions stay paused', e, undefined, { partitions: added.join(',') })
      return
    }
    if (seeks !== undefined && seeks !== null) for (const part of parts) { const at = seeks.get(part.partition); if (at !== undefined) part.next = at }
    for (let attempt = 0; ; attempt++) {
      const missing = parts.filter(part => mine(part) && part.next < 0).map(part => part.partition)
      if (missing.length === 0) break
      try {
        const committed = await this.#coordinator!.committed(this.topic, missing)
        const rest = missing.filter(p => !committed.has(p))
        const policy = new Map<number, number>()
        if (rest.length > 0) {
          const offs = await this.#client!.listOffsets({ topics: [this.topic], partitions: { [this.topic]: rest }, timestamp: this.#opts.startFrom === 'latest' ? LATEST : EARLIEST })
          const arr = offs.get(this.topic) ?? []
          for (const p of rest) policy.set(p, Number(arr[p] ?? 0n))
        }
        for (const part of parts) if (part.next < 0) part.next = committed.get(part.partition) ?? policy.get(part.partition) ?? -1
      } catch (e) {
        if (this.#stopped) return
        this.#report('cannot find where the assigned partitions start; retrying', e, undefined, { partitions: missing.join(','), attempt })
        await sleep(Math.min(2000, 100 * 2 ** attempt))
      }
    }
    for (const part of parts) if (mine(part)) part.live = true
    this.#wakeUp()
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

  /** Requests to make now: one per leader, and one per partition that must be fetched alone. */
  #plan (md: ClusterMetadata): Array<{ leader: number, parts: Planned[] }> | null {
    const tm = md.topics.get(this.topic)
    if (tm === undefined) return null
    const byLeader = new Map<number, Planned[]>()
    const out: Array<{ leader: number, parts: Planned[] }> = []
    for (const part of this.#parts.values()) {
      if (!part.live || part.next < 0 || this.#userPaused.has(part.partition)) continue
      const leader = tm.partitions[part.partition]?.leader ?? -1
      if (leader < 0) continue
      if (part.alone) { out.push({ leader, parts: [{ part, offset: part.next }] }); continue }
      let l = byLeader.get(leader)
      if (l === undefined) { l = []; byLeader.set(leader, l); out.push({ leader, parts: l }) }
      l.push({ part, offset: part.next })
    }
    return out.length === 0 ? null : out
  }

  /**
   * Fetches from every leader and returns a function that *accepts* the responses (turns them into batches and
   * advances part.next). The caller accepts only after it delivered the previous batches: accepting a prefetched
   * response earlier would move part.next under batches still waiting to be delivered, and they would be dropped as
   * if seeked — losing their records.
   */
  async #fetchAll (): Promise<(() => Pending[]) | null> {
    const c = this.#client
    if (c === null) return null
    let md: ClusterMetadata
    try {
      md = await c.metadata({ topics: [this.topic] })
    } catch (e) {
      if (isUnknownTopic(e) && await this.#topicExists() === false) this.#report(`topic ${this.topic} no longer exists (deleted while consuming it)`, e, 'run')
      else this.#report('cannot read topic metadata', e)
      await sleep(200)
      return () => []
    }
    const plan = this.#plan(md)
    if (plan === null) return null
    const topicId = md.topics.get(this.topic)!.id
    const results = await Promise.all(plan.map(async ({ leader, parts }) => {
      try {
        const broker = md.brokers.get(leader)
        if (broker === undefined) throw new Error(`no broker with node id ${leader} in the cluster metadata`)
        const res = await rawFetch(c, broker, this.#maxWait, this.#minBytes, this.#maxBytes, FetchIsolationLevels.READ_COMMITTED,
          [{ topicId, partitions: parts.map(x => ({ partition: x.part.partition, fetchOffset: BigInt(x.offset), partitionMaxBytes: x.part.alone ? this.#maxBytes : this.#maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }])
        return () => this.#accept(res, parts)
      } catch (e) {
        // A partition-level error fails the whole response; the partitions without one still carry data.
        const res = (e as { response?: RawFetchResponse }).response
        await this.#recover(e, parts)
        return () => (res !== undefined ? this.#accept(res, parts) : [])
      }
    }))
    return () => results.flatMap(accept => accept())
  }

  async #recover (e: unknown, parts: Planned[]): Promise<void> {
    const c = this.#client
    if (c === null || this.#stopped) return
    const ids = protocolErrors(e)
    const at = (path: string): Planned | undefined => parts[Number(/\/partitions\/(\d+)/.exec(path)?.[1] ?? -1)]
    if (isUnknownTopic(e) && await this.#topicExists() === false) {
      this.#report(`topic ${this.topic} no longer exists (deleted while consuming it)`, e, 'run')
      await sleep(1000)
      return
    }
    const outOfRange = ids.filter(x => x.id === 'OFFSET_OUT_OF_RANGE').map(x => at(x.path)).filter((x): x is Planned => x !== undefined)
    if (outOfRange.length > 0) {
      // The log was truncated by retention below our position (or we were handed a bogus seek): restart from the
      // policy's end of the log, as the Java client's auto.offset.reset does, and say so.
      try {
        const ps = outOfRange.map(x => x.part.partition)
        const offs = await c.listOffsets({ topics: [this.topic], partitions: { [this.topic]: ps }, timestamp: this.#opts.startFrom === 'latest' ? LATEST : EARLIEST })
        const arr = offs.get(this.topic) ?? []
        for (const { part, offset } of outOfRange) {
          if (this.#parts.get(part.partition) !== part || part.next !== offset) continue
          part.next = Number(arr[part.partition] ?? 0n)
          this.#report('fetch offset out of range; reset', e, undefined, { partition: part.partition, offset, resetTo: part.next })
        }
      } catch (e2) {
        this.#report('cannot reset an out-of-range offset', e2)
      }
      return
    }
    c.clearMetadata()
    this.#report('fetch failed; retrying', e, undefined, { partitions: parts.map(p => p.part.partition).join(',') })
    await sleep(200)
  }

  /** Turns a fetch response into batches and advances part.next past them. */
  #accept (res: RawFetchResponse, parts: Planned[]): Pending[] {
    const out: Pending[] = []
    for (const tr of res.responses) {
      for (const pr of tr.partitions) {
        if (pr.errorCode !== 0) continue
        const p = pr.partitionIndex
        const planned = parts.find(x => x.part.partition === p)
        if (planned === undefined) continue
        const { part, offset: requested } = planned
        if (this.#parts.get(p) !== part || !part.live || part.next !== requested || this.#userPaused.has(p)) continue
        const records: KafkaRecord[] = []
        let next = requested
        // read_committed: the broker returns aborted transactions' batches too, with the list to skip them by.
        const aborted = pr.abortedTransactions.length > 0 ? new AbortedTransactions(pr.abortedTransactions) : null
        if (pr.records !== null) {
          try {
            next = readRecordBatches(pr.records, p, requested, aborted, records, next)
          } catch (e) {
            // Every fetch from here would fail the same way: the run stops with the reason (a codec this Node lacks,
            // a damaged batch), it does not retry for ever.
            const refused = codecRefusal(e)
            this.#report(refused?.message ?? `cannot read the record batches of partition ${p} from offset ${requested}: ${(e as Error).message}`, e, 'run', { partition: p, offset: requested })
            continue
          }
        }
        if (next === requested) {
          // Records there but none came whole: the next batch is larger than the per-partition limit.
          if (Number(pr.lastStableOffset) > requested && !part.alone) part.alone = true
          continue
        }
        part.next = next
        part.alone = false
        // A batch without records still goes out when the offsets moved (transaction markers, an aborted
        // transaction): the partition is read up to nextOffset, which --until-end and the lag need to know.
        out.push({ batch: { topic: this.topic, partition: p, records, nextOffset: next, highWatermark: Number(pr.highWatermark) }, from: requested, part })
      }
    }
    return out
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
      for (const { batch, from, part } of got) {
        const p = batch.partition
        if (this.#stopped) break
        if (this.#parts.get(p) !== part || !part.live) continue
        if (this.#userPaused.has(p) || part.next !== batch.nextOffset) {
          // Paused or seeked after this was fetched: forget it, and fetch it again from where it began.
          if (part.next === batch.nextOffset) part.next = from
          continue
        }
        try {
          const r = this.#opts.onBatch(batch)
          if (isThenable(r)) {
            this.#delivering = Promise.resolve(r)
            await r
          }
        } catch (e) {
          // The engine failed on this batch: put the position back so it is not skipped, stop fetching the
          // partition, and let the engine decide (resume, seek or stop).
          if (part.next === batch.nextOffset) part.next = from
          this.#userPaused.add(p)
          this.#report('onBatch failed; partition paused', e, undefined, { partition: p, offset: from })
        }
      }
    }
    if (inflight !== null) await inflight.catch(() => {})
  }

  assignment (): number[] { return [...this.#parts.keys()].sort((a, b) => a - b) }

  pause (partitions?: readonly number[]): void {
    for (const p of partitions ?? this.assignment()) this.#userPaused.add(p)
  }

  resume (partitions?: readonly number[]): void {
    for (const p of partitions ?? [...this.#userPaused]) this.#userPaused.delete(p)
    this.#wakeUp()
  }

  isPaused (partition: number): boolean { return this.#userPaused.has(partition) }

  seek (partition: number, offset: number): void {
    const part = this.#parts.get(partition)
    if (part === undefined) throw kafkaError('cannot seek a partition that is not assigned to this consumer', this.#ctx({ partition, offset }))
    if (!Number.isSafeInteger(offset) || offset < 0) throw kafkaError('a seek offset must be a non-negative integer', this.#ctx({ partition, offset }))
    part.next = offset
    this.#wakeUp()
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    const m = this.#member
    if (m === null) throw kafkaError('cannot commit before start()', this.#ctx())
    if (offsets.size === 0) return
    try {
      await m.commit(offsets)
    } catch (e) {
      throw kafkaError('cannot commit offsets', this.#ctx({ offsets: [...offsets].map(([p, o]) => `${p}:${o}`).join(',') }), withKafkaErrors(e))
    }
  }

  async committed (): Promise<Map<number, number>> {
    const c = this.#client
    if (c === null || this.#coordinator === null) throw kafkaError('cannot read committed offsets before start()', this.#ctx())
    try {
      const md = await c.metadata({ topics: [this.topic] })
      const n = md.topics.get(this.topic)?.partitionsCount ?? 0
      return await this.#coordinator.committed(this.topic, Array.from({ length: n }, (_, i) => i))
    } catch (e) {
      throw kafkaError('cannot read committed offsets', this.#ctx(), e)
    }
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#unwatch?.()
    // The member revokes (onRevoked 'stop') after the batch in delivery, then leaves; then the fetch loop ends.
    await this.#member?.stop().catch(e => { this.#report('leaving the group failed', e) })
    this.#stopped = true
    this.#wakeUp()
    await this.#loop
    const c = this.#client
    if (c !== null) await new Promise<void>(resolve => { c.close(true, () => { resolve() }) })
  }
}
