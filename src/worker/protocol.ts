// Messages between the main thread and a worker (one piscina pool of one thread per worker, so a worker's tasks
// run in order). Tasks are tiny; records travel in the shared ring slots, tiles come back in a transferred buffer.

import type { Flavour } from '../api/group-by.ts'
import type { InputFormat } from '../codec/record.ts'
import type { RingGeometry } from '../route/ring.ts'
import type { Trigger } from './tile-state.ts'

export interface WorkerInit {
  readonly index: number
  readonly workers: number
  readonly groupBy: unknown
  readonly planOptions: { readonly flavour?: Flavour, readonly sourceIndex?: number, readonly fallbackName?: string }
  readonly format: InputFormat
  readonly ring: SharedArrayBuffer
  readonly geometry: RingGeometry
  readonly memory: WebAssembly.Memory
  readonly allowedLatenessMillis: number
  readonly trigger: Trigger
  /** 'spark' (full evaluator) or 'column-refs' (plain references only). */
  readonly evaluator: 'spark' | 'column-refs'
  /** Keep only rows whose key this worker owns (records were fanned out because one record can yield several keys). */
  readonly ownershipCheck: boolean
  /**
   * The untiled pipeline: one event put per row (UntiledState) instead of tiles; `puts` in task results are then
   * event batches (sink/event-puts.ts) and snapshots are empty.
   */
  readonly untiled?: boolean
  /**
   * Longest entity key (Avro key bytes) the store takes; a row with a longer key is dead-lettered in the worker so it
   * never reaches the writer (LMDB's key limit is about 1,978 bytes including the rest of its key). Default 65,535.
   */
  readonly maxKeyBytes?: number
}

export interface BatchTask {
  readonly kind: 'batch'
  readonly slot: number
  readonly count: number
  /** Global watermark the rows are judged against (−Infinity when none yet). */
  readonly watermark: number
  readonly now: number
}

/** Close tiles and fire due timers without new records (watermark moved, time passed, end of input). */
export interface TickTask {
  readonly kind: 'tick'
  readonly watermark: number
  readonly now: number
}

/** Checkpoint: the worker's whole state (taken when it is idle). */
export interface SnapshotTask {
  readonly kind: 'snapshot'
}

/** Start from a checkpoint: load entries before any record arrives. */
export interface RestoreTask {
  readonly kind: 'restore'
  readonly entries: ArrayBuffer
  readonly timers: Uint8Array
  readonly watermark: number
  readonly now: number
}

export type Task = BatchTask | TickTask | SnapshotTask | RestoreTask

export interface WorkerSnapshot {
  /** Live entries as a put batch (see TileState.snapshot). */
  readonly entries: ArrayBuffer
  readonly timers: Uint8Array
  /** The largest watermark this worker has applied. */
  readonly watermark: number
}

export interface DeadLetter {
  /** Record index in the slot, or -1. */
  readonly index: number
  readonly partition: number
  readonly position: number
  readonly code: string
  readonly reason: string
  readonly bytes: Uint8Array | null
  readonly late: boolean
}

export interface TaskResult {
  /** A tile put batch (sink/tile-puts.ts), or untiled an event put batch (sink/event-puts.ts). */
  readonly puts: ArrayBuffer | null
  readonly putCount: number
  readonly records: number
  readonly rows: number
  /** Records a where dropped (no row). */
  readonly filtered: number
  readonly late: number
  readonly deadLetters: readonly DeadLetter[]
  /** [partition, maxTs, partition, maxTs, …] over this batch's rows. */
  readonly maxTs: readonly number[]
  readonly closedTiles: number
  readonly liveEntries: number
  readonly liveKeys: number
  readonly openTiles: number
  readonly stateBytes: number
  readonly nextTimer: number
  /** Milliseconds spent in this task (worker clock). */
  readonly busyMillis: number
  /** Sampled evaluation times (selects + wheres + timeColumn of one record), microseconds: 1 record in 1024. */
  readonly exprEvalMicros: readonly number[]
}
