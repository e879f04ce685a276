// What the engine needs from an input: raw record bytes with their partition and position, pushed into the
// router, plus how to decode them and how event time advances.

import type { InputFormat } from '../codec/record.ts'

export interface RecordPusher {
  /**
   * Routes one record by its key; returns a promise when the source must wait (backpressure). A record of a
   * repartitioned topic names its `origin` partition and offset in the original topic, and `originMax`, the max
   * event time of the origin partition before it (NaN: none yet).
   */
  push (bytes: Uint8Array, partition: number, position: number, origin?: number, originOffset?: number, originMax?: number): Promise<void> | undefined
  /** A repartitioned topic's heartbeat: the origin partition's event time reached `max` (nothing to aggregate). */
  originTime (partition: number, position: number, origin: number, max: number): Promise<void> | undefined
  /**
   * Same, for a source that already knows the record's key values and event time (the generator); NaN for an
   * event time the engine should read from the record. The record is `data[start, end)`, copied before this returns
   * (a view per record cost ~70 ns, a tenth of the main thread's time per event): the source may reuse `data` then.
   */
  pushKeyed (keyValues: readonly unknown[], eventTime: number, data: Uint8Array, start: number, end: number, partition: number, position: number): Promise<void> | undefined
  /** Nothing more is coming right now: dispatch partially filled slots so they do not wait for the linger time. */
  flush (): Promise<void>
  /** A record the source itself cannot hand over (e.g. a Kafka record without a value): dead-letter it. */
  reject (bytes: Uint8Array | null, partition: number, position: number, reason: string): Promise<void> | undefined
  /**
   * The source starts reading these partitions: the engine takes them over (restoring their checkpoints) and
   * resolves with the position each restored partition resumes at; the others start where the source would.
   * No record of theirs may be pushed before it resolves.
   */
  assigned (partitions: readonly number[]): Promise<Positions>
  /**
   * The source stops reading these partitions; resolves once their final state is checkpointed and dropped.
   * `reason` 'lost': the group took them without a handover (this member was expelled, e.g. frozen past its session):
   * another daemon may own them already, and the final checkpoint is then refused by the store (fenced), which is
   * counted; it is still attempted, because when nobody took them over yet it saves the next owner a replay.
   */
  revoked (partitions: readonly number[], reason?: RevocationReason): Promise<void>
  /**
   * The source's end position of a partition (Kafka's high watermark), for lag; and, when given, `read`: every
   * position below it was handed over or holds nothing to hand over (Kafka's transaction markers and aborted
   * records), so the partition's position moves there — its lag reaches 0 at the end of a transactional topic, and
   * a checkpoint resumes past them. Call only after every record before `read` was handed over.
   */
  caughtUp (partition: number, end: number, read?: number): void
  /**
   * The source's connection (for /readyz and the logs): `null` = connected and reading, a text = why it is not
   * reading (a broker outage the client is recovering from, a consumer being replaced). Optional for sources that
   * cannot be disconnected (files, the generator).
   */
  sourceTrouble? (trouble: string | null): void
}

/** Why a source stopped reading partitions: handed over in a rebalance, lost without one, or the source stopped. */
export type RevocationReason = 'rebalance' | 'lost' | 'stop'

/** Next position (Kafka offset, line, sequence) to read, per partition. */
export type Positions = ReadonlyMap<number, number>

export interface Source {
  readonly description: string
  readonly format: InputFormat
  /** A bounded source ends (files, a generator with a count); an unbounded one runs until stopped. */
  readonly bounded: boolean
  /**
   * 'end': no watermark until the input is exhausted (a file is not a stream: nothing in it is late, whatever
   * the order of its lines, as in Flink's batch execution of bounded input). 'event': per-partition
   * max event time − out-of-orderness, the streaming rule.
   */
  readonly watermarks: 'end' | 'event'
  /** Partitions a bounded source reads (a Kafka source learns its own from the consumer group). */
  readonly partitions: readonly number[]
  /** Names what is consumed, for the checkpoints' scope: the Kafka topic, a file's name, 'generator'. */
  readonly checkpointName: string
  /** Human name of a record position in dead-letter output: 'line', 'offset', 'sequence'. */
  readonly positionName: string
  /**
   * Pushes records until the input ends (bounded), `signal` aborts, or (for a stream asked to stop at its end) it
   * is caught up. Partitions are announced with `pusher.assigned` first; a partition's records before the
   * position it returns are skipped.
   */
  run (pusher: RecordPusher, signal: AbortSignal): Promise<void>
  /** Called once positions are covered by a durable checkpoint (Kafka: commit the group's offsets). */
  commit? (positions: Positions): Promise<void>
  /** Releases connections. */
  close? (): Promise<void>
}
