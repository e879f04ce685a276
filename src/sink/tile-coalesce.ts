// Coalescing tile writes: while the store is busy, the batches that queue up behind it go out as one request that
// carries each tile once — its last version. Every tile write is an upsert of the whole tile, and the store applies
// a request as one transaction (LMDB) or pipeline (Redis) in order, so writing only the last version of each
// (entity key, tile start) leaves exactly the store that writing every batch in order would; what it saves is every
// superseded put (on uniform keys under load a third of them, on skewed keys most).
//
//   batches b1 … bn (in enqueue order) ──► one TilePuts: for each (key bytes, tile start) the put of the latest
//                                          batch holding it, in the order of their positions in b1 … bn
//
// Fences: a request carries one fence, so batches are joined only when one fence says the same for all their puts
// (mergeFences): the same scope, and no partition with puts in one batch that the other fences differently or not
// at all. A request also writes one tile size, so batches of rolled-up tiles join only batches of their own size.

import type { Fence } from './store.ts'
import { TilePuts } from './tile-puts.ts'

/** Open-addressing table of put numbers (+1; 0 = empty), reused across calls. */
let table = new Int32Array(1 << 12)

function hashPut (bytes: Uint8Array, keyAt: number, keyLen: number, tileStart: number): number {
  let h = 0x811c9dc5 ^ keyLen
  for (let j = 0; j < keyLen; j++) h = Math.imul(h ^ bytes[keyAt + j]!, 0x01000193)
  const hi = Math.floor(tileStart / 4294967296)
  h = Math.imul(h ^ (tileStart >>> 0), 0x01000193)
  h = Math.imul(h ^ (hi | 0), 0x01000193)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  return (h ^ (h >>> 12)) >>> 0
}

function samePut (a: TilePuts, i: number, b: TilePuts, j: number): boolean {
  const n = a.keyLength(i)
  if (n !== b.keyLength(j) || a.tileStart(i) !== b.tileStart(j)) return false
  const ab = a.bytes
  const bb = b.bytes
  const ai = a.keyOffset(i)
  const bj = b.keyOffset(j)
  for (let k = 0; k < n; k++) if (ab[ai + k] !== bb[bj + k]) return false
  return true
}

/**
 * One batch holding the last version of every tile of `batches` (in order). A single batch is returned as it is.
 * Allocates per call (the output and its index), never per put.
 */
export function coalesceTilePuts (batches: readonly TilePuts[]): TilePuts {
  if (batches.length === 1) return batches[0]!
  let total = 0
  for (const b of batches) total += b.count
  // Put number g → (batch, index): batches in order, puts in order.
  const batchOf = new Int32Array(total)
  const indexOf = new Int32Array(total)
  let g = 0
  for (let b = 0; b < batches.length; b++) for (let i = 0; i < batches[b]!.count; i++) { batchOf[g] = b; indexOf[g++] = i }
  let size = 1 << 12
  while (size < total * 2) size <<= 1
  if (table.length < size) table = new Int32Array(size)
  else table.fill(0, 0, size)
  const mask = size - 1
  const keep = new Uint8Array(total)
  let kept = 0
  let bytes = 4
  // From the last put backwards: the first time a tile is seen is its last version.
  for (let p = total - 1; p >= 0; p--) {
    const b = batches[batchOf[p]!]!
    const i = indexOf[p]!
    let slot = hashPut(b.bytes, b.keyOffset(i), b.keyLength(i), b.tileStart(i)) & mask
    let seen = false
    for (;;) {
      const q = table[slot]!
      if (q === 0) break
      if (samePut(batches[batchOf[q - 1]!]!, indexOf[q - 1]!, b, i)) { seen = true; break }
      slot = (slot + 1) & mask
    }
    if (seen) continue
    table[slot] = p + 1
    keep[p] = 1
    kept++
    bytes += b.valueOffset(i) + b.valueLength(i) - (b.keyOffset(i) - 2)
  }
  const out = new Uint8Array(bytes)
  const withPartitions = batches.some(b => b.partitions !== null)
  const withLatest = batches.some(b => b.latestTimes !== null)
  const partitions = withPartitions ? new Int32Array(kept) : undefined
  const latest = withLatest ? new Float64Array(kept) : undefined
  new DataView(out.buffer).setUint32(0, kept, true)
  let at = 4
  let k = 0
  for (let p = 0; p < total; p++) {
    if (keep[p] === 0) continue
    const b = batches[batchOf[p]!]!
    const i = indexOf[p]!
    // A put is one contiguous record in its batch: [u16 key length] key [f64 tile start] [u32 value length] value.
    const from = b.keyOffset(i) - 2
    const n = b.valueOffset(i) + b.valueLength(i) - from
    const src = b.bytes
    for (let j = 0; j < n; j++) out[at + j] = src[from + j]!
    at += n
    if (partitions !== undefined) partitions[k] = b.partition(i)
    if (latest !== undefined) latest[k] = b.latest(i)
    k++
  }
  return new TilePuts(out.buffer, partitions, latest, batches[0]!.tileSizeMillis ?? undefined)
}

/** Does batch `b` hold a put of partition `p`? */
function hasPartition (b: TilePuts, p: number): boolean {
  if (b.partitions === null) return p === 0
  const ps = b.partitions
  for (let i = 0; i < ps.length; i++) if (ps[i] === p) return true
  return false
}

/**
 * The one fence under which `a`'s and `b`'s puts are written as each batch's own fence would write them, or null
 * when there is none (a partition fenced at different epochs, or fenced in one batch and written unfenced in the
 * other, or another scope). `a` may itself be a join of earlier batches (`aPuts` all of theirs).
 */
export function mergeFences (a: Fence | undefined, aPuts: readonly TilePuts[], b: Fence | undefined, bPuts: TilePuts): Fence | undefined | null {
  // A request writes one tile size (fine tiles, or one rolled-up size): batches of different sizes never join.
  if (aPuts.some(x => x.tileSizeMillis !== bPuts.tileSizeMillis)) return null
  if (a === undefined && b === undefined) return undefined
  if (a === undefined || b === undefined) {
    // One side unfenced: only when the other's fence covers no partition the unfenced side writes.
    const fenced = (a ?? b)!
    for (const p of fenced.epochs.keys()) {
      if (a === undefined ? aPuts.some(x => hasPartition(x, p)) : hasPartition(bPuts, p)) return null
    }
    return fenced
  }
  if (a.scope !== b.scope) return null
  const epochs = new Map(a.epochs)
  for (const [p, e] of b.epochs) {
    const ea = a.epochs.get(p)
    if (ea === undefined) {
      if (aPuts.some(x => hasPartition(x, p))) return null
      epochs.set(p, e)
    } else if (ea !== e) {
      return null
    }
  }
  for (const p of a.epochs.keys()) if (!b.epochs.has(p) && hasPartition(bPuts, p)) return null
  return { scope: a.scope, epochs }
}
