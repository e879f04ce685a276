// The Kafka client layer's contract: the small surface the engine's Kafka source, the load generator and the
// dead-letter writer need, with two implementations behind it (src/kafka/kafkajs/, src/kafka/platformatic/): kafkajs
// 2.2.4 (the design's client) and @platformatic/kafka 1.35 (the last Node-20 line). Nothing outside src/kafka/ imports a
// Kafka library; this module imports none (types only), so every implementation can depend on it without a cycle.
//
// Offsets are plain numbers (exact up to 2^53, i.e. forever at any real rate) and always mean "the next offset to
// read", as Kafka's committed offsets do: a batch whose last record has offset 41 is fully processed at offset 42.
//
// Consumption model (the same for both libraries; the engine's side of a partition handover):
//   start() joins the group → onAssigned(added) → fetch loop → onBatch(batch) per partition …
//   a rebalance → onRevoked(removed) → [acknowledged to the group] → … → onAssigned(added) at the new owner
// Membership callbacks never overlap each other; onRevoked is called only after any onBatch of the removed partitions
// has settled, and no batch of theirs is delivered after it. With an incremental protocol (platformatic; see
// GroupProtocol) a rebalance revokes only the partitions that move, and the others keep being fetched throughout; with
// kafkajs (eager only) every rebalance revokes every partition and assigns them again.
// onBatch may return a promise; no further batch is delivered until it settles, and group heartbeats continue
// meanwhile. For longer backpressure, pause() the partitions and resume() them later: a paused partition is not
// fetched, and data already fetched for it is dropped and fetched again after resume(), never lost.
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { TilekilnError } from '../errors.ts'

export type KafkaLibrary = 'kafkajs' | 'platformatic'

export const KAFKA_LIBRARIES: readonly KafkaLibrary[] = ['kafkajs', 'platformatic']

export interface KafkaSaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

export interface KafkaClientOptions {
  /** Which implementation. Default: 'platformatic' (chosen by measurement: see README, Kafka). */
  library?: KafkaLibrary
  /** Bootstrap brokers, `host:port`, as an array or comma-separated. */
  brokers: string | readonly string[]
  clientId?: string
  /** TLS to the brokers: true for defaults, or node:tls options (ca, cert, key, servername…). */
  ssl?: boolean | TlsConnectionOptions
  sasl?: KafkaSaslOptions
  /** Default 3 s. */
  connectionTimeoutMs?: number
  /**
   * How long a request may go unanswered before the connection is given up and the request retried. Default 10 s: a
   * request sent while a restarting broker already accepts connections but does not serve yet waits this long, so it
   * bounds recovery (requests that wait by design — a fetch's maxWait, JoinGroup/SyncGroup — get longer ones).
   */
  requestTimeoutMs?: number
}

export type KafkaHeaders = Readonly<Record<string, Buffer>>

export interface KafkaRecord {
  partition: number
  offset: number
  /** Record timestamp, ms since the epoch (CreateTime unless the topic says LogAppendTime). */
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  /** Header values by name; a name repeated in one record keeps its last value. */
  headers: KafkaHeaders
}

export interface RecordBatch {
  topic: string
  partition: number
  /**
   * In offset order. Empty when the fetched offsets held no data for the user (read_committed: transaction markers,
   * aborted transactions' records): nextOffset still moves past them.
   */
  records: readonly KafkaRecord[]
  /** Offset to read after this batch (last record + 1, or further when the batch ended in control records). */
  nextOffset: number
  /** The partition's end offset (high watermark) as of this fetch: nextOffset === highWatermark means caught up. */
  highWatermark: number
}

/** Offsets to start from, by partition, as returned by onAssigned (e.g. restored from a checkpoint). */
export type PartitionOffsets = ReadonlyMap<number, number>

/**
 * How the group assigns partitions. 'consumer' is Kafka's consumer group protocol (KIP-848, Kafka 4.0+): the broker
 * assigns, incrementally, and each member hears of changes with its heartbeats. 'classic' is JoinGroup/SyncGroup: with
 * platformatic incremental too (cooperative-sticky, KIP-429), with kafkajs eager (everything revoked at every
 * rebalance).
 */
export type GroupProtocol = 'classic' | 'consumer'

export const GROUP_PROTOCOLS: readonly GroupProtocol[] = ['classic', 'consumer']

/**
 * Why partitions are revoked. 'rebalance': they move to another member, which gets them only after onRevoked returned
 * (or the rebalance timeout passed) — write their final state now. 'lost': the member lost them without a handover (its
 * session expired, it was fenced, or a newer instance with its instance id took over): another member may already own
 * them, so anything written for them now is a zombie's write. 'stop': stop() was called.
 */
export type RevokeReason = 'rebalance' | 'lost' | 'stop'

