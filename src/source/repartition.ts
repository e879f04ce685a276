// --repartition: a topic not keyed by the GroupBy's entity is first shuffled through Kafka, as Kafka Streams does.
//
//   input topic T (P partitions, any keying)
//     └─ shuffle stage: group `<group>.shuffle`; the owner of input partition s re-publishes each record, unchanged,
//        to R = `<T>.tilekiln-by-<groupBy>` (P partitions), partition = partitionOfKey(entity key), with headers
//          tilekiln.origin          s
//          tilekiln.origin-offset   the record's offset in s
//          tilekiln.origin-max      the max event time of s's records before it (all of them, wherever they went)
//        and, every half second, a heartbeat (no value, tilekiln.heartbeat) to each partition of R that has not yet
//        heard s's latest event time (those that got none of s's recent records, or a new owner's partitions)
//   R (keyed by entity)
//     └─ the engine: group `<group>`, per-partition state as for any keyed topic; a record is judged by its origin's
//        max before it, a tile closes when every origin's clock passed it (window/partition-clock.ts)
//
// Exactly once without Kafka transactions. A shuffle owner that crashes (or is fenced) resumes from its last
// checkpoint and re-publishes records R already has; so can a frozen one that wakes up. Every (s → r) stream is
// published in s's order by one producer, gap-free (a failed send is retried before anything after it), so a
// receiving partition keeps, per origin, the next origin offset it has not seen (in its checkpoint) and drops
// anything below it. Transactions would do the same with more machinery: a transactional id per shuffle owner,
// read_committed consumers, and a client that supports them (kafkajs does, @platformatic/kafka 1.x does not); the
// receiver's checkpoint is the exactly-once boundary anyway, so the dedupe costs one map lookup per record.
//
// Determinism: every header is a function of s's records alone, so whichever daemon shuffles s, and however the
// streams of several origins interleave in R, the engine judges and closes exactly as it would for one daemon.
//
// The shuffle stage's own state per input partition (next offset, max event time) is a checkpoint in the store
// under its own scope, fenced like the engine's.

import { TilekilnError, describeError } from '../errors.ts'
import type { KafkaClient, KafkaConsumer, KafkaHeaders, KafkaProducer, ProducerRecord, RecordBatch } from '../kafka/types.ts'
import type { Logger } from '../log/logger.ts'
import { M, type Metrics } from '../metrics/metrics.ts'
import type { RecordProbe } from '../route/record-probe.ts'
import type { CheckpointStorage } from '../checkpoint/storage.ts'

export const ORIGIN = 'tilekiln.origin'
export const ORIGIN_OFFSET = 'tilekiln.origin-offset'
export const ORIGIN_MAX = 'tilekiln.origin-max'
export const HEARTBEAT = 'tilekiln.heartbeat'

/** The repartitioned topic of a GroupBy. */
export function repartitionTopic (input: string, groupByCleanName: string): string {
  return `${input}.tilekiln-by-${groupByCleanName}`
}

/** What a record of a repartitioned topic says about its origin (one object, reused: read it before the next). */
export interface OriginHeaders { origin: number, offset: number, max: number, heartbeat: boolean }

/** Reads the origin headers into `into`; false when the record has none (not written by the shuffle stage). */
export function readOrigin (headers: KafkaHeaders, into: OriginHeaders): boolean {
  const o = headers[ORIGIN]
  const off = headers[ORIGIN_OFFSET]
  if (o === undefined || off === undefined) return false
  into.origin = Number(o.toString('latin1'))
  into.offset = Number(off.toString('latin1'))
  const m = headers[ORIGIN_MAX]
  into.max = m === undefined ? NaN : Number(m.toString('latin1'))
  into.heartbeat = headers[HEARTBEAT] !== undefined
  return Number.isSafeInteger(into.origin) && into.origin >= 0 && Number.isSafeInteger(into.offset)
}

export interface ShuffleOptions {
  readonly client: KafkaClient
  readonly input: string
  readonly output: string
  readonly groupId: string
  readonly partitions: number
  readonly probe: RecordProbe
  readonly storage: CheckpointStorage
  readonly metrics: Metrics
  readonly sessionTimeoutMs: number
  readonly checkpointIntervalMillis: number
  readonly log: Logger
  readonly startFrom: 'earliest' | 'latest'
  /** How often each input partition's event time is sent to the partitions that have not heard it (default 500 ms). */
  readonly heartbeatMillis?: number
  /** The stage failed and stopped publishing (the daemon must stop too). */
  readonly onFailure?: (e: unknown) => void
}

interface InputState {
  readonly partition: number
  epoch: number
  /** Next input offset not yet published (acknowledged by the broker). */
  next: number
  /** Max event time over every record of the partition read so far (−Infinity before the first). */
  max: number
  /** The max over the records before `next`: what a checkpoint stores beside `next`. */
  publishedMax: number
  /** Per output partition, the event time it has been told (by records or heartbeats). */
  readonly told: Float64Array
  checkpointed: number
  fenced: boolean
}

