// Multi-resolution tiles ("MegaTiles"): a worker's open coarse tiles (1 hour, 1 day, …) per source partition,
// filled from the fine (Chronon-sized) tiles as they become final, never from events.
//
//   fine tile final (closed by its partition's clock)  →  add(): its IR merged into the key's open coarse tile of
//                                                         every resolution, in ascending tile order
//   the clock passes a coarse tile's end − 1 + lateness  →  close(): the coarse tile written once, isComplete = true,
//                                                         into this resolution's put batch, then forgotten
//
// A coarse tile is written exactly once, when every fine tile it covers is final (an event later than the lateness
// is refused upstream, so it never changes afterwards). Its bytes are the same Avro tile record as a fine tile's, with
// the key's TileKey carrying the coarse tileSizeMillis: a reader that finds a coarse tile may use it instead of the
// fine tiles it covers (fetch/tile-cover.ts); one that does not find it falls back to the fine tiles.
//
// Cost: one decode and one merge per closed fine tile and resolution (not per event). IRs are the aggregators' JS
// IRs: merge is the read side's merge, so a coarse tile is what a fine-tile read would merge, in the same order.

import type { BoundGroupBy } from '../config/bind.ts'
import { TilekilnError } from '../errors.ts'
import { TilePutsWriter } from '../sink/tile-puts.ts'
import { tileStartOf } from '../window/resolution.ts'

/** One open coarse tile of one key. */
interface CoarseTile {
  readonly key: Uint8Array
  readonly irs: unknown[]
  /** The latest event time of the fine tiles merged in (the last one's: they are merged in time order). */
  latest: number
}

/** One resolution's open coarse tiles of one partition: coarse tile start → key (latin1) → tile. */
type OpenTiles = Map<number, Map<string, CoarseTile>>

/** The coarse tiles of one resolution written since `begin`, with each put's partition and latest event time. */
export interface RollupPuts {
  readonly tileSizeMillis: number
  readonly puts: ArrayBuffer
  readonly partitions: Int32Array
  readonly latest: Float64Array
}

class Resolution {
  readonly puts = new TilePutsWriter()
  parts: number[] = []
  latest: number[] = []
  /**
   * partition → open tiles; partition → the watermark its coarse tiles were last closed at by close() (a restored
   * partition starts unknown: its restored fine tiles that are due close, and roll up, at the next close()).
   */
  readonly open = new Map<number, OpenTiles>()
  readonly closed = new Map<number, number>()
  constructor (readonly millis: number) {}
}

export class Rollups {
  readonly #bound: BoundGroupBy
  readonly #lateness: number
  readonly #res: Resolution[]

  /** `resolutions`: coarse tile sizes, each a multiple of the fine tile size and larger. */
  constructor (bound: BoundGroupBy, resolutions: readonly number[], allowedLatenessMillis: number) {
    const fine = bound.plan.tileSizeMillis
    for (const r of resolutions) {
      if (!(r > fine && r % fine === 0)) throw new TilekilnError('TK_USAGE', `a rolled-up tile of ${r} ms cannot be made of ${fine} ms tiles: its size must be a larger multiple of the GroupBy's tile size`, { groupBy: bound.plan.name })
    }
    this.#bound = bound
    this.#lateness = allowedLatenessMillis
    this.#res = [...resolutions].sort((a, b) => a - b).map(r => new Resolution(r))
  }

