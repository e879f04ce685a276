// The tiled read (§3.4) for streaming tiles: for query time Q, read the key's tiles, merge each tile part's IR
// into every window that takes the tile, then finalize per output column (NaN/∞ → null). Which tiles a window takes
// is decided by one timestamp t per tile, as Chronon's fetcher does (t < Q and, windowed, t ≥ round(Q − W, hop));
// the head-tile rule says which timestamp that is:
//
//   start   t = the tile start (Zipline's fetcher: its stores return the tile start). The tile that holds Q is
//           taken whole, events after Q included.
//   latest  t = the time of the last event folded into the tile (airbnb's fetcher: its job writes each tile with
//           PutRequest.tsMillis = TimestampedIR.latestTsMillis). The tile that holds Q is taken only when its last
//           event came before Q, and then whole.
//
// The two agree for every tile that does not hold Q; they differ for a query made inside a tile (a historical
// point-in-time read). Default: the GroupBy's flavour (airbnb → latest, zipline → start).
// A GroupBy the engine ran untiled (ServingInfo.untiled) is read from its events instead (untiled-read.ts).
//
// Multi-resolution: every tile but the head one (the last starting before Q) is taken by the same rule under
// both head-tile rules — start ≥ the window's cutoff — and cutoffs fall on tile boundaries. So the body of the read,
// [earliest cutoff, head), is cut at every cutoff into spans, each read as the coarsest complete rolled-up tiles
// that fit and fine tiles elsewhere (tile-cover.ts); a window takes the spans at or after its cutoff. The head tile
// is always a fine tile, judged by the head-tile rule as before.

import { bindReadSide, type ReadSide, type ServingInfo } from '../config/bind.ts'
import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import type { StoredTile, TileStore } from '../sink/store.ts'
import { DAY, HOUR, roundTrunc, tileStartOf } from '../window/resolution.ts'
import { usableRollups } from '../window/rollup-sizes.ts'
import { type FetchResult, readStart, toJsonValue } from './result.ts'
import { readCover } from './tile-cover.ts'
import { fetchUntiled } from './untiled-read.ts'

/** Rebuilds the read side from the serving info the engine stored beside the tiles. */
export async function loadReadSide (plan: Plan, store: TileStore): Promise<ReadSide> {
  const raw = await store.getMetadata(plan.name)
  if (raw === undefined) {
    throw new TilekilnError('TK_STORE', `the store has no tiles for GroupBy '${plan.name}' (no serving info): run the engine first`, { groupBy: plan.name, store: store.description })
  }
  return bindReadSide(plan, JSON.parse(raw) as ServingInfo)
}

/** Which timestamp of a tile decides whether a window takes it (see the header). */
export type HeadTileRule = 'start' | 'latest'

export interface FetchOptions {
  /** Default: the GroupBy's flavour's rule (airbnb → latest, zipline → start). */
  readonly headTile?: HeadTileRule | undefined
  /**
   * Use rolled-up tiles where the store has them (default true); false reads the GroupBy's own tiles only. Either
   * way the result is the same (up to the rounding of floating-point sums, which merge in another grouping).
   */
  readonly rollups?: boolean | undefined
}

/** The rolled-up sizes a read looks for: those the engine can write for this GroupBy (window/rollup-sizes.ts). */
export function readableRollups (plan: Plan): number[] {
  return usableRollups(plan, [HOUR, DAY])
}

/** The rule of a GroupBy's flavour: what its own JVM fetcher does. */
export function defaultHeadTile (plan: Plan): HeadTileRule {
  return plan.flavour === 'airbnb' ? 'latest' : 'start'
}

/**
 * The tiles a read at Q may take, ascending: fine tiles starting in [readStart, Q), or with rollups the same span
 * covered by rolled-up tiles where they exist (see the header).
 */
