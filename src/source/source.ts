// What the engine needs from an input: raw record bytes with their partition and position, pushed into the
// router, plus how to decode them and how event time advances.

import type { InputFormat } from '../codec/record.ts'

export interface RecordPusher {
  /** Routes one record by its key; returns a promise when the source must wait (backpressure). */
  push (bytes: Uint8Array, partition: number, position: number): Promise<void> | undefined
  /** Same, for a source that already knows the record's key values (the generator). */
  pushKeyed (keyValues: readonly unknown[], bytes: Uint8Array, partition: number, position: number): Promise<void> | undefined
  /** Nothing more is coming right now: dispatch partially filled slots so they do not wait for the linger time. */
  flush (): Promise<void>
  /** A record the source itself cannot hand over (e.g. a Kafka record without a value): dead-letter it. */
  reject (bytes: Uint8Array | null, partition: number, position: number, reason: string): void
  /** Partitions the source started or stopped reading (they hold the watermark while active). */
  assigned (partitions: readonly number[]): void
  revoked (partitions: readonly number[]): void
}

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
  /** Partitions the source reads (for watermarks and idleness). */
  readonly partitions: readonly number[]
  /** Human name of a record position in dead-letter output: 'line', 'offset', 'sequence'. */
  readonly positionName: string
  /**
   * Pushes records until the input ends (bounded), `signal` aborts, or (for a stream asked to stop at its end) it
   * is caught up. `from` resumes after a checkpoint: a partition's records before its position are skipped.
   */
  run (pusher: RecordPusher, signal: AbortSignal, from?: Positions): Promise<void>
  /** Called once positions are covered by a durable checkpoint (Kafka: commit the group's offsets). */
  commit? (positions: Positions): Promise<void>
  /** Releases connections. */
  close? (): Promise<void>
}
