// The Kafka source: a consumer-group member that hands each record's value to the router with its partition and
// offset, under manual offset management — offsets are committed only after a checkpoint covering them is durable
// (see engine checkpoints), and on assignment partitions seek to the checkpoint's positions when there is one.
//
// Backpressure: onBatch awaits the router, and the client layer delivers a partition's next batch only after the
// previous one settled, while heartbeats continue. `untilEnd` stops once every partition reached the end offset it
// had when the source started.

import { getLogger, Limiter } from '../log/logger.ts'
import type { InputFormat } from '../codec/record.ts'
import { TilekilnError } from '../errors.ts'
import { createKafkaClient } from '../kafka/client.ts'
import type { ConsumeOptions, GroupProtocol, KafkaClient, KafkaClientOptions, KafkaConsumer, RecordBatch } from '../kafka/types.ts'
import { ORIGIN, ORIGIN_OFFSET, type OriginHeaders, readOrigin } from './repartition.ts'
import type { RecordGate } from './schema-registry.ts'
import type { Positions, RecordPusher, Source } from './source.ts'

export interface KafkaSourceOptions {
  readonly client: KafkaClientOptions
  readonly topic: string
  readonly groupId: string
  readonly format: InputFormat
  readonly untilEnd: boolean
  readonly startFrom: 'earliest' | 'latest'
  /**
   * Group session timeout. A restarted daemon cannot get its partitions back before the crashed member's session
   * expires, so this bounds recovery time; kafkajs' 30 s default is long for a single-process owner.
   */
  readonly sessionTimeoutMs: number
  /**
   * Asked about each record before it is handed over (the schema registry's writer schemas): it may hold the record
   * back while it learns something, or dead-letter it.
   */
  readonly gate?: RecordGate
  /** The topic is a repartitioned one (--repartition): records carry their origin in headers. */
  readonly repartitioned?: boolean
  /** Static membership (group.instance.id): a restarted daemon gets its partitions back without a rebalance. */
  readonly instanceId?: string
  /** Default 'classic'. */
  readonly groupProtocol?: GroupProtocol
  /** Most bytes per fetch (default DEFAULT_FETCH_MAX_BYTES, kafka/shared.ts); a partition gets a quarter of it. */
  readonly fetchMaxBytes?: number
}

