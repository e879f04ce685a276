// Multi-resolution tiles ("MegaTiles"): which open rolled-up (coarse: 1 hour, 1 day, …) tiles a worker holds, per
// resolution and source partition, and their bookkeeping as fine tiles close (Rollups). The tiles themselves are
// entries of the worker state (worker/tile-state.ts: allocated, merged, written and freed through RollupEntries),
// laid out exactly as fine tiles are (same stride, same kernel cells, same JS IRs), filled from the fine tiles as
// they become final, never from events:
//
//   a fine tile final (closed by its partition's clock)   →  its IRs merged into the key's open coarse entry of every
//                                                             resolution (kernel cells: agg/kernels.ts
//                                                             mergeKernelIr; JS IRs: the aggregator's merge), in
//                                                             ascending tile order
//   the clock passes a coarse tile's end − 1 + lateness    →  the coarse entry written once, isComplete = true, into
//                                                             that resolution's put batch, then freed
//
// A coarse tile is written exactly once, when every fine tile it covers is final (an event later than the lateness
// is refused upstream, so it never changes afterwards). Its bytes are the same Avro tile record as a fine tile's; the
// TileKey carries the coarse tileSizeMillis. A reader that finds a coarse tile may use it instead of the fine tiles
// it covers (fetch/tile-cover.ts); one that does not find it falls back to the fine tiles.
//
// Unmergeable coarse tiles. A merge the aggregator refuses (TK_INPUT: an element-wise aggregation whose list length
// differs between two fine tiles of the hour or day — Chronon's "Tensor dimensions must match for merge") is bad
// input, not a bug: the fine tiles are written as they are (Chronon's read side refuses to merge them too), and the
// coarse tile is marked unmergeable. Its IRs are emptied, nothing is merged into it any more, and at its close an
// empty tile NOT marked complete is written in its place, never a value: readers never take an incomplete coarse
// tile (fetch/tile-cover.ts), so they read the fine tiles as if the coarse tile were not there, and an older complete
// version (a run over other data into the same store) is overwritten rather than left readable. The store has no
// delete; the incomplete tile is how a coarse tile is withdrawn. Each is reported once, when its merge fails
// (takeReports: the worker hands the reports to the engine, which counts and logs them). The mark is state: a
// checkpoint carries it (worker/snapshot.ts flag bit 7), so a restored worker does not write the tile either.
//
// Cost: per closed fine tile and resolution, one hash lookup and one cell merge per part (no allocation for kernel
// parts); nothing per event.

import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import { tileStartOf } from '../window/resolution.ts'
import { isFinal } from '../window/trigger.ts'
import { PairTable } from './hash-tables.ts'
import { TaggedPuts } from './tagged-puts.ts'

/** The coarse tiles of one resolution written since `begin`, with each put's partition and latest event time. */
export interface RollupPuts {
  readonly tileSizeMillis: number
  readonly puts: ArrayBuffer
  readonly partitions: Int32Array
  readonly latest: Float64Array
}

/** A coarse tile whose fine tiles do not merge (see the header), reported once, when its merge failed. */
export interface UnmergeableRollup {
  readonly partition: number
  readonly tileSizeMillis: number
  readonly tileStart: number
  /** The fine tile whose merge into it was refused. */
  readonly fineTileStart: number
  /** The entity key, as a JSON object of its key columns. */
  readonly key: string
  /** What the aggregator refused (what mismatched). */
  readonly reason: string
}

/** No reports (shared: a task without any allocates nothing). */
const NO_REPORTS: readonly UnmergeableRollup[] = Object.freeze([])

/** The entries of one open coarse tile. */
export interface CoarseList { entries: Int32Array, n: number }

/** One resolution: its open coarse entries and its output of the current task. */
export class Resolution {
  /** 1-based, as checkpoints number it (flags >> 1). */
  readonly index: number
  readonly millis: number
  /** (keyId, coarse tile index) → entry */
  readonly entries = new PairTable(1 << 12)
  /** partition → coarse tile start → its entries */
  readonly open = new Map<number, Map<number, CoarseList>>()
  /** partition → the watermark its coarse tiles were last closed at by a close (a restored partition: unknown). */
  readonly closed = new Map<number, number>()
  /**
   * partition → the closing watermark of a checkpoint restored without this resolution's open tiles (taken with
   * other --rollups, or by an older version): a coarse tile that had fine tiles closed before it is never written.
   */
  readonly #from = new Map<number, number>()
  /** The coarse tiles written since `begin`. */
  readonly out = new TaggedPuts()

