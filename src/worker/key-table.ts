// A worker's entity keys: each key seen gets a small integer id, its Avro key bytes (made once per key), the
// partition it lives in (its home: the first one it came from) and a count of the entries that use it; a key whose
// count drops to 0 is forgotten and its id reused.
//
// The key bytes of every id live in one arena (KeyBytes below), not in a Uint8Array each: a typed array and its
// ArrayBuffer are ~180 bytes of JS heap before the key's own few bytes, which with 100,000 keys was ~20 MB of a
// worker's ~27 MB of old space (heap snapshot, bench engine) and 200,000 objects for every full GC to mark.
//
// What a row reads of its key sits in one 32-byte record per id (home, byte length, and the open-tile hint: the
// tile index and entry of the key's last open fine tile, worker/open-tiles.ts), so that it costs one cache miss,
// not one per array: with 100,000 keys nearly every row misses.
//
//   one integral key column   → a flat NumberTable (value → id), no allocation per event
//   anything else             → a Map of a canonical form (canonicalKey below)

import type { BoundGroupBy } from '../config/bind.ts'
import { TilekilnError } from '../errors.ts'
import { growF64, growI32 } from './entry-table.ts'
import { NumberTable } from './hash-tables.ts'
import { INLINE_KEY } from './state-layout.ts'

export class KeyTable {
  readonly #bound: BoundGroupBy
  readonly #maxKeyBytes: number
  readonly #nums: NumberTable | null
  readonly #ids = new Map<unknown, number>()
  readonly #canonical: (out: readonly unknown[]) => unknown
  readonly #canon: unknown[] = []
  readonly #bytes = new KeyBytes()
  #refs = new Int32Array(1024)
  /** Per id at 4·id: home partition, key byte length, hinted tile index (NaN: none), hinted entry. */
  #rec = new Float64Array(4 * 1024)
  readonly #free: number[] = []
  #count = 0
  /** Live keys longer than INLINE_KEY bytes: while there are none, the tile encoder need not look at any key. */
  #long = 0

  constructor (bound: BoundGroupBy, maxKeyBytes: number) {
    this.#bound = bound
    this.#maxKeyBytes = maxKeyBytes
    this.#canonical = canonicalKey(bound)
    this.#nums = bound.keyIndices.length === 1 && ['int', 'long', 'short', 'byte'].includes(bound.serving.keyFields[0]!.type.kind) ? new NumberTable(1 << 14) : null
  }