export interface ConsumeOptions {
  groupId: string
  topic: string
  /** Where a partition starts when the group has no committed offset for it. Default 'earliest'. */
  startFrom?: 'earliest' | 'latest'
  /** Default: 'classic'. kafkajs has only 'classic'. */
  groupProtocol?: GroupProtocol
  /**
   * Static membership (group.instance.id, KIP-345): a member restarted with the same id within the session timeout gets
   * its partitions back without a rebalance of the others (classic: also after a crash; consumer protocol: after a
   * clean stop() — a crashed static member's successor waits until the old session expires). Its stop() does not
   * leave the group. platformatic only: kafkajs refuses it (TK_USAGE).
   */
  instanceId?: string
  onBatch: (batch: RecordBatch) => void | Promise<void>
  /**
   * Called with the partitions newly added to this member (only those: partitions it keeps are not repeated), before any
   * of them is fetched, and awaited. Returned offsets are where those partitions start (they win over the group's
   * committed offsets); the others start at the group's committed offset, or `startFrom` without one. A rejection keeps
   * the added partitions paused and is reported through onError.
   */
  onAssigned?: (added: readonly number[]) => void | PartitionOffsets | Promise<void | PartitionOffsets>
  /**
   * Called with the partitions taken away from this member, after any onBatch of theirs has settled; no batch of theirs
   * is delivered afterwards. Awaited before the member acknowledges the revocation (consumer protocol) or rejoins
   * (classic), so the member still owns them meanwhile: it can write their final checkpoint and commit() their offsets
   * here. Bounded by the rebalance timeout: past it the member acknowledges anyway (or the group would expel it) and
   * reports onError. A SIGKILLed member never calls it; nothing may depend on it for correctness.
   */
  onRevoked?: (removed: readonly number[], reason: RevokeReason) => void | Promise<void>
  /**
   * Errors seen while consuming. The consumer recovers from most by itself (broker gone, rebalance trouble) and keeps
   * retrying until stop(). `error.context.fatal` says when it did not: 'consumer' — this consumer stopped (a new one may
   * succeed); 'run' — nothing a new consumer could fix (the topic was deleted, a record cannot be fetched): stop.
   */
  onError?: (error: TilekilnError) => void
  /** Group session timeout (classic; with the consumer protocol the group's config decides). Default 30 s. */
  sessionTimeoutMs?: number
  /** How long the group waits for members to rejoin or revoke; also bounds onRevoked. Default 60 s. */
  rebalanceTimeoutMs?: number
  /** Classic heartbeat interval; with the consumer protocol the broker's config decides. Default: heartbeatIntervalFor(session timeout) (shared.ts). */
  heartbeatIntervalMs?: number
  /** How long the broker may hold a fetch when no data is there. Default 500 ms (bounds pause/stop latency). */
  maxWaitMs?: number
  minBytes?: number
  maxBytes?: number
  maxBytesPerPartition?: number
}

export interface KafkaConsumer {
  readonly topic: string
  readonly groupId: string
  /** Connects, joins the group and starts fetching; resolves once the first assignment has been handled. */
  start: () => Promise<void>
  /** Partitions this member owns: from the start of their onAssigned until the end of their onRevoked. Sorted. */
  assignment: () => number[]
  /**
   * Stops fetching the given partitions (default: all assigned) until resume(). Takes effect at once. A revocation
   * ends a partition's pause, as in Kafka's Java consumer: assigned again (an eager rebalance gives everything back),
   * it is not paused; pause it again in onAssigned.
   */
  pause: (partitions?: readonly number[]) => void
  resume: (partitions?: readonly number[]) => void
  isPaused: (partition: number) => boolean
  /** The next batch of this partition starts at `offset`. Only for assigned partitions. */
  seek: (partition: number, offset: number) => void
  /** Commits next-offsets to the group (manual; nothing is ever committed automatically). Only owned partitions. */
  commit: (offsets: PartitionOffsets) => Promise<void>
  /** The group's committed offsets for the topic (partitions without one are absent). */
  committed: () => Promise<Map<number, number>>
  /**
   * Stops fetching, waits for the batch being delivered, calls onRevoked(owned, 'stop'), leaves the group (a static
   * member does not: its successor takes its partitions back) and disconnects. Idempotent.
   */
  stop: () => Promise<void>
}

export interface ProducerRecord {
  key?: Buffer | string | null
  value: Buffer | string | null
  /** Target partition; absent: the library's default partitioner (murmur2 of the key, as the Java client). */
  partition?: number
  headers?: Readonly<Record<string, Buffer | string>>
  /** ms since the epoch; absent: now. */
  timestamp?: number
}

export interface ProducerOptions {
  /** Idempotent producer (exactly one copy of each record per partition across retries). Default true. */
  idempotent?: boolean
  /** Default 'all': the leader waits for the full in-sync replica set. */
  acks?: 'all' | 'leader' | 'none'
  compression?: 'none' | 'gzip'
}

export interface KafkaProducer {
  connect: () => Promise<void>
  /** Sends records to one topic and resolves once the broker acknowledged them all (as `acks` says). */
  send: (topic: string, records: readonly ProducerRecord[]) => Promise<void>
  close: () => Promise<void>
}

export interface TopicSpec {
  partitions: number
  replicationFactor?: number
  config?: Readonly<Record<string, string>>
}

export interface KafkaAdmin {
  /** Creates a topic; false if it already existed (left as it is). Resolves once partition leaders are elected. */
  createTopic: (name: string, spec: TopicSpec) => Promise<boolean>
  deleteTopic: (name: string) => Promise<void>
  /** Number of partitions of an existing topic. */
  partitionCount: (topic: string) => Promise<number>
  /** End offsets (high watermarks) of every partition of the topic. */
  endOffsets: (topic: string) => Promise<Map<number, number>>
  /** Start offsets (log start) of every partition of the topic. */
  startOffsets: (topic: string) => Promise<Map<number, number>>
  /** Committed next-offsets of a group for a topic (partitions without one are absent). */
  committedOffsets: (groupId: string, topic: string) => Promise<Map<number, number>>
  close: () => Promise<void>
}

export interface KafkaClient {
  readonly library: KafkaLibrary
  readonly brokers: readonly string[]
  consumer: (options: ConsumeOptions) => KafkaConsumer
  producer: (options?: ProducerOptions) => KafkaProducer
  /** An admin connection; close() it when done. */
  admin: () => Promise<KafkaAdmin>
  /** Shortcut: high watermarks of all partitions (one admin round trip). */
  endOffsets: (topic: string) => Promise<Map<number, number>>
}
