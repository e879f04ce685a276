// A worker's open tiles: one *entry* per (entity key, tile start) with the IR of every tile part, grouped by the
// source partition the key's events come from (the unit of state that moves between daemons). This class
// coordinates the rooms that hold it:
//
//   keys      key → keyId, its Avro key bytes and home partition              worker/key-table.ts
//   entries   the free list and per-entry columns (keyId, partition, tile
//             start, latest event time)                                       worker/entry-table.ts
//   tiles     (keyId, tile) → entry; each partition's open tiles' entries     worker/open-tiles.ts
//   IRs       kernel cells in WASM memory (where: state-layout.ts), JS IRs    worker/tile-irs.ts
//   rows      rows staged for the kernels, and the kernel runs                worker/row-buffer.ts
//   writing   entries → tile puts, in WASM or JS                              worker/tile-encoder.ts, tagged-puts.ts
//   triggers  dirty entries, timers; the lateness rule                        window/trigger.ts
//   rollups   open rolled-up tiles, fed by closing fine tiles                 worker/rollups.ts
//   snapshots the checkpoint form of the state                                worker/snapshot.ts
//
// Rows are folded in two steps: `row()` resolves the entry, applies JS parts and stages the row for the kernels;
// `flush()` runs each kernel part once over the staged rows. Anything that reads IRs (emitting, closing) flushes
// first. Allocating, freeing and growing entries touch several rooms, and are done here.

import { instantiateKernels } from '../agg/kernels.ts'
import { describeKey } from '../codec/key.ts'
import type { BoundGroupBy } from '../config/bind.ts'
import { tileStartOf } from '../window/resolution.ts'
import { isFinal, type Trigger, TriggerState } from '../window/trigger.ts'
import { EntryTable } from './entry-table.ts'
import { KeyTable } from './key-table.ts'
import { OpenTiles } from './open-tiles.ts'
import { type Resolution, type RollupEntries, type RollupPuts, Rollups, type UnmergeableRollup } from './rollups.ts'
import { RowBuffer } from './row-buffer.ts'
import { SnapshotReader, SnapshotWriter, type StateSnapshot } from './snapshot.ts'
import { stateLayout } from './state-layout.ts'
import { TaggedPuts } from './tagged-puts.ts'
import { TileEncoder } from './tile-encoder.ts'
import { TileIrs } from './tile-irs.ts'
import type { WasmMemory } from '../types/wasm-memory.ts'

export type { StateSnapshot, Trigger, UnmergeableRollup }

export interface TileStateOptions {
  readonly allowedLatenessMillis: number
  readonly trigger: Trigger
  /** Rows buffered before the kernels run (bounded by the row region). */
  readonly rowCapacity?: number
  /** Bytes of WASM memory kept for the caller at `scratchPtr` (the numeric path's reader); default none. */
  readonly scratchBytes?: number
  /** Longest entity key the store takes (default and upper bound: 65,535, the u16 of put batches). */
  readonly maxKeyBytes?: number
  /** Rolled-up tile sizes written beside the fine tiles (worker/rollups.ts); default none. */
  readonly rollups?: readonly number[]
}

const PAGE = 65536

/** What `row` did with a row. */
export const ROW_FOLDED = 0
/**
 * The key lives in another partition (the topic is not keyed by it) whose clock already closed the row's tile:
 * folding it would rewrite a complete tile with a partial one. The caller dead-letters it as late.
 */
export const ROW_LATE_AT_HOME = 1

export class TileState {
  /** Where the scratch region asked for with `scratchBytes` starts in the WASM memory. */
  readonly scratchPtr: number
  readonly #bound: BoundGroupBy
  readonly #tileSize: number
  readonly #lateness: number
  readonly #memory: WasmMemory
  readonly #keys: KeyTable
  readonly #entries = new EntryTable()
  readonly #open: OpenTiles
  readonly #irs: TileIrs
  readonly #rows: RowBuffer
  readonly #encoder: TileEncoder
  readonly #triggers: TriggerState
  readonly #rollups: Rollups
  readonly #stride: number
  // decided once per GroupBy, so that the per-row path makes no call it does not need
  readonly #checks: boolean
  readonly #jsParts: boolean
  readonly #kernelParts: boolean
  readonly #fine = new TaggedPuts()
  /** The fine tiles written since `begin`. */
  readonly puts = this.#fine.puts
  /** Rows whose key lives in another partition (a topic not keyed by the entity), since the last `takeCrossings`. */
  #crossings = 0
  #crossingSample: string | null = null