  /** Live keys. */
  get size (): number { return this.#count }

  /** Live keys whose bytes are longer than INLINE_KEY (the WASM tile encoder's limit). */
  get longKeys (): number { return this.#long }

  /**
   * Bytes of its typed tables: per-id records and reference counts, the key bytes' arena, the numeric keys' hash
   * table. Keys that are not one integral column are also held by a JS Map (canonical key → id) and as their column
   * values: JS heap, not counted.
   */
  get tableBytes (): number { return this.#refs.byteLength + this.#rec.byteLength + this.#bytes.bytes + (this.#nums?.bytes ?? 0) }

  /**
   * The id of the row's key; a new key lives in `partition`. Throws TK_INPUT (and adds nothing) when a new key is
   * longer than the store takes.
   */
  idFor (out: readonly unknown[], partition: number): number {
    if (this.#nums !== null) {
      const k = out[this.#bound.keyIndices[0]!]
      if (typeof k === 'number') return this.idForNumber(k, partition)
    }
    const canon = this.#canonical(out)
    const id = this.#ids.get(canon)
    return id === undefined ? this.#add(this.#bound.keyIndices.map(i => out[i]), canon, partition) : id
  }

  /** Whether keys are one integral column (idForNumber takes them). */
  get numeric (): boolean { return this.#nums !== null }

  /** idFor of a row whose one integral key column holds the number k (only when `numeric`). */
  idForNumber (k: number, partition: number): number {
    const id = this.#nums!.get(k)
    return id >= 0 ? id : this.#add([k], k, partition)
  }

  /** A copy of key id's Avro bytes (reports, tests; the write path copies them with copyBytes instead). */
  /**
   * Loads what idForNumber(k) and the open-tile hint will read for k (its hash slot, its record) and returns the
   * hinted entry (−1: none; a guess, as the home slot may hold another key). Nothing changes: see TileState.prefetch.
   */
  prefetchNumber (k: number): number {
    const id = this.#nums!.peek(k)
    return id >= 0 ? this.#rec[4 * id + 3]! : -1
  }

  bytes (id: number): Uint8Array {
    const at = this.#bytes.offset(id)
    return this.#bytes.arena.slice(at, at + this.byteLength(id))
  }

  /** Writes key id's bytes into `out` at `pos`; returns the position after them. */
  copyBytes (id: number, out: Uint8Array, pos: number): number {
    return this.#bytes.copy(id, this.byteLength(id), out, pos)
  }

  /** The length of key id's bytes, without touching the bytes (the tile encoder asks it of every tile it writes). */
  byteLength (id: number): number { return this.#rec[4 * id + 1]! }
  home (id: number): number { return this.#rec[4 * id]! }

  /** The entry hinted for key id's tile `tileIndex` (OpenTiles keeps hints true), or −1. */
  hinted (id: number, tileIndex: number): number {
    const at = 4 * id
    return this.#rec[at + 2] === tileIndex ? this.#rec[at + 3]! : -1
  }

  hint (id: number, tileIndex: number, e: number): void {
    const at = 4 * id
    this.#rec[at + 2] = tileIndex
    this.#rec[at + 3] = e
  }

  /** Forgets the hint of key id if it is for `tileIndex`. */
  unhint (id: number, tileIndex: number): void {
    const at = 4 * id
    if (this.#rec[at + 2] === tileIndex) this.#rec[at + 2] = NaN
  }
  ref (id: number): void { this.#refs[id]!++ }

  /** Drops one use of the key; the last one forgets it. */
  unref (id: number): void {
    if (--this.#refs[id]! !== 0) return
    const canon = this.#canon[id]
    if (this.#nums !== null && typeof canon === 'number') this.#nums.delete(canon)
    else this.#ids.delete(canon)
    this.#count--
    if (this.byteLength(id) > INLINE_KEY) this.#long--
    this.#canon[id] = undefined
    this.#bytes.release(this.byteLength(id))
    this.#rec[4 * id + 1] = -1
    this.#free.push(id)
  }

  #add (keyValues: readonly unknown[], canon: unknown, partition: number): number {
    const bytes = this.#bound.keyCodec.encode(keyValues)
    // Put batches (and Zipline's TileKey consumers) carry a key's length in 16 bits, and the store may take fewer
    // (LMDB): refuse the event, not the batch, and never let the writer see a key it cannot store.
    if (bytes.length > this.#maxKeyBytes) throw new TilekilnError('TK_INPUT', `the entity key is ${bytes.length} bytes; at most ${this.#maxKeyBytes.toLocaleString('en-US')} can be stored`)
    const id = this.#free.length > 0 ? this.#free.pop()! : this.#canon.length
    this.#canon[id] = canon
    if (id >= this.#refs.length) {
      this.#refs = growI32(this.#refs, id + 1)
      this.#rec = growF64(this.#rec, 4 * this.#refs.length)
    }
    this.#bytes.add(id, bytes, this.#canon.length, this.#rec)
    this.#refs[id] = 0
    const at = 4 * id
    this.#rec[at] = partition
    this.#rec[at + 1] = bytes.length
    this.#rec[at + 2] = NaN
    if (this.#nums !== null && typeof canon === 'number') this.#nums.set(canon, id)
    else this.#ids.set(canon, id)
    this.#count++
    if (bytes.length > INLINE_KEY) this.#long++
    return id
  }
}

/**
 * How a key is identified inside a worker. One string/integer column is its own identity; doubles and binaries
 * (where −0.0/0.0 or byte arrays would compare wrongly) and composite keys use a tagged string.
 */
function canonicalKey (bound: BoundGroupBy): (out: readonly unknown[]) => unknown {
  const idx = bound.keyIndices
  const types = bound.serving.keyFields.map(f => f.type.kind)
  if (idx.length === 1 && ['string', 'int', 'long', 'short', 'byte', 'boolean'].includes(types[0]!)) {
    const i = idx[0]!
    return out => out[i] ?? null // a null key value is a key of its own (and never the string "null")
  }
  return out => {
    let s = ''
    for (let j = 0; j < idx.length; j++) {
      const v = out[idx[j]!]
      // null is `N|`, which no `length:text|` part can be
      if (v === null || v === undefined) { s += 'N|'; continue }
      let part: string
      if (typeof v === 'number') part = Object.is(v, -0) ? '-0' : String(v)
      else if (v instanceof Uint8Array) part = Buffer.from(v).toString('latin1')
      else part = String(v)
      s += `${part.length}:${part}|`
    }
    return s
  }
}

/**
 * Every key's bytes, back to back in one growing array; id's bytes start at offset(id), its length is the key
 * table's (rec[4·id + 1], −1 once the id is free). A forgotten key's bytes stay as garbage until an add finds the
 * arena full with at least as much garbage as live bytes: then the live keys are copied, in id order, into a fresh
 * arena (each byte is copied at most once per byte added since the previous compaction, so adding stays O(1)
 * amortised), else the arena doubles.
 */
class KeyBytes {
  arena = new Uint8Array(1 << 16)
  /** Float64: an arena may outgrow 2^31 bytes (Int32 offsets) long before it reaches a typed array's most. */
  #offsets = new Float64Array(1024)
  #used = 0
  #garbage = 0

  offset (id: number): number { return this.#offsets[id]! }

  /** Bytes of the arena and the offsets. */
  get bytes (): number { return this.arena.byteLength + this.#offsets.byteLength }

  copy (id: number, length: number, out: Uint8Array, pos: number): number {
    const a = this.arena
    const at = this.#offsets[id]!
    // Keys are a few to tens of bytes: a loop beats TypedArray.prototype.set on a subarray (a view allocated per call).
    for (let i = 0; i < length; i++) out[pos + i] = a[at + i]!
    return pos + length
  }

  /** A key's bytes freed (its id is free from now on). */
  release (length: number): void { this.#garbage += length }

  /** Stores the bytes of `id`; `ids`: one past the highest id in use, `rec` the table's per-id records. */
  add (id: number, bytes: Uint8Array, ids: number, rec: Float64Array): void {
    if (id >= this.#offsets.length) this.#offsets = growF64(this.#offsets, id + 1)
    if (this.#used + bytes.length > this.arena.length) this.#make(bytes.length, ids, rec)
    this.arena.set(bytes, this.#used)
    this.#offsets[id] = this.#used
    this.#used += bytes.length
  }

  #make (room: number, ids: number, rec: Float64Array): void {
    const live = this.#used - this.#garbage
    const compact = this.#garbage >= live
    let cap = this.arena.length
    while (cap < (compact ? live : this.#used) + room) cap *= 2
    if (compact && cap < 2 * (live + room)) cap *= 2
    const next = new Uint8Array(cap)
    if (!compact) {
      next.set(this.arena.subarray(0, this.#used))
    } else {
      let pos = 0
      for (let id = 0; id < ids; id++) {
        const n = rec[4 * id + 1]!
        if (!(n >= 0)) continue
        const at = this.#offsets[id]!
        next.set(this.arena.subarray(at, at + n), pos)
        this.#offsets[id] = pos
        pos += n
      }
      this.#used = pos
      this.#garbage = 0
    }
    this.arena = next
  }
}
