// A worker's open tiles: one *entry* per (entity key, tile start) with the IR of every tile part, grouped by the
// source partition the key's events come from (the unit of state that moves between daemons).
//
//   keys     key → keyId, its Avro key bytes and home partition: worker/key-table.ts
//   entries  the free list and per-entry columns (keyId, partition, tileStart, latest: the time of the last event
//            folded in, Chronon's latestTsMillis): worker/entry-table.ts
//   tiles    (keyId, tile index) → entry; per partition and open tile the list of its entries (closing a partition's
//            tile walks it): worker/open-tiles.ts
//   state    kernel parts: WASM memory at stateBase + entry * stride + part.offset (flat, no objects; where
//            everything lives: worker/state-layout.ts)
//            other parts: irs[objectPart][entry] (JS values, for sets, heaps, strings…)
//
// Closed tiles also feed the rolled-up tiles (worker/rollups.ts). Triggers (which entries have a write pending: dirty
// entries, timers) and the lateness rule are window/trigger.ts.
//
// Rows are folded in two steps: `row()` resolves the entry, applies JS parts and appends the row to the kernel row
// buffer (WASM memory); `flush()` runs each kernel part once over the buffered rows. Anything that reads IRs
// (emitting, closing) flushes first.

import type { ColumnAggregator } from '../agg/column.ts'
import { type KernelExports, type KernelPart, instantiateKernels, loadKernelIr, mergeKernelIr, runKernel, writeKernelIr } from '../agg/kernels.ts'
import { writeTileTrailer } from '../codec/tile.ts'
import { TilekilnError } from '../errors.ts'
import type { BoundGroupBy } from '../config/bind.ts'
import { TilePutsWriter } from '../sink/tile-puts.ts'
import { isFinal, type Trigger, TriggerState } from '../window/trigger.ts'
import { EntryTable, growF64, growI32 } from './entry-table.ts'
import { KeyTable } from './key-table.ts'
import { OpenTiles } from './open-tiles.ts'
import { type CoarseList, type Resolution, type RollupPuts, resolutionsFor } from './rollups.ts'
import { SnapshotReader, SnapshotWriter, type StateSnapshot } from './snapshot.ts'
import { EMIT_BYTES, EMIT_CHUNK, type EncodeStep, encoderDescriptors, INLINE_KEY, stateLayout } from './state-layout.ts'
import type { WasmMemory } from '../types/wasm-memory.ts'

export type { StateSnapshot, Trigger }

export interface TileStateOptions {
  readonly allowedLatenessMillis: number
  readonly trigger: Trigger
  /** Rows buffered before the kernels run (bounded by the row region). */
  readonly rowCapacity?: number
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
  readonly #bound: BoundGroupBy
  readonly #tileSize: number
  readonly #lateness: number
  readonly #memory: WasmMemory
  readonly #k: KernelExports
  #dv!: DataView

  // kernel parts and the row buffer in WASM memory (worker/state-layout.ts)
  readonly #kparts: readonly KernelPart[]
  readonly #kinputs: readonly number[]
  readonly #rowCap: number
  readonly #entriesPtr: number
  readonly #tsPtr: number
  readonly #valsPtr: readonly number[]
  readonly #validPtr: readonly number[]
  readonly #stateBase: number
  readonly #stride: number
  /** When every part is a kernel part, tiles are encoded in WASM (encodeTiles): entry meta offset, or -1. */
  readonly #meta: number
  readonly #descPtr: number
  readonly #listPtr: number
  readonly #outPtr: number
  #list!: Int32Array
  #u8!: Uint8Array
  #rowEntries!: Int32Array
  #rowTs!: Float64Array
  #vals: Float64Array[] = []
  #valid: Uint8Array[] = []
  #nRows = 0

  // JS-IR parts
  readonly #oparts: readonly ColumnAggregator[]
  readonly #oirs: unknown[][]
  /** JS parts that can refuse a row (element-wise tensors…): checked before anything is updated. */
  readonly #checked: readonly number[]
  readonly #steps: readonly EncodeStep[]

  readonly #entries = new EntryTable()

  readonly #keys: KeyTable
  /** Rows whose key lives in another partition (a topic not keyed by the entity), since the last `takeCrossings`. */
  #crossings = 0
  #crossingSample: string | null = null

  readonly #open: OpenTiles

  readonly #triggers: TriggerState

  readonly puts = new TilePutsWriter()
  /** Rolled-up tile sizes (worker/rollups.ts), ascending; their open tiles are entries too. */
  readonly #res: Resolution[]
  /** While rolled-up tiles are emitted: their resolution (its own put batch), else null (the fine batch). */
  #target: Resolution | null = null
  /** The source partition of each put in `puts`, in put order (the store fences writes per partition). */
  #putParts = new Int32Array(1024)
  #nPutParts = 0
  #putLatest = new Float64Array(1024)

