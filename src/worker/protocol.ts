// Messages between the main thread and a worker (one piscina pool of one thread per worker, so a worker's tasks
// run in order). Tasks are tiny; records travel in the shared ring slots, tiles come back in a transferred buffer.

import type { Flavour } from '../api/group-by.ts'
import type { InputFormat } from '../codec/record.ts'
import type { RingGeometry } from '../route/ring.ts'
import type { RollupPuts, UnmergeableRollup } from './rollups.ts'
import type { Trigger } from '../window/trigger.ts'
import type { StateSnapshot } from './tile-state.ts'
import type { WasmMemory } from '../types/wasm-memory.ts'

export interface WorkerInit {
  readonly index: number
  readonly workers: number
  readonly groupBy: unknown
  readonly planOptions: { readonly flavour?: Flavour, readonly sourceIndex?: number, readonly fallbackName?: string }
  readonly format: InputFormat
  readonly ring: SharedArrayBuffer
  readonly geometry: RingGeometry
  readonly memory: WasmMemory
  readonly allowedLatenessMillis: number
  readonly trigger: Trigger
  /** 'spark' (full evaluator) or 'column-refs' (plain references only). */
  readonly evaluator: 'spark' | 'column-refs'
  /** Keep only rows whose key this worker owns (records were fanned out because one record can yield several keys). */
  readonly ownershipCheck: boolean
  /**
   * A repartitioned topic of this many partitions whose records can yield several keys: the shuffle published such
   * a record to every partition owning one of its rows, so keep only the rows whose key belongs to the record's.
   */
  readonly keyedPartitions?: number
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
  /** Rolled-up tile sizes (ms) written beside the fine tiles (worker/rollups.ts); absent or empty = none. */
  readonly rollups?: readonly number[]
  /** false: every record the general way, even where the numeric path applies (worker/numeric-rows.ts; tests). */
  readonly numericRows?: boolean
  /** false: the numeric path reads every record in JS, none in WASM (worker/flat-numbers.ts; tests). */
  readonly wasmRead?: boolean
}

/**
 * Closing watermarks, as [partition, watermark, partition, watermark, …]: each partition's clock as of the last
 * record of it the main thread handed to any worker (a worker closes that partition's tiles it has passed after
 * the task's records; every record of the partition it gets later is judged by a watermark at least as high).
 */
export type Closes = readonly number[]

export interface BatchTask {
  readonly kind: 'batch'
  readonly slot: number
  readonly count: number
  readonly closes: Closes
  readonly now: number
}

/** Close tiles and fire due timers without new records (a clock moved, time passed, end of input). */
export interface TickTask {
  readonly kind: 'tick'
  readonly closes: Closes
  readonly now: number
}

/** Checkpoint: the state of some partitions (all when null), taken when the worker is idle. */
export interface SnapshotTask {
  readonly kind: 'snapshot'
  readonly partitions: readonly number[] | null
}

/** Load entries (a partition newly owned, or a restart) before any of their records arrive. */
export interface RestoreTask {
  readonly kind: 'restore'
  readonly snapshot: StateSnapshot
  /** [partition, closing watermark, …] of the restored partitions. */
  readonly closes: Closes
  readonly now: number
  /** The rolled-up tile sizes the snapshot's flags number (the checkpoint's); absent = none. */
  readonly rollups?: readonly number[]
}

/** Forget partitions (handed to another daemon, or fenced) without writing anything. */
export interface DropTask {
  readonly kind: 'drop'
  readonly partitions: readonly number[]
}

export type Task = BatchTask | TickTask | SnapshotTask | RestoreTask | DropTask

export type WorkerSnapshot = StateSnapshot

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
  /** The source partition of each put (tiled). */
  readonly putPartitions: Int32Array | null
  /** The latest event time of each put's tile (tiled runs), beside `puts`. */
  readonly putLatest: Float64Array | null
  readonly putCount: number
  /** Rolled-up tiles written in this task: one batch per resolution (empty when none closed). */
  readonly rollups: readonly RollupPuts[]
  readonly records: number
  readonly rows: number
  /** Records a where dropped (no row). */
  readonly filtered: number
  readonly late: number
  readonly deadLetters: readonly DeadLetter[]
  /** Rows whose key lives in another partition (the topic is not keyed by the entity), and an example. */
  readonly crossings: number
  readonly crossingSample: string | null
  /**
   * Rolled-up tiles found unmergeable in this task (their fine tiles do not merge: worker/rollups.ts), each reported
   * once; they are written empty and incomplete instead of with a value. Usually empty.
   */
  readonly unmergeableRollups: readonly UnmergeableRollup[]
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
