// Which stored tiles a read of [from, to) takes when rolled-up tiles (worker/rollups.ts) may sit beside the fine
// ones: the coarsest complete tiles that fit, and finer tiles only where no coarse tile is.
//
//   level 0 (1 d):  read the day tiles inside [from, to)              |····[D1][D2]····[D4]·····|
//   level 1 (1 h):  each gap (edges, and days with no tile) → hours     [h][h]    [h]..[h]  [h]
//   level 2 (fine): each gap left → the GroupBy's own tiles           [f]               [f]
//
// Why absence is safe without any "rolled up through" bookkeeping: a rolled-up tile is written once, complete, and
// only after every fine tile it covers is final; before that it does not exist. So a coarse tile that is there
// stands for its fine tiles exactly, and where none is (not rolled up yet, rollups off, or no events) the fine
// tiles are read instead, which are always right. This holds per key, across partitions and daemons, and across
// restarts (a restored daemon rewrites the same coarse tile or none), so the reader needs no per-partition mark and
// no minimum over daemons. The price: a sparse key's gaps each cost one more (empty, or nearly) range read.
// A coarse tile not marked complete (some other writer's tile of that size) is never taken.

import type { StoredTile } from '../sink/store.ts'
import { tileStartOf } from '../window/resolution.ts'

/** Reads one tile size's tiles of the key with from ≤ start < to, ascending. */
export type ReadRange = (tileSizeMillis: number, from: number, to: number) => Promise<StoredTile[]>

/** One tile of a cover, with its size. */
export interface CoverTile {
  readonly tile: StoredTile
  readonly tileSizeMillis: number
}

/**
 * The tiles covering [from, to), ascending and disjoint. `from` and `to` are multiples of `fine` (`from` may be
 * −Infinity); `coarse` are the rolled-up sizes to try, each a multiple of the next smaller and of `fine`.
 */
export async function readCover (read: ReadRange, fine: number, coarse: readonly number[], from: number, to: number): Promise<CoverTile[]> {
  const sizes = [...coarse].filter(s => s > fine).sort((a, b) => b - a)
  return await cover(read, fine, sizes, 0, from, to)
}

async function cover (read: ReadRange, fine: number, sizes: readonly number[], level: number, from: number, to: number): Promise<CoverTile[]> {
  if (!(from < to)) return []
  if (level === sizes.length) return (await read(fine, from, to)).map(tile => ({ tile, tileSizeMillis: fine }))
  const size = sizes[level]!
  const lo = from === -Infinity ? -Infinity : ceilTo(from, size)
  const hi = tileStartOf(to, size)
  if (!(lo < hi)) return await cover(read, fine, sizes, level + 1, from, to)
  // The edges need finer tiles whatever this level holds: read them at once, beside it (one round trip to Redis
  // for a key whose coarse tiles are all there, not one per level).
  const left = cover(read, fine, sizes, level + 1, from, lo)
  const right = cover(read, fine, sizes, level + 1, hi, to)
  const found = await read(size, lo, hi)
  const middle: (CoverTile[] | Promise<CoverTile[]>)[] = []
  let at = lo
  for (const tile of found) {
    const s = tile.tileStartMillis
    // Only whole, aligned, complete coarse tiles inside the range stand for their fine tiles.
    if (s < at || tileStartOf(s, size) !== s || s + size > hi || !isComplete(tile.value)) continue
    if (s > at) middle.push(cover(read, fine, sizes, level + 1, at, s))
    middle.push([{ tile, tileSizeMillis: size }])
    at = s + size
  }
  middle.push(cover(read, fine, sizes, level + 1, at, hi))
  const [l, r, m] = await Promise.all([left, right, Promise.all(middle)])
  return [...l, ...m.flat(), ...r]
}

/**
 * Is the tile value marked complete? Its last field is isComplete: ["null", boolean], so the value ends with the
 * byte 1 exactly when that is `true` (null ends with the branch byte 0, false with 0).
 */
export function isComplete (value: Uint8Array): boolean {
  return value.length >= 2 && value[value.length - 1] === 1 && value[value.length - 2] === 2
}

function ceilTo (x: number, size: number): number {
  const s = tileStartOf(x, size)
  return s === x ? x : s + size
}
