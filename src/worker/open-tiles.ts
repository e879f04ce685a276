// The open fine tiles of a worker, per source partition (the unit of state that moves between daemons):
//
//   (keyId, tile index) → entry          PairTable, behind a hint per key (the key's last open tile and entry,
//                                         kept in the key's record: worker/key-table.ts), which answers most rows
//                                         with a read of memory the row touched anyway
//   partition → tile start → its entries  closing a partition's tile walks its list; with the watermark the
//                                         partition's tiles were last closed at
//
// The entries themselves (worker/entry-table.ts) are allocated and freed by the caller. The open rolled-up tiles
// are kept the same way per resolution (worker/rollups.ts).

import { isFinal } from '../window/trigger.ts'
import { growI32 } from './entry-table.ts'
import { PairTable } from './hash-tables.ts'

/** The entries of one open tile, in allocation order. */
export interface TileList { entries: Int32Array, n: number }

/** Where the per-key hints live (KeyTable): OpenTiles sets them and forgets them whenever an entry goes. */
export interface KeyHints {
  hinted: (keyId: number, tileIndex: number) => number
  hint: (keyId: number, tileIndex: number, e: number) => void
  unhint: (keyId: number, tileIndex: number) => void
}

/** One source partition's open tiles, and the watermark its tiles were last closed at. */
interface PartTiles { readonly tiles: Map<number, TileList>, closed: number }

export class OpenTiles {
  readonly #tileSize: number
  readonly #lateness: number
  readonly #entries = new PairTable(1 << 14)
  readonly #hints: KeyHints
  readonly #parts = new Map<number, PartTiles>()
  // the tile the last new entry went to: rows come in runs of one partition and tile
  #lastPart = NaN
  #lastTileStart = NaN
  #lastTile: TileList | undefined

  constructor (tileSizeMillis: number, allowedLatenessMillis: number, hints: KeyHints) {
    this.#hints = hints
    this.#tileSize = tileSizeMillis
    this.#lateness = allowedLatenessMillis
  }

  /** Open tiles. */
  get count (): number {
    let n = 0
    for (const p of this.#parts.values()) n += p.tiles.size
    return n
  }

  /** Bytes of its index (key, tile) → entry and of its tiles' entry lists. */
  get bytes (): number {
    let n = this.#entries.bytes
    for (const p of this.#parts.values()) for (const t of p.tiles.values()) n += t.entries.byteLength
    return n
  }

  /** Partitions with state (open tiles, or a closing watermark). */
  partitions (): number[] { return [...this.#parts.keys()] }

  /** The open tiles of `partition`. */
  lists (partition: number): Iterable<TileList> {
    return this.#parts.get(partition)?.tiles.values() ?? []
  }

  /** The watermark `partition`'s tiles were last closed at, or undefined (no state). */
  closedAt (partition: number): number | undefined { return this.#parts.get(partition)?.closed }

  /** Raises `partition`'s closing watermark to `watermark` (a restore). */
  restoreClosed (partition: number, watermark: number): void {
    const part = this.#part(partition)
    part.closed = Math.max(part.closed, watermark)
  }

  /** The entry of (keyId, tileStart), or −1. */
  entryOf (keyId: number, tileStart: number): number {
    const t = tileStart / this.#tileSize
    const hinted = this.#hints.hinted(keyId, t)
    if (hinted >= 0) return hinted
    const e = this.#entries.get(keyId, t)
    if (e >= 0) this.#hints.hint(keyId, t, e)
    return e
  }

  /** Records the new entry e of (keyId, tileStart) in `partition`'s tile. */
  add (keyId: number, partition: number, tileStart: number, e: number): void {
    let tile: TileList | undefined
    if (tileStart === this.#lastTileStart && partition === this.#lastPart) {
      tile = this.#lastTile!
    } else {
      const tiles = this.#part(partition).tiles
      tile = tiles.get(tileStart)
      if (tile === undefined) {
        tile = { entries: new Int32Array(64), n: 0 }
        tiles.set(tileStart, tile)
      }
      this.#lastTileStart = tileStart
      this.#lastPart = partition
      this.#lastTile = tile
    }
    if (tile.n === tile.entries.length) tile.entries = growI32(tile.entries, tile.n * 2)
    tile.entries[tile.n++] = e
    const t = tileStart / this.#tileSize
    this.#entries.set(keyId, t, e)
    this.#hints.hint(keyId, t, e)
  }

  /** Undoes `add` of entry e, the last one added (so last in its tile). */
  removeLast (e: number, keyId: number, partition: number, tileStart: number): void {
    const tiles = this.#part(partition).tiles
    const tile = tiles.get(tileStart)
    if (tile !== undefined && tile.n > 0 && tile.entries[tile.n - 1] === e) tile.n--
    if (tile !== undefined && tile.n === 0) {
      tiles.delete(tileStart)
      if (this.#lastTile === tile) this.#forgetLastTile()
    }
    const t = tileStart / this.#tileSize
    this.#entries.delete(keyId, t)
    this.#hints.unhint(keyId, t)
  }

  /**
   * The tiles of `partition` its clock has passed (end − 1 + lateness ≤ watermark), ascending by start, left open
   * (`remove` each once written); raises its closing watermark. Null when the partition has no state.
   */
  due (partition: number, watermark: number): [number, TileList][] | null {
    const part = this.#parts.get(partition)
    if (part === undefined) return null
    if (watermark > part.closed) part.closed = watermark
    const due: [number, TileList][] = []
    for (const [tileStart, tile] of part.tiles) if (isFinal(tileStart, this.#tileSize, this.#lateness, watermark)) due.push([tileStart, tile])
    if (due.length > 1) due.sort((a, b) => a[0] - b[0])
    return due
  }

  /** Removes the open tile at `tileStart` of `partition` (`keyOf`: each entry's keyId, to unmap it). */
  remove (partition: number, tileStart: number, keyOf: Int32Array): void {
    const part = this.#parts.get(partition)
    const tile = part?.tiles.get(tileStart)
    if (part === undefined || tile === undefined) return
    this.#unmap(tileStart, tile, keyOf)
    part.tiles.delete(tileStart)
  }

  /** Removes and returns every open tile of `partition`, and the partition (dropped: another daemon owns it now). */
  takeAll (partition: number, keyOf: Int32Array): TileList[] | null {
    const part = this.#parts.get(partition)
    if (part === undefined) return null
    for (const [tileStart, tile] of part.tiles) this.#unmap(tileStart, tile, keyOf)
    this.#parts.delete(partition)
    return [...part.tiles.values()]
  }

  #unmap (tileStart: number, tile: TileList, keyOf: Int32Array): void {
    const tileIndex = tileStart / this.#tileSize
    for (let i = 0; i < tile.n; i++) {
      const keyId = keyOf[tile.entries[i]!]!
      this.#entries.delete(keyId, tileIndex)
      this.#hints.unhint(keyId, tileIndex)
    }
    if (this.#lastTile === tile) this.#forgetLastTile()
  }

  #part (partition: number): PartTiles {
    let part = this.#parts.get(partition)
    if (part === undefined) {
      part = { tiles: new Map(), closed: -Infinity }
      this.#parts.set(partition, part)
    }
    return part
  }

  #forgetLastTile (): void {
    this.#lastTile = undefined
    this.#lastTileStart = NaN
    this.#lastPart = NaN
  }
}
