// The Kafka source: a consumer-group member that hands each record's value to the router with its partition and
// offset, under manual offset management — offsets are committed only after a checkpoint covering them is durable
// (see engine checkpoints), and on assignment partitions seek to the checkpoint's positions when there is one.
//
// Backpressure: onBatch awaits the router, and the client layer delivers a partition's next batch only after the
// previous one settled, while heartbeats continue. `untilEnd` stops once every partition reached the end offset it
// had when the source started.

import type { InputFormat } from '../codec/record.ts'
import { TilekilnError } from '../errors.ts'
import { createKafkaClient } from '../kafka/client.ts'
import type { KafkaClient, KafkaClientOptions, KafkaConsumer, RecordBatch } from '../kafka/types.ts'
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
}

/** The topic's end offsets, retried while the brokers are unreachable (a broker restart must not end the run). */
async function endOffsetsWhenReachable (client: KafkaClient, topic: string, signal: AbortSignal): Promise<Map<number, number>> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await client.endOffsets(topic)
    } catch (e) {
      if (signal.aborted) throw e
      process.stderr.write(`tilekiln: cannot read the end offsets of ${topic} yet (${(e as Error).message}); retrying in ${delay} ms\n`)
      await new Promise(resolve => setTimeout(resolve, delay))
    }
  }
}

export async function openKafkaSource (o: KafkaSourceOptions): Promise<Source> {
  const client: KafkaClient = await createKafkaClient(o.client)
  let consumer: KafkaConsumer | null = null
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
      const ends = o.untilEnd ? await endOffsetsWhenReachable(client, o.topic, signal) : null
      // Next offset of every partition as far as records were handed over (for --until-end).
      const reached = new Map<number, number>()
      let finish!: () => void
      const done = new Promise<void>(resolve => { finish = resolve })
      const caughtUp = (): boolean => ends !== null && [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end)

      let stopped = false
      let inBatch: Promise<void> = Promise.resolve()
      const gate = o.gate
      const origin: OriginHeaders = { origin: 0, offset: 0, max: NaN, heartbeat: false }
      const onBatch = async (b: RecordBatch): Promise<void> => {
        if (signal.aborted || stopped) return
        for (const r of b.records) {
          // Stopping: leave the rest of the batch unread (positions stop at the last record handed over).
          if (stopped) return
          if (o.repartitioned === true) {
            if (!readOrigin(r.headers, origin)) {
              pusher.reject(r.value, b.partition, r.offset, `record in the repartitioned topic ${o.topic} without its origin headers (${ORIGIN}, ${ORIGIN_OFFSET}): only tilekiln's shuffle stage may write this topic`)
              reached.set(b.partition, r.offset + 1)
              continue
            }
            if (origin.heartbeat) {
              pusher.originTime(b.partition, r.offset, origin.origin, origin.max)
              reached.set(b.partition, r.offset + 1)
              continue
            }
          }
          if (r.value === null) {
            pusher.reject(null, b.partition, r.offset, 'record has no value (a tombstone): nothing to aggregate')
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
              pusher.reject(r.value, b.partition, r.offset, verdict)
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
        pusher.caughtUp(b.partition, b.highWatermark)
        if (b.nextOffset >= b.highWatermark) await pusher.flush()
        if (caughtUp()) { stopped = true; finish() }
      }

      const abort = (): void => { stopped = true; finish() }
      signal.addEventListener('abort', abort, { once: true })
      let backoff = 1000
      try {
        while (!stopped) {
          // A consumer the client gave up on (broker gone too long, coordinator lost) is replaced, resuming at the
          // offsets already handed over: a broker outage slows the daemon down, it does not stop it.
          let failed!: (e: TilekilnError) => void
          const fatal = new Promise<TilekilnError>(resolve => { failed = resolve })
          const c = client.consumer({
            groupId: o.groupId,
            topic: o.topic,
            startFrom: o.startFrom,
            sessionTimeoutMs: o.sessionTimeoutMs,
            heartbeatIntervalMs: Math.max(500, Math.floor(o.sessionTimeoutMs / 6)),
            onBatch: b => (inBatch = onBatch(b)),
            // The engine takes the partitions over (epoch, checkpoint, restore) before any of their records is
            // fetched; a restored partition resumes at its checkpoint's position, which wins over the group's
            // committed offset.
            onAssigned: async assigned => {
              const seeks = await pusher.assigned(assigned)
              for (const [p, at] of seeks) reached.set(p, at)
              return seeks
            },
            onRevoked: revoked => pusher.revoked(revoked),
            onError: e => { if (e.context.fatal === 1) failed(e) }
          })
          consumer = c
          // Already at the end (everything was in the checkpoint): no batch will come to notice it.
          const started = c.start().then(() => { if (caughtUp()) { stopped = true; finish() } }).then(() => Promise.race([done.then(() => null), fatal]), (e: unknown) => (
            e instanceof TilekilnError ? e : new TilekilnError('TK_SOURCE', `cannot start the Kafka consumer: ${(e as Error).message}`, { topic: o.topic, groupId: o.groupId }, { cause: e })))
          const outcome = await Promise.race([started, fatal])
          if (outcome === null || stopped) break
          process.stderr.write(`tilekiln: ${outcome.describe()}; replacing the Kafka consumer in ${backoff} ms\n`)
          await inBatch.catch(() => {})
          consumer = null
          await c.stop().catch(() => {})
          await new Promise(resolve => setTimeout(resolve, backoff))
          backoff = Math.min(backoff * 2, 30_000)
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