  get enabled (): boolean { return this.#res.length > 0 }
  get resolutions (): number[] { return this.#res.map(r => r.millis) }

  /** Open coarse tiles (all resolutions, all partitions). */
  get openTiles (): number {
    let n = 0
    for (const r of this.#res) for (const o of r.open.values()) for (const t of o.values()) n += t.size
    return n
  }

  /** Starts the puts of a task. */
  begin (): void {
    for (const r of this.#res) {
      r.puts.begin()
      r.parts = []
      r.latest = []
    }
  }

  /** The coarse tiles written since `begin`, one batch per resolution that wrote any. */
  take (): RollupPuts[] {
    const out: RollupPuts[] = []
    for (const r of this.#res) {
      if (r.puts.count === 0) continue
      out.push({ tileSizeMillis: r.millis, puts: r.puts.finish(), partitions: Int32Array.from(r.parts), latest: Float64Array.from(r.latest) })
    }
    return out
  }

  /**
   * Merges a final fine tile (its Avro tile value) into the key's open coarse tile of every resolution. Call in
   * ascending tile start order per key (close() of a partition does).
   */
  add (partition: number, key: Uint8Array, tileStart: number, latest: number, value: Uint8Array): void {
    const codec = this.#bound.tileCodec
    const aggs = this.#bound.aggregators
    const { irs } = codec.decode(value)
    const parts = irs.map((v, p) => (v === null ? null : aggs[p]!.denormalize(v)))
    const name = latin1(key)
    for (const r of this.#res) {
      const start = tileStartOf(tileStart, r.millis)
      const done = r.closed.get(partition) ?? -Infinity
      if (this.#isFinal(start, r.millis, done)) {
        // The fine tile would be missing from a coarse tile already written: the engine's clocks went wrong.
        throw new TilekilnError('TK_INTERNAL', `a ${r.millis} ms tile [${start}, ${start + r.millis}) of partition ${partition} was written before its fine tile at ${tileStart} was final (closed at watermark ${done})`, { groupBy: this.#bound.plan.name, partition })
      }
      let open = r.open.get(partition)
      if (open === undefined) { open = new Map(); r.open.set(partition, open) }
      let byKey = open.get(start)
      if (byKey === undefined) { byKey = new Map(); open.set(start, byKey) }
      let tile = byKey.get(name)
      if (tile === undefined) {
        tile = { key: key.slice(), irs: parts.map(() => null), latest }
        byKey.set(name, tile)
      }
      for (let p = 0; p < parts.length; p++) {
        if (parts[p] !== null) tile.irs[p] = aggs[p]!.merge(tile.irs[p] ?? null, parts[p])
      }
      if (latest > tile.latest) tile.latest = latest
    }
    parts.forEach((ir, p) => { if (ir !== null) aggs[p]!.dispose(ir) })
  }

  /** Writes (into this task's puts) and forgets every coarse tile of `partition` its clock has passed. */
  close (partition: number, watermark: number): number {
    let written = 0
    for (const r of this.#res) {
      if (watermark > (r.closed.get(partition) ?? -Infinity)) r.closed.set(partition, watermark)
      const open = r.open.get(partition)
      if (open === undefined) continue
      const due = [...open.keys()].filter(s => this.#isFinal(s, r.millis, watermark)).sort((a, b) => a - b)
      for (const start of due) {
        for (const tile of open.get(start)!.values()) {
          this.#write(r.puts, tile, start, true)
          r.parts.push(partition)
          r.latest.push(tile.latest)
          written++
          this.#dispose(tile)
        }
        open.delete(start)
      }
      if (open.size === 0) r.open.delete(partition)
    }
    return written
  }

  /** Forgets a partition's open coarse tiles without writing them (it moved to another daemon, or was fenced). */
  drop (partition: number): void {
    for (const r of this.#res) {
      const open = r.open.get(partition)
      if (open !== undefined) for (const byKey of open.values()) for (const t of byKey.values()) this.#dispose(t)
      r.open.delete(partition)
      r.closed.delete(partition)
    }
  }

  // ---- checkpoints: an open coarse tile travels as a put (isComplete = false) tagged with its resolution -------

  /**
   * Calls `out` for every open coarse tile of `partitions` (all when null): its resolution's index (1-based, in
   * `resolutions` order), partition, key, start, latest event time and its value as it would be written.
   */
  snapshot (partitions: readonly number[] | null, w: TilePutsWriter, out: (resolution: number, partition: number, latest: number) => void): void {
    this.#res.forEach((r, i) => {
      for (const [p, open] of r.open) {
        if (partitions !== null && !partitions.includes(p)) continue
        for (const [start, byKey] of open) {
          for (const tile of byKey.values()) {
            this.#write(w, tile, start, false)
            out(i + 1, p, tile.latest)
          }
        }
      }
    })
  }

  /** Loads an open coarse tile from a checkpoint (resolution as `snapshot` numbered it). */
  restore (resolution: number, partition: number, key: Uint8Array, start: number, latest: number, value: Uint8Array): void {
    const r = this.#res[resolution - 1]
    if (r === undefined || tileStartOf(start, r.millis) !== start) {
      throw new TilekilnError('TK_CHECKPOINT', `the checkpoint holds a rolled-up tile of resolution #${resolution} at ${start} that this run does not make (rollups: ${this.resolutions.join(', ') || 'none'} ms); run with the --rollups the checkpoint was taken with`, { groupBy: this.#bound.plan.name, partition })
    }
    const aggs = this.#bound.aggregators
    const { irs } = this.#bound.tileCodec.decode(value)
    let open = r.open.get(partition)
    if (open === undefined) { open = new Map(); r.open.set(partition, open) }
    let byKey = open.get(start)
    if (byKey === undefined) { byKey = new Map(); open.set(start, byKey) }
    byKey.set(latin1(key), { key: key.slice(), irs: irs.map((v, p) => (v === null ? null : aggs[p]!.denormalize(v))), latest })
  }

  #isFinal (start: number, size: number, watermark: number): boolean {
    return start + size - 1 + this.#lateness <= watermark
  }

  #write (out: TilePutsWriter, tile: CoarseTile, start: number, complete: boolean): void {
    const aggs = this.#bound.aggregators
    const w = out.beginPut(tile.key, start)
    this.#bound.tileCodec.write(w, tile.irs.map((ir, p) => aggs[p]!.normalize(ir ?? null)), complete)
    out.endValue()
  }

  #dispose (tile: CoarseTile): void {
    tile.irs.forEach((ir, p) => { if (ir !== null) this.#bound.aggregators[p]!.dispose(ir) })
  }
}

function latin1 (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')
}