export class Shuffle {
  readonly #o: ShuffleOptions
  readonly #inputs = new Map<number, InputState>()
  readonly #targets: number[] = []
  #consumer: KafkaConsumer | null = null
  #producer: KafkaProducer | null = null
  /** Every publish (records, heartbeats) in one chain: R sees each input partition's stream in order, gap-free. */
  #chain: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | null = null
  #heartbeats: NodeJS.Timeout | null = null
  #membership: Promise<void> = Promise.resolve()
  #membershipFailed: ((e: unknown) => void) | null = null
  #stopped = false
  #failure: unknown = null
  published = 0

  constructor (o: ShuffleOptions) {
    this.#o = o
  }

  /** Connects, and keeps a group member running until stop(): one that fails is replaced (as the engine's source does). */
  async start (): Promise<void> {
    const o = this.#o
    this.#producer = o.client.producer({ acks: 'all', idempotent: true })
    await this.#producer.connect()
    this.#timer = setInterval(() => { void this.#checkpointAll().catch(e => this.#fail(e)) }, o.checkpointIntervalMillis)
    this.#heartbeats = setInterval(() => this.#heartbeat(), o.heartbeatMillis ?? 500)
    this.#membership = this.#keepMember()
  }

  async #keepMember (): Promise<void> {
    const o = this.#o
    for (let backoff = 500; !this.#stopped; backoff = Math.min(backoff * 2, 5000)) {
      let failed!: (e: unknown) => void
      const fatal = new Promise<unknown>(resolve => { failed = resolve })
      const c = o.client.consumer({
        groupId: o.groupId,
        topic: o.input,
        startFrom: o.startFrom,
        sessionTimeoutMs: o.sessionTimeoutMs,
        onBatch: b => this.#onBatch(b),
        onAssigned: added => this.#assign(added),
        onRevoked: removed => this.#revoke(removed),
        onError: e => { if (e.context.fatal === 1) failed(e) }
      })
      this.#consumer = c
      try {
        await c.start()
        backoff = 500
        this.#membershipFailed = failed
        const why = await fatal
        if (this.#stopped) return
        o.log.warn(`shuffle: the group member failed (${describeError(why)}); replacing it in ${backoff} ms`)
      } catch (e) {
        if (this.#stopped) return
        o.log.warn(`shuffle: cannot start the group member (${describeError(e)}); retrying in ${backoff} ms`)
      }
      this.#consumer = null
      await c.stop().catch(() => {})
      await new Promise(resolve => setTimeout(resolve, backoff))
    }
  }

  /** Stops reading, publishes what was read, writes every input partition's checkpoint. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#timer !== null) clearInterval(this.#timer)
    if (this.#heartbeats !== null) clearInterval(this.#heartbeats)
    this.#consumer?.pause()
    await this.#chain
    await this.#checkpointAll().catch(e => this.#o.log.error(`shuffle: final checkpoint failed: ${describeError(e)}`))
    this.#membershipFailed?.(null)
    await this.#consumer?.stop()
    await this.#membership
    await this.#producer?.close()
  }

  /** Throws what made the shuffle stage fail, if anything did. */
  check (): void {
    if (this.#failure !== null) throw this.#failure
  }

  #fail (e: unknown): void {
    if (this.#failure !== null) return
    this.#failure = e
    this.#o.onFailure?.(e)
  }

  async #assign (added: readonly number[]): Promise<Map<number, number>> {
    const seeks = new Map<number, number>()
    for (const s of added) {
      const epoch = await this.#o.storage.acquireEpoch(s)
      const cp = await this.#o.storage.read(s)
      const st: InputState = { partition: s, epoch, next: -1, max: -Infinity, publishedMax: -Infinity, told: new Float64Array(this.#o.partitions).fill(-Infinity), checkpointed: -1, fenced: false }
      if (cp !== null) {
        const saved = JSON.parse(Buffer.from(cp.bytes).toString('utf8')) as { next: number, max: number | null }
        st.next = saved.next
        st.max = saved.max ?? -Infinity
        st.publishedMax = st.max
        st.checkpointed = saved.next
        seeks.set(s, saved.next)
      }
      this.#inputs.set(s, st)
      this.#o.log.info({ partition: s }, `shuffle: input partition ${s} taken over under epoch ${epoch}${cp === null ? '' : ` at offset ${st.next}`}`)
    }
    return seeks
  }

  async #revoke (removed: readonly number[]): Promise<void> {
    await this.#chain
    for (const s of removed) {
      const st = this.#inputs.get(s)
      if (st === undefined) continue
      await this.#checkpoint(st).catch(e => this.#o.log.warn(`shuffle: checkpoint of input partition ${s} on revocation failed: ${describeError(e)}`))
      this.#inputs.delete(s)
    }
  }

  async #onBatch (b: RecordBatch): Promise<void> {
    const st = this.#inputs.get(b.partition)
    if (st === undefined || st.fenced || this.#stopped) return
    const o = this.#o
    const out: ProducerRecord[] = []
    const targets = this.#targets
    for (const r of b.records) {
      if (st.next >= 0 && r.offset < st.next) continue
      const prior = st.max
      let n = 0
      let ts = NaN
      if (r.value !== null) {
        n = o.probe.partitionsOf(r.value, o.partitions, targets)
        ts = o.probe.ts
      }
      // A record without a readable key (or a tombstone) goes to its input partition's number: the engine there
      // dead-letters it with the reason.
      if (n === 0) { targets[0] = b.partition % o.partitions; n = 1 }
      const headers: Record<string, string> = { [ORIGIN]: String(b.partition), [ORIGIN_OFFSET]: String(r.offset) }
      if (prior > -Infinity) headers[ORIGIN_MAX] = String(prior)
      for (let i = 0; i < n; i++) {
        const t = targets[i]!
        out.push({ key: r.key, value: r.value, partition: t, headers, timestamp: r.timestamp })
        const told = Number.isNaN(ts) ? prior : Math.max(prior, ts)
        if (told > st.told[t]!) st.told[t] = told
      }
      if (ts > st.max) st.max = ts
    }
    const next = b.nextOffset
    const maxAfter = st.max
    if (out.length > 0) await this.#publish(out)
    // Offset and max move together, once published: a checkpoint must never pair an offset with a max that
    // includes records at or after it (a successor would stamp wrong origin-max headers).
    st.next = next
    st.publishedMax = maxAfter
  }

  /** Publishes in order; a failed send is retried before anything after it goes out. */
  #publish (records: ProducerRecord[]): Promise<void> {
    const send = async (): Promise<void> => {
      for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
        try {
          await this.#producer!.send(this.#o.output, records)
          this.published += records.length
          return
        } catch (e) {
          if (this.#stopped) throw e
          this.#o.log.warn(`shuffle: publishing ${records.length} record(s) to ${this.#o.output} failed (retrying in ${delay} ms): ${describeError(e)}`)
          await new Promise(resolve => setTimeout(resolve, delay))
        }
      }
    }
    const p = this.#chain.then(send)
    this.#chain = p.catch(e => this.#fail(e))
    return p
  }

  /**
   * Tells every output partition that has not heard it each input partition's latest event time. A heartbeat goes
   * through the publishing chain, after every record read before it, so it never claims more than the records
   * published before it — and a new owner of an input partition (its `told` starts empty) tells everyone at once:
   * the previous owner may not have, and no record may ever come again.
   */
  #heartbeat (): void {
    if (this.#stopped) return
    const beats: ProducerRecord[] = []
    for (const st of this.#inputs.values()) {
      if (st.fenced || st.max === -Infinity) continue
      for (let t = 0; t < this.#o.partitions; t++) {
        if (st.told[t]! >= st.max) continue
        st.told[t] = st.max
        beats.push({ key: null, value: null, partition: t, headers: { [ORIGIN]: String(st.partition), [ORIGIN_OFFSET]: String(Math.max(0, st.next - 1)), [ORIGIN_MAX]: String(st.max), [HEARTBEAT]: '1' } })
      }
    }
    if (beats.length > 0) void this.#publish(beats)
  }

  async #checkpointAll (): Promise<void> {
    await this.#chain
    for (const st of [...this.#inputs.values()]) await this.#checkpoint(st)
    const positions = new Map<number, number>()
    for (const st of this.#inputs.values()) if (st.next >= 0 && !st.fenced) positions.set(st.partition, st.next)
    if (positions.size > 0) await this.#consumer?.commit(positions).catch(() => this.#o.metrics.inc(M.commitFailures))
  }

  async #checkpoint (st: InputState): Promise<void> {
    if (st.fenced || st.next < 0 || st.next === st.checkpointed) return
    const bytes = Buffer.from(JSON.stringify({ next: st.next, max: st.publishedMax === -Infinity ? null : st.publishedMax }))
    let ok: boolean
    try {
      ok = await this.#o.storage.write(st.partition, st.epoch, bytes)
    } catch (e) {
      throw new TilekilnError('TK_CHECKPOINT', `shuffle: cannot write the checkpoint of input partition ${st.partition}: ${describeError(e)}`, { topic: this.#o.input, partition: st.partition }, { cause: e })
    }
    if (!ok) {
      st.fenced = true
      this.#o.metrics.inc(M.fencedWrites)
      this.#o.log.warn({ partition: st.partition }, `shuffle: input partition ${st.partition} fenced (another daemon took it over); no longer publishing it`)
      return
    }
    st.checkpointed = st.next
  }
}