  constructor (bound: BoundGroupBy, memory: WasmMemory, options: TileStateOptions) {
    this.#bound = bound
    this.#tileSize = bound.plan.tileSizeMillis
    this.#lateness = options.allowedLatenessMillis
    this.#memory = memory
    this.#keys = new KeyTable(bound, Math.min(0xffff, options.maxKeyBytes ?? 0xffff))
    this.#open = new OpenTiles(this.#tileSize, this.#lateness, this.#keys)
    this.#triggers = new TriggerState(options.trigger)
    const host: RollupEntries = {
      keyOf: e => this.#entries.key[e]!,
      tileStartOf: e => this.#entries.tileStart[e]!,
      alloc: (keyId, partition, start) => this.#alloc(keyId, partition, start),
      merge: (c, e) => this.#merge(c, e),
      free: e => this.#free(e),
      write: (list, n, out) => this.#encoder.emitMany(list, n, true, out),
      clear: e => {
        this.#irs.dispose(e)
        this.#irs.reset(e, this.#entries.tileStart[e]!, this.#keys, this.#entries.key[e]!)
      },
      writeIncomplete: (e, out) => this.#encoder.emit(e, false, out),
      describeKey: e => this.#describeKeyBytes(this.#keys.bytes(this.#entries.key[e]!))
    }
    this.#rollups = new Rollups(this.#tileSize, options.rollups ?? [], this.#lateness, bound.plan.name, host)

    const layout = stateLayout(bound, options.rowCapacity ?? 8192, options.scratchBytes ?? 0)
    this.scratchPtr = layout.scratchPtr
    const k = instantiateKernels(memory)
    this.#stride = layout.stride
    this.#checks = layout.checked.length > 0
    this.#jsParts = layout.oparts.length > 0
    this.#kernelParts = layout.kparts.length > 0
    this.#irs = new TileIrs(layout, k)
    this.#rows = new RowBuffer(layout, k)
    this.#encoder = new TileEncoder(layout, k, this.#keys, this.#entries, this.#irs)
    this.#grow(1024)
  }