export async function openKafkaSource (o: KafkaSourceOptions): Promise<Source> {
  const client: KafkaClient = await createKafkaClient(o.client)
  let consumer: KafkaConsumer | null = null
  const consumerOptions = (handlers: Pick<ConsumeOptions, 'onBatch' | 'onAssigned' | 'onRevoked' | 'onError'>): ConsumeOptions => ({
    groupId: o.groupId,
    topic: o.topic,
    startFrom: o.startFrom,
    sessionTimeoutMs: o.sessionTimeoutMs,
    ...(o.instanceId === undefined ? {} : { instanceId: o.instanceId }),
    ...(o.groupProtocol === undefined ? {} : { groupProtocol: o.groupProtocol }),
    ...(o.fetchMaxBytes === undefined ? {} : { maxBytes: o.fetchMaxBytes }),
    ...handlers
  })
  // Constructing a consumer checks its options against the library (kafkajs refuses an instance id): fail at start,
  // not when the first consumer is made.
  client.consumer(consumerOptions({ onBatch: () => {} }))
  const description = `kafka:${client.brokers.join(',')}/${o.topic}`
  const admin = await client.admin()
  let partitions: number[]
  try {
    const n = await admin.partitionCount(o.topic)
    partitions = Array.from({ length: n }, (_, i) => i)
  } catch (e) {
    await admin.close()
    throw new TilekilnError('TK_SOURCE', `cannot read topic '${o.topic}' on ${client.brokers.join(',')}: ${(e as Error).message}`, { topic: o.topic, broker: client.brokers.join(',') }, { cause: e })
  }
  await admin.close()

  return {
    description,
    format: o.format,
    bounded: false,
    watermarks: 'event',
    partitions,
    checkpointName: o.topic,
    positionName: 'offset',
    async run (pusher: RecordPusher, signal: AbortSignal): Promise<void> {
      const ends = o.untilEnd ? await retrying('reading the topic\'s end offsets', signal, async () => await client.endOffsets(o.topic)) : null
      if (ends === null && o.untilEnd) return
      // Next offset of every partition as far as records were handed over (for --until-end).
      const reached = new Map<number, number>()
      let finish!: () => void
      const done = new Promise<void>(resolve => { finish = resolve })
      const caughtUp = (): boolean => ends !== null && [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end)

      let stopped = false
      let progressed = false
      // The engine refused a record (it threw from push): the run fails with that error. The client must not see it:
      // it would retry or pause the batch, silently and forever (a 6 MiB record did exactly that).
      let refused: unknown = null
      let inBatch: Promise<void> = Promise.resolve()
      const gate = o.gate
      const origin: OriginHeaders = { origin: 0, offset: 0, max: NaN, heartbeat: false }
      const onBatch = async (b: RecordBatch): Promise<void> => {
        if (signal.aborted || stopped) return
        progressed = true
        if (trouble !== null) {
          getLogger().info({ topic: o.topic }, `Kafka: consuming ${o.topic} again (recovered from: ${trouble})`)
          trouble = null
          pusher.sourceTrouble?.(null)
        }
        for (const r of b.records) {
          // Stopping: leave the rest of the batch unread (positions stop at the last record handed over).
          if (stopped) return
          if (o.repartitioned === true) {
            if (!readOrigin(r.headers, origin)) {
              await pusher.reject(r.value, b.partition, r.offset, `record in the repartitioned topic ${o.topic} without its origin headers (${ORIGIN}, ${ORIGIN_OFFSET}): only tilekiln's shuffle stage may write this topic`)
              reached.set(b.partition, r.offset + 1)
              continue
            }
            if (origin.heartbeat) {
              await pusher.originTime(b.partition, r.offset, origin.origin, origin.max)
              reached.set(b.partition, r.offset + 1)
              continue
            }
          }
          if (r.value === null) {
            await pusher.reject(null, b.partition, r.offset, 'record has no value (a tombstone): nothing to aggregate')
            reached.set(b.partition, r.offset + 1)
            continue
          }
          if (gate !== undefined) {
            let verdict = gate.admit(r.value)
            if (verdict === undefined) {
              try {
                verdict = await gate.admitSlow(r.value, signal, `topic ${o.topic} partition ${b.partition} offset ${r.offset}`)
              } catch (e) {
                // Only a stop ends the wait: leave this record and the rest of the batch unread.
                if (signal.aborted) return
                throw e
              }
              if (stopped) return
            }
            if (verdict !== null) {
              await pusher.reject(r.value, b.partition, r.offset, verdict)
              reached.set(b.partition, r.offset + 1)
              continue
            }
          }
          const p = o.repartitioned === true
            ? pusher.push(r.value, b.partition, r.offset, origin.origin, origin.offset, origin.max)
            : pusher.push(r.value, b.partition, r.offset)
          if (p !== undefined) await p
          reached.set(b.partition, r.offset + 1)
        }
        reached.set(b.partition, b.nextOffset)
        pusher.caughtUp(b.partition, b.highWatermark, b.nextOffset)
        if (b.nextOffset >= b.highWatermark) await pusher.flush()
        if (caughtUp()) { stopped = true; finish() }
      }

      // What the consumer recovers from by itself (broker away, coordinator moved, a rebalance) is logged too,
      // at most once per NOTICE_INTERVAL for each kind: a daemon that waits should say on what.
      const notices = new Notices()
      // Set while the consumer recovers from something; cleared (and said) when records flow again.
      let trouble: string | null = null
      const troubled = (why: string): void => { trouble = why; pusher.sourceTrouble?.(why) }
      const abort = (): void => { stopped = true; finish() }
      signal.addEventListener('abort', abort, { once: true })
      let backoff = MIN_BACKOFF
      try {
        while (!stopped) {
          // A consumer the client gave up on (broker gone too long, coordinator lost) is replaced, resuming at the
          // offsets already handed over: a broker outage slows the daemon down, it does not stop it. A consumer that
          // made progress is replaced at once; one that keeps failing, after a growing pause (at most MAX_BACKOFF, so
          // the daemon notices the broker's return within seconds).
          let failed!: (e: TilekilnError) => void
          const fatal = new Promise<TilekilnError>(resolve => { failed = resolve })
          progressed = false
          const c = client.consumer(consumerOptions({
            onBatch: b => (inBatch = onBatch(b).catch(e => {
              if (refused === null) refused = e
              stopped = true
              failed(new TilekilnError('TK_SOURCE', 'the engine refused a record', { topic: o.topic, partition: b.partition, fatal: 'run' }))
            })),
            // The engine takes the partitions over (epoch, checkpoint, restore) before any of their records is
            // fetched; a restored partition resumes at its checkpoint's position, which wins over the group's
            // committed offset.
            onAssigned: async assigned => {
              const seeks = await pusher.assigned(assigned)
              for (const [p, at] of seeks) reached.set(p, at)
              return seeks
            },
            // Awaited: the group gives the partitions to their next owner only once their final checkpoint is written.
            onRevoked: (revoked, reason) => pusher.revoked(revoked, reason),
            onError: e => {
              if (e.context.fatal === 'consumer' || e.context.fatal === 'run') failed(e)
              else { notices.say(e.describe()); troubled(e.describe()) }
            }
          }))
          consumer = c
          // Already at the end (everything was in the checkpoint): no batch will come to notice it.
          const started = c.start().then(() => { if (trouble === null) pusher.sourceTrouble?.(null); if (caughtUp()) { stopped = true; finish() } }).then(() => Promise.race([done.then(() => null), fatal]), (e: unknown) => (
            e instanceof TilekilnError ? e : new TilekilnError('TK_SOURCE', `cannot start the Kafka consumer: ${(e as Error).message}`, { topic: o.topic, groupId: o.groupId }, { cause: e })))
          const outcome = await Promise.race([started, fatal])
          if (refused !== null) {
            consumer = null
            await c.stop().catch(() => {})
            throw refused
          }
          if (outcome === null || stopped) break
          // Nothing a new consumer could change (the topic is gone, a record cannot be read): the run fails.
          if (outcome.context.fatal === 'run' || outcome.code === 'TK_USAGE') throw outcome
          if (progressed) backoff = MIN_BACKOFF
          getLogger().warn({ topic: o.topic }, `${outcome.describe()}; replacing the Kafka consumer in ${backoff} ms`)
          troubled(outcome.describe())
          await inBatch.catch(() => {})
          consumer = null
          await c.stop().catch(() => {})
          await new Promise(resolve => setTimeout(resolve, backoff))
          backoff = Math.min(backoff * 2, MAX_BACKOFF)
        }
      } finally {
        signal.removeEventListener('abort', abort)
        // No batch may arrive after this: the engine now drains and takes its final checkpoint, then commits
        // through this still-joined consumer; close() leaves the group.
        consumer?.pause()
      }
    },
    async commit (positions: Positions): Promise<void> {
      if (positions.size === 0) return
      if (consumer === null) throw new TilekilnError('TK_SOURCE', 'cannot commit offsets: no Kafka consumer (it is being replaced)', { topic: o.topic, groupId: o.groupId })
      const mine = new Map<number, number>()
      const assigned = new Set(consumer.assignment())
      for (const [p, off] of positions) if (assigned.has(p)) mine.set(p, off)
      if (mine.size > 0) await consumer.commit(mine)
      // Partitions not assigned right now (a rebalance under way) are left for the next checkpoint to commit.
      if (mine.size < positions.size) {
        throw new TilekilnError('TK_SOURCE', `offsets of partition(s) ${[...positions.keys()].filter(p => !mine.has(p)).join(', ')} not committed: not assigned to this member at the moment (a rebalance is under way)`, { topic: o.topic, groupId: o.groupId })
      }
    },
    async close (): Promise<void> {
      const c = consumer
      consumer = null
      await c?.stop()
    }
  }
}

const MIN_BACKOFF = 250
const MAX_BACKOFF = 5000

/** Retries `step` (with MIN_BACKOFF…MAX_BACKOFF pauses) until it succeeds; null if the run is stopped first. */
async function retrying<T> (what: string, signal: AbortSignal, step: () => Promise<T>): Promise<T | null> {
  let backoff = MIN_BACKOFF
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      return await step()
    } catch (e) {
      if (attempt === 1 || attempt % 10 === 0) getLogger().warn(`${what} failed (attempt ${attempt}, retrying): ${(e as Error).message}`)
      await new Promise(resolve => setTimeout(resolve, backoff))
      backoff = Math.min(backoff * 2, MAX_BACKOFF)
    }
  }
  return null
}

const NOTICE_INTERVAL = 10_000

/** Rate-limited lines, one per kind of trouble (the message without its numbers) per NOTICE_INTERVAL. */
class Notices {
  readonly #limiter = new Limiter(NOTICE_INTERVAL)

  say (message: string): void {
    this.#limiter.log(getLogger(), 'warn', `Kafka: ${message}`)
  }
}