  constructor (index: number, millis: number) {
    this.index = index
    this.millis = millis
  }

  /** The open coarse entry of (key, start), or −1. */
  get (keyId: number, start: number): number {
    return this.entries.get(keyId, start / this.millis)
  }

  /** Records a new coarse entry. Refuses one whose tile this partition's clock already closed (the engine's bug). */
  add (keyId: number, partition: number, start: number, e: number, lateness: number, groupBy: string): void {
    const done = this.closed.get(partition) ?? -Infinity
    if (isFinal(start, this.millis, lateness, done)) {
      throw new TilekilnError('TK_INTERNAL', `the ${this.millis} ms tile [${start}, ${start + this.millis}) of partition ${partition} was written before all its fine tiles were final (closed at watermark ${done})`, { groupBy, partition })
    }
    this.entries.set(keyId, start / this.millis, e)
    let open = this.open.get(partition)
    if (open === undefined) { open = new Map(); this.open.set(partition, open) }
    let list = open.get(start)
    if (list === undefined) { list = { entries: new Int32Array(16), n: 0 }; open.set(start, list) }
    if (list.n === list.entries.length) {
      const grown = new Int32Array(list.n * 2); grown.set(list.entries); list.entries = grown
    }
    list.entries[list.n++] = e
  }

  /** Rolls up only coarse tiles none of whose fine tiles were final at `watermark` (see #from). */
  startAfter (partition: number, watermark: number): void {
    this.#from.set(partition, Math.max(this.#from.get(partition) ?? -Infinity, watermark))
  }

  /** Is the coarse tile at `start` rolled up: could none of its fine tiles have closed before a restore? */
  covers (partition: number, start: number, fineMillis: number, lateness: number): boolean {
    const from = this.#from.get(partition)
    return from === undefined || start + fineMillis - 1 + lateness > from
  }

  /** Removes and returns the open coarse tiles of `partition` its clock has passed, ascending by start. */
  takeDue (partition: number, watermark: number, lateness: number): [number, CoarseList][] {
    if (watermark > (this.closed.get(partition) ?? -Infinity)) this.closed.set(partition, watermark)
    const open = this.open.get(partition)
    if (open === undefined) return []
    const due: [number, CoarseList][] = []
    for (const [start, list] of open) if (isFinal(start, this.millis, lateness, watermark)) due.push([start, list])
    if (due.length > 1) due.sort((a, b) => a[0] - b[0])
    for (const [start] of due) open.delete(start)
    if (open.size === 0) this.open.delete(partition)
    return due
  }

  /** Removes and returns every open coarse tile of `partition` (dropped: another daemon owns it now). */
  takeAll (partition: number): CoarseList[] {
    const open = this.open.get(partition)
    this.open.delete(partition)
    this.closed.delete(partition)
    this.#from.delete(partition)
    return open === undefined ? [] : [...open.values()]
  }

  /** Forgets the (key, start) → entry mapping of a freed entry. */
  forget (keyId: number, start: number): void {
    this.entries.delete(keyId, start / this.millis)
  }

  begin (): void {
    this.out.begin()
  }

  take (): RollupPuts | null {
    if (this.out.puts.count === 0) return null
    return { tileSizeMillis: this.millis, puts: this.out.puts.finish(), partitions: this.out.partitions(), latest: this.out.latest() }
  }

  startOf (tileStart: number): number { return tileStartOf(tileStart, this.millis) }
}

/** The resolutions of a run, ascending; each must be a larger multiple of the fine tile size. */
export function resolutionsFor (fineMillis: number, sizes: readonly number[], groupBy: string): Resolution[] {
  for (const r of sizes) {
    if (!(r > fineMillis && r % fineMillis === 0)) throw new TilekilnError('TK_USAGE', `a rolled-up tile of ${r} ms cannot be made of ${fineMillis} ms tiles: its size must be a larger multiple of the GroupBy's tile size`, { groupBy })
  }
  return [...new Set(sizes)].sort((a, b) => a - b).map((r, i) => new Resolution(i + 1, r))
}