async function readTilesFor (plan: Plan, store: TileStore, keyBytes: Uint8Array, atMillis: number, cutoffs: readonly number[], rollups: boolean): Promise<StoredTile[]> {
  const dataset = plan.streamingDataset
  const fine = plan.tileSizeMillis
  // Either rule needs only tiles starting before Q: a tile's events, its last one included, are at or after its start.
  const from = readStart(plan, atMillis)
  const sizes = rollups ? readableRollups(plan) : []
  const head = tileStartOf(atMillis - 1, fine)
  const body = [...new Set(cutoffs.map(c => Math.min(c, head)))].sort((a, b) => a - b)
  // Cutoffs fall on tile boundaries (hops are multiples of the tile size); if one did not, read fine tiles only.
  const aligned = body.every(c => c === -Infinity || tileStartOf(c, fine) === c)
  if (sizes.length === 0 || !aligned || !(from < head) || head - Math.max(from, body[0]!) < sizes[0]!) {
    return await store.readTiles(dataset, keyBytes, fine, from, atMillis)
  }
  const read = (size: number, a: number, b: number): Promise<StoredTile[]> => store.readTiles(dataset, keyBytes, size, a, b)
  body.push(head)
  const spans = body.slice(0, -1).map((a, i) => readCover(read, fine, sizes, a, body[i + 1]!))
  const [headTiles, ...covers] = await Promise.all([read(fine, head, atMillis), ...spans])
  const out: StoredTile[] = []
  for (const c of covers) for (const t of c) out.push(t.tile)
  for (const t of headTiles!) out.push(t)
  return out
}

export async function fetchFeatures (read: ReadSide, store: TileStore, keyValues: readonly unknown[], atMillis: number, options: FetchOptions = {}): Promise<FetchResult> {
  const keyBytes = readKey(read, store, keyValues)
  if (read.serving.untiled === true) return await fetchUntiled(read, store, keyValues, atMillis)
  const plan = read.plan
  const byLatest = (options.headTile ?? defaultHeadTile(plan)) === 'latest'
  const outputs = plan.outputs
  const cutoffs = outputs.map(o => (o.window.unbounded ? -Infinity : roundTrunc(atMillis - o.window.millis, o.window.hopMillis)))
  const tiles = await readTilesFor(plan, store, keyBytes, atMillis, cutoffs, options.rollups !== false)
  const accs: unknown[] = outputs.map(() => null)
  let tilesRead = 0
  for (const tile of tiles) {
    const t = byLatest ? tile.latestMillis : tile.tileStartMillis
    if (t >= atMillis) continue
    tilesRead++
    const { irs } = read.tileCodec.decode(tile.value)
    const parts = irs.map((v, p) => (v === null ? null : read.aggregators[p]!.denormalize(v)))
    for (let i = 0; i < outputs.length; i++) {
      if (t < cutoffs[i]!) continue
      const p = outputs[i]!.part.index
      const ir = parts[p]
      if (ir === null || ir === undefined) continue
      accs[i] = read.aggregators[p]!.merge(accs[i], ir)
    }
    // merge() cloned or merged what it needed; the decoded IRs are ours to release (sketches live in WASM memory).
    parts.forEach((ir, p) => { if (ir !== null) read.aggregators[p]!.dispose(ir) })
  }
  const features: Record<string, unknown> = {}
  for (let i = 0; i < outputs.length; i++) {
    const agg = read.aggregators[outputs[i]!.part.index]!
    features[outputs[i]!.name] = toJsonValue(agg.finalize(accs[i] ?? null))
    agg.dispose(accs[i] ?? null)
  }
  return { features, tilesRead, atMillis }
}

/**
 * The entity key bytes of a read. The read side refuses what the write side refuses: a key value its column's type
 * does not hold (it would encode as another key's bytes) or a key longer than the store takes (the engine
 * dead-letters such records, so nothing was ever stored under it). Both are the caller's error (TK_USAGE).
 */
export function readKey (read: ReadSide, store: TileStore, keyValues: readonly unknown[]): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = read.keyCodec.encode(keyValues)
  } catch (e) {
    throw new TilekilnError('TK_USAGE', (e as Error).message, { groupBy: read.plan.name })
  }
  const max = store.maxKeyBytes
  if (bytes.length > max) throw new TilekilnError('TK_USAGE', `the key is ${bytes.length} bytes; ${store.description} holds keys of at most ${max.toLocaleString('en-US')}, so nothing is stored under it`, { groupBy: read.plan.name })
  return bytes
}

export { type FetchResult, readStart, toJsonValue }
export type { ServingInfo }
