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

import { bindReadSide, type ReadSide, type ServingInfo } from '../config/bind.ts'
import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import type { TileStore } from '../sink/store.ts'
import { roundTrunc } from '../window/resolution.ts'
import { type FetchResult, readStart, toJsonValue } from './result.ts'
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
}

/** The rule of a GroupBy's flavour: what its own JVM fetcher does. */
export function defaultHeadTile (plan: Plan): HeadTileRule {
  return plan.flavour === 'airbnb' ? 'latest' : 'start'
}

export async function fetchFeatures (read: ReadSide, store: TileStore, keyValues: readonly unknown[], atMillis: number, options: FetchOptions = {}): Promise<FetchResult> {
  const keyBytes = readKey(read, store, keyValues)
  if (read.serving.untiled === true) return await fetchUntiled(read, store, keyValues, atMillis)
  const plan = read.plan
  const byLatest = (options.headTile ?? defaultHeadTile(plan)) === 'latest'
  // Either rule needs only tiles starting before Q: a tile's events, its last one included, are at or after its start.
  const tiles = await store.readTiles(plan.streamingDataset, keyBytes, plan.tileSizeMillis, readStart(plan, atMillis), atMillis)
  const outputs = plan.outputs
  const cutoffs = outputs.map(o => (o.window.unbounded ? -Infinity : roundTrunc(atMillis - o.window.millis, o.window.hopMillis)))
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