/** What the rolled-up tiles need of the worker state's entries (worker/tile-state.ts). */
export interface RollupEntries {
  keyOf (e: number): number
  tileStartOf (e: number): number
  /** A new entry for the open coarse tile (keyId, start) of `partition`, its IRs empty. */
  alloc (keyId: number, partition: number, start: number): number
  /** Entry c's IRs ⊕= entry e's, by the read side's merge rules; c's latest event time the later of both. */
  merge (c: number, e: number): void
  free (e: number): void
  /** Writes the tiles of list[0, n), complete, into `out`. */
  write (list: Int32Array, n: number, out: TaggedPuts): void
  /** Empties entry e's IRs (its coarse tile is unmergeable: what was merged into it is no tile's value). */
  clear (e: number): void
  /** Writes entry e's tile, NOT complete, into `out` (an unmergeable coarse tile, emptied). */
  writeIncomplete (e: number, out: TaggedPuts): void
  /** Entry e's key as a JSON object of its key columns (for reports). */
  describeKey (e: number): string
}

/** Every resolution of a run, and what happens to them as fine tiles close. */
export class Rollups {
  /** Ascending. */
  readonly resolutions: readonly Resolution[]
  readonly #fineMillis: number
  readonly #lateness: number
  readonly #groupBy: string
  readonly #entries: RollupEntries
  /** Open coarse entries whose merge failed: never merged into again, written emptied and incomplete (header). */
  readonly #unmergeable = new Set<number>()
  /** Reports since the last takeReports; null until the first (the usual case allocates nothing). */
  #reports: UnmergeableRollup[] | null = null

  constructor (fineMillis: number, sizes: readonly number[], lateness: number, groupBy: string, entries: RollupEntries) {
    this.resolutions = resolutionsFor(fineMillis, sizes, groupBy)
    this.#fineMillis = fineMillis
    this.#lateness = lateness
    this.#groupBy = groupBy
    this.#entries = entries
  }

  /** Are any tiles rolled up? */
  get any (): boolean { return this.resolutions.length > 0 }

  /** Bytes of the coarse entries' index and lists (their aggregation state is the entry table's). */
  get bytes (): number {
    let n = 0
    for (const r of this.resolutions) {
      n += r.entries.bytes
      for (const open of r.open.values()) for (const list of open.values()) n += list.entries.byteLength
    }
    return n
  }

  /** Open coarse tiles (entries). */
  get open (): number {
    let n = 0
    for (const r of this.resolutions) for (const open of r.open.values()) for (const list of open.values()) n += list.n
    return n
  }

  begin (): void {
    for (const r of this.resolutions) r.begin()
  }

  /** The coarse tiles written since `begin`, one batch per resolution that wrote any. */
  take (): RollupPuts[] {
    const out: RollupPuts[] = []
    for (const r of this.resolutions) {
      const t = r.take()
      if (t !== null) out.push(t)
    }
    return out
  }

