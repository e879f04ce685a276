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
// A coarse tile not marked complete is never taken: some other writer's tile of that size, or one whose fine tiles
// do not merge, which the engine withdraws by writing it empty and incomplete (worker/rollups.ts, "unmergeable").

// Round trips: a cover is read in rounds, each one store request (TileStore.readTileRanges: one Redis pipeline)
// holding every range known so far, for every span and key of the read. Round 1 reads each span's coarsest tiles and,
// beside them, the edges at every finer level (an edge is never covered by the level above). A later round reads the
// gaps the previous one found (a coarse tile missing or incomplete) one level finer. So a key whose coarse tiles are
// all there costs one round trip, and any read at most one per level (3 with 1 h and 1 d tiles).

import type { StoredTile, TileRange } from '../sink/store.ts'
import { tileStartOf } from '../window/resolution.ts'

/** A range of one round: the tiles of one size of the span owner's key (owner: the caller's index). */
export interface CoverRead extends TileRange {
  readonly owner: number
}

/** Reads one round's ranges in one request: the tiles of each (from ≤ start < to), ascending. */
export type ReadRound = (reads: readonly CoverRead[]) => Promise<StoredTile[][]>

/** A span to cover, [fromMillis, toMillis), of the owner's key. */
export interface CoverSpan {
  readonly owner: number
  readonly fromMillis: number
  readonly toMillis: number
}

/** One tile of a cover, with its size. */
export interface CoverTile {
  readonly tile: StoredTile
  readonly tileSizeMillis: number
}

interface Task {
  readonly span: number
  readonly level: number
  readonly from: number
  readonly to: number
}

/**
 * The tiles covering each span, ascending and disjoint (`result[i]` for `spans[i]`). Span bounds are multiples of
 * `fine` (`fromMillis` may be −Infinity), except that a span shorter than a coarse tile may end anywhere;
 * `coarse` are the rolled-up sizes to try, each a multiple of the next smaller and of `fine`.
 */
export async function readCovers (read: ReadRound, fine: number, coarse: readonly number[], spans: readonly CoverSpan[]): Promise<CoverTile[][]> {
  const sizes = [...new Set(coarse)].filter(s => s > fine).sort((a, b) => b - a)
  const out: CoverTile[][] = spans.map(() => [])
  // Spans that got tiles from more than one range: their pieces arrive out of order and are sorted at the end.
  const pieces = spans.map(() => 0)
  let tasks: Task[] = spans.map((s, span) => ({ span, level: 0, from: s.fromMillis, to: s.toMillis }))
  while (tasks.length > 0) {
    const reads: CoverRead[] = []
    const found: ((tiles: StoredTile[]) => void)[] = []
    const next: Task[] = []
    const expand = (t: Task): void => {
      const { span, level, from, to } = t
      if (!(from < to)) return
      const owner = spans[span]!.owner
      if (level === sizes.length) {
        reads.push({ owner, tileSizeMillis: fine, fromMillis: from, toMillis: to })
        found.push(tiles => {
          pieces[span]!++
          for (const tile of tiles) out[span]!.push({ tile, tileSizeMillis: fine })
        })
        return
      }
      const size = sizes[level]!
      const lo = from === -Infinity ? -Infinity : ceilTo(from, size)
      const hi = tileStartOf(to, size)
      if (!(lo < hi)) { expand({ span, level: level + 1, from, to }); return }
      // The edges need finer tiles whatever this level holds: read them in this round too.
      expand({ span, level: level + 1, from, to: lo })
      expand({ span, level: level + 1, from: hi, to })
      reads.push({ owner, tileSizeMillis: size, fromMillis: lo, toMillis: hi })
      found.push(tiles => {
        pieces[span]!++
        let at = lo
        for (const tile of tiles) {
          const s = tile.tileStartMillis
          // Only whole, aligned, complete coarse tiles inside the range stand for their fine tiles.
          if (s < at || tileStartOf(s, size) !== s || s + size > hi || !isComplete(tile.value)) continue
          if (s > at) next.push({ span, level: level + 1, from: at, to: s })
          out[span]!.push({ tile, tileSizeMillis: size })
          at = s + size
        }
        if (at < hi) next.push({ span, level: level + 1, from: at, to: hi })
      })
    }
    for (const t of tasks) expand(t)
    if (reads.length === 0) break
    const results = await read(reads)
    for (let i = 0; i < found.length; i++) found[i]!(results[i]!)
    tasks = next
  }
  for (let i = 0; i < out.length; i++) {
    if (pieces[i]! > 1) out[i]!.sort((a, b) => a.tile.tileStartMillis - b.tile.tileStartMillis)
  }
  return out
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
