// One task's tile puts (sink/tile-puts.ts) with, per put in put order, the source partition of its tile (the store
// fences writes per partition) and the time of the last event folded into it (kept beside the tile for reads).
// The worker state writes its fine tiles into one and each resolution's rolled-up tiles into another.

import { TilePutsWriter } from '../sink/tile-puts.ts'
import { growF64, growI32 } from './entry-table.ts'

export class TaggedPuts {
  readonly puts = new TilePutsWriter()
  #partitions = new Int32Array(1024)
  #latest = new Float64Array(1024)
  #n = 0

  /** Starts the puts of a task. */
  begin (): void {
    this.puts.begin()
    this.#n = 0
  }

  /** Records the partition and latest event time of a put (in put order). */
  tag (partition: number, latest: number): void {
    if (this.#n === this.#partitions.length) {
      this.#partitions = growI32(this.#partitions, this.#n * 2)
      this.#latest = growF64(this.#latest, this.#n * 2)
    }
    this.#latest[this.#n] = latest
    this.#partitions[this.#n++] = partition
  }

  /** Records the puts of entries list[from, from + n): each one's partition and latest event time (per entry). */
  tagEntries (list: Int32Array, from: number, n: number, partition: Int32Array, latest: Float64Array): void {
    if (this.#n + n > this.#partitions.length) {
      this.#partitions = growI32(this.#partitions, this.#n + n)
      this.#latest = growF64(this.#latest, this.#n + n)
    }
    const parts = this.#partitions
    const times = this.#latest
    let at = this.#n
    for (let i = from; i < from + n; i++) {
      const e = list[i]!
      times[at] = latest[e]!
      parts[at++] = partition[e]!
    }
    this.#n = at
  }

  /** The partition of every put since `begin` (a copy, to transfer). */
  partitions (): Int32Array<ArrayBuffer> { return this.#partitions.slice(0, this.#n) }
  /** The latest event time of every put since `begin` (a copy, to transfer). */
  latest (): Float64Array<ArrayBuffer> { return this.#latest.slice(0, this.#n) }
}
