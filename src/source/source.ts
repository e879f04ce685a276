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
}

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
  /** Pushes records until the input ends (bounded) or `signal` aborts. */
  run (pusher: RecordPusher, signal: AbortSignal): Promise<void>
}