  get liveEntries (): number { return this.#entries.live }
  get liveKeys (): number { return this.#keys.size }
  get openTiles (): number { return this.#open.count }
  /** Open rolled-up tiles (entries). */
  get openRollups (): number { return this.#rollups.open }
  /** Partitions with live state. */
  get partitions (): number[] { return this.#open.partitions() }
  /**
   * Bytes of state currently allocated: the kernel parts' aggregation state in WASM memory (room for the entry table's
   * capacity), the entry table, the trigger's per-entry arrays and timers, the open tiles' index and lists, the rolled-up
   * tiles' index, and the key table (arena included). JS-held state is not counted: the IRs of parts that have no
   * kernel (sketches and other object IRs) and the key map of keys that are not one integral column.
   */
  get stateBytes (): number {
    return this.#entries.capacity * this.#stride + this.#entries.bytes + this.#triggers.bytes + this.#open.bytes + this.#rollups.bytes + this.#keys.tableBytes
  }
  get stride (): number { return this.#stride }

  /** Is a row at this tile start late for this watermark (the tile's end − 1 + allowed lateness has passed)? */
  isLate (tileStart: number, watermark: number): boolean {
    return isFinal(tileStart, this.#tileSize, this.#lateness, watermark)
  }

  /** Starts the puts of a task; `now`: its processing time, the one `rowNumbers` folds rows at. */
  begin (now?: number): void {
    if (now !== undefined) this.#triggers.now = now
    this.#fine.begin()
    this.#rollups.begin()
  }

  /** The partition of every put since `begin`, in put order. */
  putPartitions (): Int32Array { return this.#fine.partitions() }
  /** The latest event time of every put's tile since `begin`, in put order. */
  putLatest (): Float64Array { return this.#fine.latest() }
  /** The rolled-up tiles written since `begin`, one batch per resolution that wrote any. */
  takeRollups (): RollupPuts[] { return this.#rollups.take() }

  /**
   * Rolled-up tiles found unmergeable since the last call (their fine tiles do not merge: worker/rollups.ts), each
   * once; the same empty array when none.
   */
  takeUnmergeable (): readonly UnmergeableRollup[] { return this.#rollups.takeReports() }

  /** Rows folded into another partition's key since the last call, with one example (for a log line). */
  takeCrossings (): { count: number, sample: string | null } {
    const r = { count: this.#crossings, sample: this.#crossingSample }
    this.#crossings = 0
    this.#crossingSample = null
    return r
  }

  /**
   * Folds one validated row (ts a finite number, tile start computed, not late by its own partition's clock; a null
   * key value is a key too) from `partition`. Throws a TilekilnError (TK_INPUT) when an aggregation refuses the row;
   * then nothing was changed. Returns ROW_LATE_AT_HOME (and changes nothing) when the key's state lives in another
   * partition that already closed the tile.
   */
  row (out: readonly unknown[], ts: number, tileStart: number, now: number, partition = 0): number {
    const keyId = this.#keys.idFor(out, partition)
    const home = this.#keys.home(keyId)
    if (home !== partition && this.#crossed(home, partition, tileStart, out, 0)) return ROW_LATE_AT_HOME
    const liveBefore = this.#entries.live
    const e = this.#entryFor(keyId, home, tileStart)
    if (this.#checks) {
      try {
        this.#irs.check(e, out)
      } catch (err) {
        if (this.#entries.live > liveBefore) {
          // the entry was made for this row: undo it
          this.#open.removeLast(e, keyId, home, tileStart)
          this.#free(e)
        }
        throw err
      }
    }
    if (this.#jsParts) this.#irs.update(e, out, ts)
    // Chronon's add(): latestTsMillis = the time of the element just added (not a max: an out-of-order event lowers it)
    this.#entries.latest[e] = ts
    if (this.#kernelParts) this.#rows.add(e, ts, out)
    this.#triggers.touched(e, now)
    return ROW_FOLDED
  }

  /**
   * Whether `rowNumbers` can fold this GroupBy's rows: one integral key column, and every aggregation a kernel part
   * without a JS check (so a row's inputs are numbers or nulls, nothing else).
   */
  get numericRows (): boolean { return this.#keys.numeric && !this.#jsParts && !this.#checks }

  /** The output columns the kernel parts read, in the order `rowNumbers`' `at` gives them. */
  get kernelInputs (): readonly number[] { return this.#rows.inputs }

  /**
   * `row` for a row given as numbers (only when `numericRows`): its key value at `vals[keyAt]` (not null), its time
   * at `vals[tsAt]`, kernel input j's value at `vals[at[j]]` (null where `valid` is 0). Folds exactly as `row` folds
   * the same values, at the processing time given to `begin`. (The key, time and processing time are read here, not
   * passed: a double argument of a call V8 does not inline is a heap number allocated per row.)
   */
  rowNumbers (keyAt: number, tsAt: number, partition: number, vals: Float64Array, valid: Uint8Array, at: Int32Array): number {
    const key = vals[keyAt]!
    const ts = vals[tsAt]!
    const tileStart = tileStartOf(ts, this.#tileSize)
    const keyId = this.#keys.idForNumber(key, partition)
    const home = this.#keys.home(keyId)
    if (home !== partition && this.#crossed(home, partition, tileStart, null, key)) return ROW_LATE_AT_HOME
    const e = this.#entryFor(keyId, home, tileStart)
    this.#entries.latest[e] = ts
    if (this.#kernelParts) this.#rows.addNumbers(e, ts, vals, valid, at)
    this.#triggers.touch(e)
    return ROW_FOLDED
  }

  /**
   * Loads the state rowNumbers will touch for a row of key k (the key's hash slot and record, its open entry's
   * trigger flags), changing nothing, and returns a number made of what it loaded (sum it somewhere: a load whose
   * value is unused may be dropped by the compiler). With 100,000 keys nearly every row's lookups miss the caches,
   * one after the other; a pass of these over a chunk of rows before folding them issues the misses of many rows at
   * once (worker/flat-numbers.ts).
   */
  prefetch (k: number): number {
    const e = this.#keys.prefetchNumber(k)
    return e >= 0 ? this.#triggers.flagOf(e) : 0
  }

  /**
   * A key seen in two partitions: its state stays where it lives (one owner per key), and is counted. True when the
   * row is late by the clock of the key's home partition. The key is `out`'s key columns, or (out null) the number.
   */
  #crossed (home: number, partition: number, tileStart: number, out: readonly unknown[] | null, key: number): boolean {
    this.#crossings++
    if (this.#crossingSample === null) {
      const described = out !== null ? this.#describeKey(out) : JSON.stringify([key]).slice(0, 120)
      this.#crossingSample = `key ${described} lives in partition ${home}, row from partition ${partition}`
    }
    const closed = this.#open.closedAt(home)
    return closed !== undefined && this.isLate(tileStart, closed)
  }

  /** A key's Avro bytes as a JSON object of its key columns (reports; not a hot path). */
  #describeKeyBytes (bytes: Uint8Array): string {
    return describeKey(this.#bound.plan.keyColumns, this.#bound.keyCodec.decode(bytes)).slice(0, 200)
  }

  #describeKey (out: readonly unknown[]): string {
    return JSON.stringify(this.#bound.keyIndices.map(i => out[i]), (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 120)
  }

  /** Runs every kernel part over the buffered rows. */
  flush (): void { this.#rows.flush() }

  /**
   * Closes every tile of `partition` its clock has passed (end − 1 + lateness ≤ watermark): writes it one last
   * time with isComplete = true and frees its entries. Returns how many tiles closed.
   */
  close (partition: number, watermark: number): number {
    // Ascending: the rollups merge each key's fine tiles in time order (as a fine-tile read does).
    const due = this.#open.due(partition, watermark)
    if (due === null) return 0
    if (due.length > 0) this.flush()
    for (const [tileStart, tile] of due) {
      this.#encoder.emitMany(tile.entries, tile.n, true, this.#fine)
      if (this.#rollups.any) this.#rollups.rollUp(partition, tile, tileStart)
      this.#open.remove(partition, tileStart, this.#entries.key)
      for (let i = 0; i < tile.n; i++) this.#free(tile.entries[i]!)
    }
    if (this.#rollups.any) this.#rollups.close(partition, watermark)
    return due.length
  }

  /** Drops a partition's state without writing anything (it moved to another daemon, or was fenced). */
  drop (partition: number): number {
    let dropped = this.#rollups.drop(partition)
    const tiles = this.#open.takeAll(partition, this.#entries.key)
    if (tiles === null) return dropped
    this.flush()
    for (const tile of tiles) {
      for (let i = 0; i < tile.n; i++) this.#free(tile.entries[i]!)
      dropped += tile.n
    }
    // Dirty entries of the partition were freed: fireDirty skips them (their DIRTY flag is cleared on free).
    return dropped
  }

  /** Always-fire trigger: writes every tile touched since the last call (once each). */
  fireDirty (): void {
    if (this.#triggers.dirtyCount === 0) return
    this.flush()
    const n = this.#triggers.takeDirty()
    this.#encoder.emitMany(this.#triggers.dirty, n, false, this.#fine)
  }

  /** Buffered trigger: writes the tiles whose timer is due. */
  fireTimers (now: number): void {
    let flushed = false
    for (let e = this.#triggers.takeDue(now); e >= 0; e = this.#triggers.takeDue(now)) {
      if (!flushed) { this.flush(); flushed = true }
      this.#encoder.emit(e, false, this.#fine)
    }
  }

  /** Earliest pending buffered-trigger deadline, or Infinity. */
  nextTimer (): number { return this.#triggers.nextTimer() }

  // ---- checkpoints (the format: worker/snapshot.ts) -----------------------------------------------------------

  /**
   * The state of `partitions` (all when null): one tile put per live entry (open fine tiles, then open rolled-up
   * ones), with each entry's partition, timer flag and latest event time. Taken when the worker is idle (nothing
   * buffered, nothing dirty).
   */
  snapshot (partitions: readonly number[] | null = null): StateSnapshot {
    this.flush()
    const w = new SnapshotWriter()
    for (const p of this.#open.partitions()) {
      if (partitions !== null && !partitions.includes(p)) continue
      for (const tile of this.#open.lists(p)) {
        for (let i = 0; i < tile.n; i++) {
          const e = tile.entries[i]!
          this.#encoder.write(e, false, w.puts)
          w.fine(p, this.#entries.latest[e]!, this.#triggers.timerPending(e))
        }
      }
    }
    this.#rollups.forEachOpen(partitions, (e, p, r) => {
      this.#encoder.write(e, false, w.puts)
      w.rolledUp(p, this.#entries.latest[e]!, r.index, this.#rollups.isUnmergeable(e))
    })
    return w.finish()
  }

  /**
   * Loads entries from a snapshot (or the part of one this worker owns); pending timers fire at `now`. `closed`
   * gives each restored partition's closing watermark; `snapRollups` the rolled-up sizes of its checkpoint.
   */
  restore (snap: StateSnapshot, closed: ReadonlyMap<number, number>, now: number, snapRollups: readonly number[] = this.#rollups.resolutions.map(r => r.millis)): void {
    const read = new SnapshotReader(snap, this.#bound, snapRollups)
    for (const [p, w] of closed) {
      this.#open.restoreClosed(p, w)
      this.#rollups.restoreClosed(p, w, snapRollups)
    }
    for (let i = 0; i < read.count; i++) {
      const partition = read.partition(i)
      const size = read.rolledUpSize(i)
      let r: Resolution | undefined
      if (size !== 0) {
        r = this.#rollups.resolutions.find(x => x.millis === size)
        // This run does not roll up to that size: the tile is never written, and readers use the finer tiles.
        if (r === undefined) continue
      }
      const keyId = this.#keys.idFor(read.keyRow(i), partition)
      const start = read.tileStart(i)
      let e: number
      if (r !== undefined) {
        e = this.#rollups.restoreEntry(r, keyId, partition, start, read.unmergeable(i))
      } else {
        e = this.#entryFor(keyId, this.#keys.home(keyId), start)
      }
      this.#entries.latest[e] = read.latest(i)
      this.#irs.load(e, read.irs(i))
      if (read.timerPending(i)) this.#triggers.restoreTimer(e, now)
    }
  }

  // ---- entries: they live in several rooms ---------------------------------------------------------------------

  /** The open fine-tile entry of (keyId, tileStart), made in `partition` if new. */
  #entryFor (keyId: number, partition: number, tileStart: number): number {
    const found = this.#open.entryOf(keyId, tileStart)
    if (found >= 0) return found
    const e = this.#alloc(keyId, partition, tileStart)
    this.#open.add(keyId, partition, tileStart, e)
    return e
  }

  #alloc (keyId: number, partition: number, tileStart: number): number {
    if (this.#entries.full) this.#grow(this.#entries.capacity * 2)
    const e = this.#entries.alloc(keyId, partition, tileStart)
    this.#triggers.reset(e)
    this.#keys.ref(keyId)
    this.#irs.reset(e, tileStart, this.#keys, keyId)
    return e
  }

  #free (e: number): void {
    this.#triggers.freed(e)
    this.#irs.dispose(e)
    this.#entries.free(e)
    this.#keys.unref(this.#entries.key[e]!)
  }

  /** Entry c ⊕= entry e: IRs, and the later latest event time. */
  #merge (c: number, e: number): void {
    this.#irs.merge(c, e)
    const latest = this.#entries.latest
    if (latest[e]! > latest[c]!) latest[c] = latest[e]!
  }

  #grow (cap: number): void {
    const bytes = this.#irs.bytesFor(cap)
    const have = this.#memory.buffer.byteLength
    if (bytes > have) this.#memory.grow(Math.ceil((bytes - have) / PAGE))
    const buf = this.#memory.buffer
    this.#irs.attach(buf)
    this.#rows.attach(buf)
    this.#encoder.attach(buf)
    this.#entries.grow(cap)
    this.#triggers.grow(cap)
  }
}