  constructor (bound: BoundGroupBy, memory: WasmMemory, options: TileStateOptions) {
    this.#bound = bound
    this.#tileSize = bound.plan.tileSizeMillis
    this.#lateness = options.allowedLatenessMillis
    this.#triggers = new TriggerState(options.trigger)
    this.#open = new OpenTiles(this.#tileSize, this.#lateness)
    this.#keys = new KeyTable(bound, Math.min(0xffff, options.maxKeyBytes ?? 0xffff))
    this.#memory = memory
    this.#k = instantiateKernels(memory)
    this.#rowCap = options.rowCapacity ?? 8192
    this.#res = resolutionsFor(bound.plan.tileSizeMillis, options.rollups ?? [], bound.plan.name)

    const layout = stateLayout(bound, this.#rowCap)
    this.#kparts = layout.kparts
    this.#kinputs = layout.kinputs
    this.#oparts = layout.oparts
    this.#oirs = layout.oparts.map(() => [])
    this.#checked = layout.checked
    this.#steps = layout.steps
    this.#meta = layout.meta
    this.#stride = layout.stride
    this.#entriesPtr = layout.entriesPtr
    this.#tsPtr = layout.tsPtr
    this.#valsPtr = layout.valsPtr
    this.#validPtr = layout.validPtr
    this.#descPtr = layout.descPtr
    this.#listPtr = layout.listPtr
    this.#outPtr = layout.outPtr
    this.#stateBase = layout.stateBase
    this.#ensureMemory(this.#stateBase + this.#stride * 1024)
    if (this.#meta >= 0) new Int32Array(this.#memory.buffer, this.#descPtr, 3 * this.#kparts.length).set(encoderDescriptors(layout))
    this.#grow(1024)
  }

  get liveEntries (): number { return this.#entries.live }
  get liveKeys (): number { return this.#keys.size }
  get openTiles (): number { return this.#open.count }

  /** Partitions with live state. */
  get partitions (): number[] { return this.#open.partitions() }
  /** Bytes of flat IR state (kernel parts) currently allocated. */
  get stateBytes (): number { return this.#entries.capacity * this.#stride }
  get stride (): number { return this.#stride }

  /** Is a row at this tile start late for this watermark (the tile's end − 1 + allowed lateness has passed)? */
  isLate (tileStart: number, watermark: number): boolean {
    return isFinal(tileStart, this.#tileSize, this.#lateness, watermark)
  }

  /** Starts the puts of a task. */
  begin (): void {
    this.puts.begin()
    for (const r of this.#res) r.begin()
    this.#nPutParts = 0
  }

  /** The partition of every put since `begin`, in put order. */
  putPartitions (): Int32Array {
    return this.#putParts.slice(0, this.#nPutParts)
  }

  /** The latest event time of every put's tile since `begin`, in put order. */
  putLatest (): Float64Array {
    return this.#putLatest.slice(0, this.#nPutParts)
  }

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
    if (home !== partition) {
      // A key seen in two partitions: its state stays where it lives (one owner per key), and is counted.
      this.#crossings++
      if (this.#crossingSample === null) this.#crossingSample = `key ${this.#describeKey(out)} lives in partition ${home}, row from partition ${partition}`
      const closed = this.#open.closedAt(home)
      if (closed !== undefined && this.isLate(tileStart, closed)) return ROW_LATE_AT_HOME
    }
    let e = this.#open.entryOf(keyId, tileStart)
    const fresh = e < 0
    if (fresh) {
      e = this.#alloc(keyId, home, tileStart)
      this.#open.add(keyId, home, tileStart, e)
    }
    if (this.#checked.length > 0) {
      try {
        for (const j of this.#checked) this.#oparts[j]!.check!(this.#oirs[j]![e] ?? null, out)
      } catch (err) {
        if (fresh) {
          this.#open.removeLast(e, keyId, home, tileStart)
          this.#free(e)
        }
        throw err
      }
    }
    for (let j = 0; j < this.#oparts.length; j++) {
      const irs = this.#oirs[j]!
      irs[e] = this.#oparts[j]!.update(irs[e] ?? null, out, ts)
    }
    // Chronon's add(): latestTsMillis = the time of the element just added (not a max: an out-of-order event lowers it)
    this.#entries.latest[e] = ts
    if (this.#kparts.length > 0) {
      const r = this.#nRows++
      this.#rowEntries[r] = e
      this.#rowTs[r] = ts
      for (let j = 0; j < this.#kinputs.length; j++) {
        const v = out[this.#kinputs[j]!]
        if (v === null || v === undefined) {
          this.#valid[j]![r] = 0
        } else {
          this.#valid[j]![r] = 1
          this.#vals[j]![r] = typeof v === 'number' ? v : v === true ? 1 : v === false ? 0 : Number(v)
        }
      }
      if (this.#nRows === this.#rowCap) this.flush()
    }
    this.#triggers.touched(e, now)
    return ROW_FOLDED
  }

  #describeKey (out: readonly unknown[]): string {
    return JSON.stringify(this.#bound.keyIndices.map(i => out[i]), (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 120)
  }

  /** Runs every kernel part over the buffered rows. */
  flush (): void {
    const n = this.#nRows
    if (n === 0) return
    this.#nRows = 0
    for (const kp of this.#kparts) {
      const j = this.#kinputs.indexOf(kp.input)
      runKernel(this.#k, kp, n, this.#entriesPtr, this.#tsPtr, this.#valsPtr[j]!, this.#validPtr[j]!, this.#stateBase, this.#stride)
    }
  }

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
      this.#emitMany(tile.entries, tile.n, true)
      if (this.#res.length > 0) this.#rollUp(partition, tile, tileStart)
      this.#open.remove(partition, tileStart, this.#entries.key)
      for (let i = 0; i < tile.n; i++) this.#free(tile.entries[i]!)
    }
    if (this.#res.length > 0) this.#closeRollups(partition, watermark)
    return due.length
  }

  /** Merges a fine tile's final IRs into its keys' open rolled-up tiles of every resolution (allocating them). */
  #rollUp (partition: number, tile: CoarseList, tileStart: number): void {
    for (const r of this.#res) {
      const start = r.startOf(tileStart)
      if (!r.covers(partition, start, this.#tileSize, this.#lateness)) continue
      for (let i = 0; i < tile.n; i++) {
        const e = tile.entries[i]!
        const keyId = this.#entries.key[e]!
        let c = r.get(keyId, start)
        if (c < 0) {
          c = this.#alloc(keyId, partition, start)
          r.add(keyId, partition, start, c, this.#lateness, this.#bound.plan.name)
        }
        this.#mergeEntry(c, e)
      }
    }
  }

  /** Entry c's IRs ⊕= entry e's, by the read side's merge rules. */
  #mergeEntry (c: number, e: number): void {
    const dst = this.#stateBase + c * this.#stride
    const src = this.#stateBase + e * this.#stride
    for (let j = 0; j < this.#kparts.length; j++) mergeKernelIr(this.#dv, dst, src, this.#kparts[j]!)
    for (let j = 0; j < this.#oparts.length; j++) {
      const irs = this.#oirs[j]!
      const b = irs[e] ?? null
      if (b !== null) irs[c] = this.#oparts[j]!.merge(irs[c] ?? null, b)
    }
    const latest = this.#entries.latest
    if (latest[e]! > latest[c]!) latest[c] = latest[e]!
  }

  /** Writes (complete) and frees the rolled-up tiles of `partition` its clock has passed. */
  #closeRollups (partition: number, watermark: number): void {
    for (const r of this.#res) {
      const due = r.takeDue(partition, watermark, this.#lateness)
      if (due.length === 0) continue
      this.#target = r
      try {
        for (const [start, list] of due) {
          this.#emitMany(list.entries, list.n, true)
          for (let i = 0; i < list.n; i++) {
            const e = list.entries[i]!
            r.forget(this.#entries.key[e]!, start)
            this.#free(e)
          }
        }
      } finally {
        this.#target = null
      }
    }
  }

  /** The rolled-up tiles written since `begin`, one batch per resolution that wrote any. */
  takeRollups (): RollupPuts[] {
    const out: RollupPuts[] = []
    for (const r of this.#res) {
      const t = r.take()
      if (t !== null) out.push(t)
    }
    return out
  }

  /** Open rolled-up tiles (entries). */
  get openRollups (): number {
    let n = 0
    for (const r of this.#res) for (const open of r.open.values()) for (const list of open.values()) n += list.n
    return n
  }

  /** Drops a partition's state without writing anything (it moved to another daemon, or was fenced). */
  drop (partition: number): number {
    let dropped = 0
    for (const r of this.#res) {
      for (const list of r.takeAll(partition)) {
        for (let i = 0; i < list.n; i++) {
          const e = list.entries[i]!
          r.forget(this.#entries.key[e]!, this.#entries.tileStart[e]!)
          this.#free(e)
          dropped++
        }
      }
    }
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
    this.#emitMany(this.#triggers.dirty, n, false)
  }

  /** Buffered trigger: writes the tiles whose timer is due. */
  fireTimers (now: number): void {
    let flushed = false
    for (let e = this.#triggers.takeDue(now); e >= 0; e = this.#triggers.takeDue(now)) {
      if (!flushed) { this.flush(); flushed = true }
      this.#emit(e, false)
    }
  }

  /** Earliest pending buffered-trigger deadline, or Infinity. */
  nextTimer (): number {
    return this.#triggers.nextTimer()
  }

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
          this.#emit(e, false, w.puts)
          w.fine(p, this.#entries.latest[e]!, this.#triggers.timerPending(e))
        }
      }
    }
    // open rolled-up tiles: flagged with their resolution, so a restore does not take them for fine tiles
    for (const r of this.#res) {
      for (const [p, open] of r.open) {
        if (partitions !== null && !partitions.includes(p)) continue
        for (const list of open.values()) {
          for (let i = 0; i < list.n; i++) {
            const e = list.entries[i]!
            this.#emit(e, false, w.puts)
            w.rolledUp(p, this.#entries.latest[e]!, r.index)
          }
        }
      }
    }
    return w.finish()
  }

  /**
   * Loads entries from a snapshot (or the part of one this worker owns); pending timers fire at `now`. `closed`
   * gives each restored partition's closing watermark; `snapRollups` the rolled-up sizes of its checkpoint.
   */
  restore (snap: StateSnapshot, closed: ReadonlyMap<number, number>, now: number, snapRollups: readonly number[] = this.#res.map(r => r.millis)): void {
    const read = new SnapshotReader(snap, this.#bound, snapRollups)
    for (const [p, w] of closed) {
      this.#open.restoreClosed(p, w)
      // A size the checkpoint did not roll up starts after it: its open coarse tiles are not in the snapshot.
      for (const r of this.#res) if (!snapRollups.includes(r.millis)) r.startAfter(p, w)
    }
    for (let i = 0; i < read.count; i++) {
      const partition = read.partition(i)
      const size = read.rolledUpSize(i)
      let r: Resolution | undefined
      if (size !== 0) {
        r = this.#res.find(x => x.millis === size)
        // This run does not roll up to that size: the tile is never written, and readers use the finer tiles.
        if (r === undefined) continue
      }
      const keyId = this.#keys.idFor(read.keyRow(i), partition)
      const start = read.tileStart(i)
      let e: number
      if (r !== undefined) {
        // an open rolled-up tile
        if (r.startOf(start) !== start) throw new TilekilnError('TK_CHECKPOINT', `the checkpoint holds a ${r.millis} ms rolled-up tile at ${start}, which is not a start of such a tile`, { groupBy: this.#bound.plan.name, partition })
        e = this.#alloc(keyId, partition, start)
        r.add(keyId, partition, start, e, this.#lateness, this.#bound.plan.name)
      } else {
        const home = this.#keys.home(keyId)
        e = this.#open.entryOf(keyId, start)
        if (e < 0) {
          e = this.#alloc(keyId, home, start)
          this.#open.add(keyId, home, start, e)
        }
      }
      this.#entries.latest[e] = read.latest(i)
      const irs = read.irs(i)
      const base = this.#stateBase + e * this.#stride
      for (let p = 0; p < this.#steps.length; p++) {
        const step = this.#steps[p]!
        if (step.kernel !== null) loadKernelIr(this.#dv, base, step.kernel, irs[p])
        else this.#oirs[step.object]![e] = irs[p] === null ? null : this.#oparts[step.object]!.denormalize(irs[p])
      }
      if (read.timerPending(i)) this.#triggers.restoreTimer(e, now)
    }
  }

  // ---- entries: they live in several rooms ---------------------------------------------------------------------

  #alloc (keyId: number, partition: number, tileStart: number): number {
    if (this.#entries.full) this.#grow(this.#entries.capacity * 2)
    const e = this.#entries.alloc(keyId, partition, tileStart)
    this.#triggers.reset(e)
    this.#keys.ref(keyId)
    this.#k.clear(this.#stateBase + e * this.#stride, this.#stride)
    for (const irs of this.#oirs) irs[e] = null
    if (this.#meta >= 0) {
      const m = this.#stateBase + e * this.#stride + this.#meta
      this.#dv.setFloat64(m, tileStart, true)
      const key = this.#keys.bytes(keyId)
      if (key.length <= INLINE_KEY) {
        this.#u8[m + 8] = key.length
        this.#u8.set(key, m + 9)
      }
    }
    return e
  }

  #free (e: number): void {
    this.#triggers.freed(e)
    for (let j = 0; j < this.#oparts.length; j++) {
      const irs = this.#oirs[j]!
      const ir = irs[e]
      if (ir !== null && ir !== undefined) this.#oparts[j]!.dispose(ir)
      irs[e] = null
    }
    this.#entries.free(e)
    this.#keys.unref(this.#entries.key[e]!)
  }

  #grow (cap: number): void {
    this.#ensureMemory(this.#stateBase + cap * this.#stride)
    this.#entries.grow(cap)
    this.#triggers.grow(cap)
  }

  #ensureMemory (bytes: number): void {
    const have = this.#memory.buffer.byteLength
    if (bytes > have) this.#memory.grow(Math.ceil((bytes - have) / PAGE))
    const buf = this.#memory.buffer
    this.#dv = new DataView(buf)
    this.#rowEntries = new Int32Array(buf, this.#entriesPtr, this.#rowCap)
    this.#rowTs = new Float64Array(buf, this.#tsPtr, this.#rowCap)
    this.#vals = this.#valsPtr.map(p => new Float64Array(buf, p, this.#rowCap))
    this.#valid = this.#validPtr.map(p => new Uint8Array(buf, p, this.#rowCap))
    this.#u8 = new Uint8Array(buf)
    if (this.#meta >= 0) this.#list = new Int32Array(buf, this.#listPtr, EMIT_CHUNK)
  }

  // ---- emitting ----------------------------------------------------------------------------------------------

  /** Writes the tiles of `n` entries: in WASM when the GroupBy allows it (short keys), else one by one in JS. */
  #emitMany (list: Int32Array, n: number, complete: boolean): void {
    if (this.#meta < 0) {
      for (let i = 0; i < n; i++) this.#emit(list[i]!, complete)
      return
    }
    const chunk = this.#list
    let i = 0
    while (i < n) {
      let k = 0
      while (i < n && k < EMIT_CHUNK) {
        const e = list[i++]!
        if (this.#keys.bytes(this.#entries.key[e]!).length > INLINE_KEY) this.#emit(e, complete)
        else chunk[k++] = e
      }
      this.#encodeChunk(0, k, complete)
    }
  }

  /** Encodes chunk[from, from + n) with encodeTiles, halving the run when the output room is too small. */
  #encodeChunk (from: number, n: number, complete: boolean): void {
    if (n === 0) return
    const bytes = this.#k.encodeTiles(n, this.#listPtr + 4 * from, this.#stateBase, this.#stride, this.#meta, this.#descPtr, this.#kparts.length, this.#outPtr, EMIT_BYTES, complete ? 1 : 0)
    if (bytes >= 0) {
      ;(this.#target?.puts ?? this.puts).appendRecords(this.#u8.subarray(this.#outPtr, this.#outPtr + bytes), n)
      for (let i = 0; i < n; i++) this.#tagPut(this.#list[from + i]!)
      return
    }
    if (n === 1) throw new Error('internal: one tile does not fit the WASM encoder\'s output room')
    const half = n >> 1
    this.#encodeChunk(from, half, complete)
    this.#encodeChunk(from + half, n - half, complete)
  }

  /** Records the partition and latest event time of the put just made for entry e. */
  #tagPut (e: number): void {
    const r = this.#target
    if (r !== null) {
      r.parts.push(this.#entries.partition[e]!)
      r.latest.push(this.#entries.latest[e]!)
      return
    }
    if (this.#nPutParts === this.#putParts.length) {
      this.#putParts = growI32(this.#putParts, this.#nPutParts * 2)
      this.#putLatest = growF64(this.#putLatest, this.#nPutParts * 2)
    }
    this.#putLatest[this.#nPutParts] = this.#entries.latest[e]!
    this.#putParts[this.#nPutParts++] = this.#entries.partition[e]!
  }

  #emit (e: number, complete: boolean, out: TilePutsWriter = this.#target?.puts ?? this.puts): void {
    if (out === this.puts || out === this.#target?.puts) this.#tagPut(e)
    const w = out.beginPut(this.#keys.bytes(this.#entries.key[e]!), this.#entries.tileStart[e]!)
    w.byte(2)
    const base = this.#stateBase + e * this.#stride
    for (const step of this.#steps) {
      if (step.kernel !== null) {
        writeKernelIr(w, this.#dv, base, step.kernel)
      } else {
        const agg = this.#oparts[step.object]!
        step.encoder(w, agg.normalize(this.#oirs[step.object]![e] ?? null))
      }
    }
    writeTileTrailer(w, complete)
    out.endValue()
  }
}