  /** Merges a final fine tile's entries into their keys' open coarse tiles of every resolution (allocating them). */
  rollUp (partition: number, list: CoarseList, tileStart: number): void {
    const entries = this.#entries
    for (const r of this.resolutions) {
      const start = r.startOf(tileStart)
      if (!r.covers(partition, start, this.#fineMillis, this.#lateness)) continue
      for (let i = 0; i < list.n; i++) {
        const e = list.entries[i]!
        const keyId = entries.keyOf(e)
        let c = r.get(keyId, start)
        if (c < 0) {
          c = entries.alloc(keyId, partition, start)
          r.add(keyId, partition, start, c, this.#lateness, this.#groupBy)
        } else if (this.#unmergeable.size !== 0 && this.#unmergeable.has(c)) {
          continue
        }
        try {
          entries.merge(c, e)
        } catch (err) {
          this.#refused(err, r, c, partition, start, tileStart)
        }
      }
    }
  }

  /** A merge into coarse entry c threw: bad input (TK_INPUT) marks the tile unmergeable; anything else is rethrown. */
  #refused (err: unknown, r: Resolution, c: number, partition: number, start: number, fineTileStart: number): void {
    if (!isTilekilnError(err) || err.code !== 'TK_INPUT') throw err
    // The merge may have changed some parts of c before refusing another: no part of c is any tile's value now.
    this.#unmergeable.add(c)
    this.#entries.clear(c)
    ;(this.#reports ??= []).push({ partition, tileSizeMillis: r.millis, tileStart: start, fineTileStart, key: this.#entries.describeKey(c), reason: describeError(err) })
  }

  /** The unmergeable coarse tiles found since the last call (each reported once). */
  takeReports (): readonly UnmergeableRollup[] {
    const reports = this.#reports
    this.#reports = null
    return reports ?? NO_REPORTS
  }

  /** Is open coarse entry e unmergeable? */
  isUnmergeable (e: number): boolean {
    return this.#unmergeable.size !== 0 && this.#unmergeable.has(e)
  }

  /** Moves the unmergeable entries of `list` to its end; returns how many others there are (they come first). */
  #setAside (list: CoarseList): number {
    const a = list.entries
    let n = 0
    for (let i = 0; i < list.n; i++) {
      const e = a[i]!
      if (this.#unmergeable.has(e)) continue
      a[i] = a[n]!
      a[n++] = e
    }
    return n
  }

  /** Frees coarse entry e of the tile at `start` (written, or dropped). */
  #free (r: Resolution, e: number, start: number): void {
    r.forget(this.#entries.keyOf(e), start)
    if (this.#unmergeable.size !== 0) this.#unmergeable.delete(e)
    this.#entries.free(e)
  }

  /** Writes (complete) and frees the coarse tiles of `partition` its clock has passed. */
  close (partition: number, watermark: number): void {
    const entries = this.#entries
    for (const r of this.resolutions) {
      for (const [start, list] of r.takeDue(partition, watermark, this.#lateness)) {
        const n = this.#unmergeable.size === 0 ? list.n : this.#setAside(list)
        entries.write(list.entries, n, r.out)
        for (let i = n; i < list.n; i++) entries.writeIncomplete(list.entries[i]!, r.out)
        for (let i = 0; i < list.n; i++) this.#free(r, list.entries[i]!, start)
      }
    }
  }

  /** Frees the open coarse tiles of `partition` without writing them; returns how many. */
  drop (partition: number): number {
    const entries = this.#entries
    let dropped = 0
    for (const r of this.resolutions) {
      for (const list of r.takeAll(partition)) {
        for (let i = 0; i < list.n; i++) {
          const e = list.entries[i]!
          this.#free(r, e, entries.tileStartOf(e))
          dropped++
        }
      }
    }
    return dropped
  }

  /** Visits the open coarse entries of `partitions` (all when null), by resolution, partition and tile. */
  forEachOpen (partitions: readonly number[] | null, visit: (e: number, partition: number, r: Resolution) => void): void {
    for (const r of this.resolutions) {
      for (const [p, open] of r.open) {
        if (partitions !== null && !partitions.includes(p)) continue
        for (const list of open.values()) for (let i = 0; i < list.n; i++) visit(list.entries[i]!, p, r)
      }
    }
  }

  /** A restored partition closed at `watermark`: sizes the checkpoint did not roll up start after it. */
  restoreClosed (partition: number, watermark: number, snapshotSizes: readonly number[]): void {
    // Their open coarse tiles are not in the snapshot.
    for (const r of this.resolutions) if (!snapshotSizes.includes(r.millis)) r.startAfter(partition, watermark)
  }

  /** A restored open coarse tile (keyId, start) of resolution r, marked unmergeable or not: its new entry. */
  restoreEntry (r: Resolution, keyId: number, partition: number, start: number, unmergeable = false): number {
    if (r.startOf(start) !== start) throw new TilekilnError('TK_CHECKPOINT', `the checkpoint holds a ${r.millis} ms rolled-up tile at ${start}, which is not a start of such a tile`, { groupBy: this.#groupBy, partition })
    const e = this.#entries.alloc(keyId, partition, start)
    r.add(keyId, partition, start, e, this.#lateness, this.#groupBy)
    // Reported when its merge failed, before the checkpoint: not again.
    if (unmergeable) this.#unmergeable.add(e)
    return e
  }
}
