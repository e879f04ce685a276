// The worker state's entries: one per open tile (fine or rolled up) of one entity key. An entry is a small integer
// that indexes every per-entry array of the state (here, in worker/tile-irs.ts and window/trigger.ts TriggerState),
// handed out from a free list:
//
//   key        keyId (worker/key-table.ts)
//   partition  the source partition whose clock closes the tile (the key's home)
//   tileStart  the tile's start
//   latest     the time of the last event folded in (Chronon's latestTsMillis)
//
// Columns are typed arrays replaced when the table grows: read them through the getters, never keep one.

export class EntryTable {
  #cap = 0
  #live = 0
  #free = new Int32Array(0)
  #freeTop = 0
  #key = new Int32Array(0)
  #partition = new Int32Array(0)
  #tileStart = new Float64Array(0)
  #latest = new Float64Array(0)

  /** Entries there is room for. */
  get capacity (): number { return this.#cap }
  /** Entries in use. */
  get live (): number { return this.#live }
  /** No entry left to allocate: grow first. */
  get full (): boolean { return this.#freeTop === 0 }
  /** Bytes of its columns. */
  get bytes (): number { return this.#free.byteLength + this.#key.byteLength + this.#partition.byteLength + this.#tileStart.byteLength + this.#latest.byteLength }

  get key (): Int32Array { return this.#key }
  get partition (): Int32Array { return this.#partition }
  get tileStart (): Float64Array { return this.#tileStart }
  get latest (): Float64Array { return this.#latest }

  /** Takes a free entry for (keyId, partition, tileStart); its latest starts at the tile start. Not when full. */
  alloc (keyId: number, partition: number, tileStart: number): number {
    const e = this.#free[--this.#freeTop]!
    this.#key[e] = keyId
    this.#partition[e] = partition
    this.#tileStart[e] = tileStart
    this.#latest[e] = tileStart
    this.#live++
    return e
  }

  free (e: number): void {
    this.#free[this.#freeTop++] = e
    this.#live--
  }

  /** Room for entries [0, cap). */
  grow (cap: number): void {
    const old = this.#cap
    this.#key = growI32(this.#key, cap)
    this.#partition = growI32(this.#partition, cap)
    this.#tileStart = growF64(this.#tileStart, cap)
    this.#latest = growF64(this.#latest, cap)
    const free = new Int32Array(cap)
    free.set(this.#free.subarray(0, this.#freeTop))
    // Hand out low indices first: keeps the live state compact at the front of memory.
    for (let e = cap - 1; e >= old; e--) free[this.#freeTop++] = e
    this.#free = free
    this.#cap = cap
  }
}

export function growI32 (a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(n, a.length * 2)); b.set(a); return b
}

export function growF64 (a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(n, a.length * 2)); b.set(a); return b
}
