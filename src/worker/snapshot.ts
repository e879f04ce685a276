// A worker's state as a checkpoint holds it (StateSnapshot), written and read entry by entry. Each live entry is
// one tile put, exactly what the tile would be written as (with isComplete = false), so the open tiles of a
// checkpoint can be written as they are (checkpoint/restore.ts openFineTiles); beside the puts, per entry:
//
//   partitions  i32  its source partition
//   timers      u8   bit 0: a buffered-trigger timer is pending; bits 1–6: 0 for an open fine tile, else the entry
//                    is an open rolled-up tile of resolution #((flags >> 1) & 63), numbered as the checkpoint
//                    header's rollups list (worker/rollups.ts); bit 7: that rolled-up tile is unmergeable (its fine
//                    tiles do not merge: it is written emptied and incomplete, never with a value). Bit 7 came with
//                    checkpoint format 5; before it, bits 1–7 were the resolution, which never reached 64, so older
//                    snapshots read the same (checkpoint/partition-checkpoint.ts refuses an older one with bit 7).
//   latest      f64  the time of the last event folded into its tile
//
// Where restored entries go (keys, open tiles, rolled-up tiles) is the worker state's business (worker/tile-state.ts).

import type { BoundGroupBy } from '../config/bind.ts'
import { TilekilnError } from '../errors.ts'
import { TilePuts, TilePutsWriter } from '../sink/tile-puts.ts'

/** Flag bit 7: an unmergeable rolled-up tile. */
export const UNMERGEABLE = 0x80
/** Resolutions number 1 … 63 (flag bits 1–6). */
const MAX_RESOLUTION = 63

/** A worker's state, or part of it, as a checkpoint holds it. */
export interface StateSnapshot {
  /** One tile put per live entry: what the tile would be written as, with isComplete = false. */
  readonly entries: ArrayBuffer
  /** The source partition of each entry. */
  readonly partitions: Int32Array
  /**
   * Per entry, flags: bit 0 = a buffered-trigger timer is pending; bits 1–6 = 0 for an open fine tile, else the
   * entry is an open rolled-up tile of resolution #((flags >> 1) & 63) (worker/rollups.ts), which is not an open
   * fine tile (a restore must not write it as one); bit 7 = that rolled-up tile is unmergeable. So `flags >> 1` is
   * 0 exactly for open fine tiles.
   */
  readonly timers: Uint8Array
  /** Per entry, the time of the last event folded into its tile. */
  readonly latest: Float64Array
}

/** Builds a snapshot: write each entry's tile into `puts`, then describe it with `fine` or `rolledUp`. */
export class SnapshotWriter {
  readonly puts = new TilePutsWriter()
  readonly #flags: number[] = []
  readonly #partitions: number[] = []
  readonly #latest: number[] = []

  constructor () {
    this.puts.begin()
  }

  /** The entry just written is an open fine tile. */
  fine (partition: number, latest: number, timerPending: boolean): void {
    this.#add(partition, latest, timerPending ? 1 : 0)
  }

  /** The entry just written is an open rolled-up tile of resolution #index (1-based), unmergeable or not. */
  rolledUp (partition: number, latest: number, index: number, unmergeable = false): void {
    if (!(index >= 1 && index <= MAX_RESOLUTION)) throw new TilekilnError('TK_INTERNAL', `rolled-up resolution #${index} does not fit a snapshot's flags (1 … ${MAX_RESOLUTION})`)
    this.#add(partition, latest, (index << 1) | (unmergeable ? UNMERGEABLE : 0))
  }

  #add (partition: number, latest: number, flags: number): void {
    this.#flags.push(flags)
    this.#partitions.push(partition)
    this.#latest.push(latest)
  }

  finish (): StateSnapshot {
    return { entries: this.puts.finish(), partitions: Int32Array.from(this.#partitions), timers: Uint8Array.from(this.#flags), latest: Float64Array.from(this.#latest) }
  }
}

/** Reads a snapshot entry by entry; `rollups` are the rolled-up tile sizes its checkpoint's header lists. */
export class SnapshotReader {
  readonly #snap: StateSnapshot
  readonly #puts: TilePuts
  readonly #bound: BoundGroupBy
  readonly #rollups: readonly number[]
  readonly #keyRow: unknown[] = []

  constructor (snap: StateSnapshot, bound: BoundGroupBy, rollups: readonly number[]) {
    this.#snap = snap
    this.#puts = new TilePuts(snap.entries)
    this.#bound = bound
    this.#rollups = rollups
  }

  get count (): number { return this.#puts.count }
  partition (i: number): number { return this.#snap.partitions[i] ?? 0 }
  tileStart (i: number): number { return this.#puts.tileStart(i) }
  latest (i: number): number { return this.#snap.latest[i] ?? this.#puts.tileStart(i) }

  /** Entry i's tile size when it is an open rolled-up tile, else 0. Throws TK_CHECKPOINT for a size not listed. */
  rolledUpSize (i: number): number {
    const index = ((this.#snap.timers[i] ?? 0) >> 1) & MAX_RESOLUTION
    if (index === 0) return 0
    const size = this.#rollups[index - 1]
    if (size === undefined) throw new TilekilnError('TK_CHECKPOINT', `the checkpoint holds a rolled-up tile of resolution #${index}, which its header does not list (rollups: ${this.#rollups.join(', ') || 'none'})`, { groupBy: this.#bound.plan.name, partition: this.partition(i) })
    return size
  }

  /** Is entry i an unmergeable open rolled-up tile? */
  unmergeable (i: number): boolean {
    const flags = this.#snap.timers[i] ?? 0
    return (flags & UNMERGEABLE) !== 0 && ((flags >> 1) & MAX_RESOLUTION) !== 0
  }

  /** Is a buffered-trigger timer pending for entry i (an open fine tile)? */
  timerPending (i: number): boolean {
    const flags = this.#snap.timers[i] ?? 0
    return (flags & 1) === 1 && flags >> 1 === 0
  }

  /** Entry i's key values at their row positions (the row is reused by the next call). */
  keyRow (i: number): readonly unknown[] {
    const keyValues = this.#bound.keyCodec.decode(this.#puts.key(i))
    this.#bound.keyIndices.forEach((idx, j) => { this.#keyRow[idx] = keyValues[j] })
    return this.#keyRow
  }

  /** Entry i's tile IRs (normalized), in tile order. */
  irs (i: number): readonly unknown[] {
    return this.#bound.tileCodec.decode(this.#puts.value(i)).irs
  }
}
