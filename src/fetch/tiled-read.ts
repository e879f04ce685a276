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

import { describeKey } from '../codec/key.ts'
import { bindReadSide, type ReadSide, type ServingInfo } from '../config/bind.ts'
import type { Plan } from '../config/plan.ts'
import { isTilekilnError, TilekilnError } from '../errors.ts'
import type { StoredTile, TileRange, TileStore } from '../sink/store.ts'
import { DAY, HOUR, roundTrunc, tileStartOf } from '../window/resolution.ts'
import { usableRollups } from '../window/rollup-sizes.ts'
import { type FetchResult, readStart, toJsonValue } from './result.ts'
import { type CoverSpan, readCovers, type ReadRound } from './tile-cover.ts'
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
   * Use rolled-up tiles where the store has them (default true: every size the GroupBy can have, readableRollups);
   * false reads the GroupBy's own tiles only; a list of sizes (ms) uses only those. Either way the result is the
   * same (up to the rounding of floating-point sums, which merge in another grouping).
   */
  readonly rollups?: boolean | readonly number[] | undefined
}

/** The rolled-up sizes a read looks for: those the engine can write for this GroupBy (window/rollup-sizes.ts). */
export function readableRollups (plan: Plan): number[] {
  return usableRollups(plan, [HOUR, DAY])
}

/** The rule of a GroupBy's flavour: what its own JVM fetcher does. */
export function defaultHeadTile (plan: Plan): HeadTileRule {
  return plan.flavour === 'airbnb' ? 'latest' : 'start'
}

/** The rolled-up sizes `FetchOptions.rollups` asks for, of those the GroupBy can have. */
function rollupsOf (plan: Plan, rollups: FetchOptions['rollups']): number[] {
  if (rollups === false) return []
  const readable = readableRollups(plan)
  return rollups === true || rollups === undefined ? readable : readable.filter(s => rollups.includes(s))
}

/**
 * The tiles a read at Q may take, per key, ascending: fine tiles starting in [readStart, Q), or with rollups the
 * same span covered by rolled-up tiles where they exist (see the header). Every key's spans are read together, in
 * rounds of one store request each (tile-cover.ts).
 */
async function readTilesFor (plan: Plan, store: TileStore, keys: readonly Uint8Array[], atMillis: number, cutoffs: readonly number[], rollups: readonly number[]): Promise<StoredTile[][]> {
  const dataset = plan.streamingDataset
  const fine = plan.tileSizeMillis
  // Either rule needs only tiles starting before Q: a tile's events, its last one included, are at or after its start.
  const from = readStart(plan, atMillis)
  const head = tileStartOf(atMillis - 1, fine)
  const body = [...new Set(cutoffs.map(c => Math.min(c, head)))].sort((a, b) => a - b)
  // Cutoffs fall on tile boundaries (hops are multiples of the tile size); if one did not, read fine tiles only.
  const aligned = body.every(c => c === -Infinity || tileStartOf(c, fine) === c)
  let bounds: number[]
  let sizes = rollups
  if (sizes.length === 0 || !aligned || !(from < head) || head - Math.max(from, body[0]!) < sizes[0]!) {
    bounds = [from, atMillis]
    sizes = []
  } else {
    // The spans between cutoffs, then the head tile's own span (shorter than a coarse tile: always read fine).
    bounds = [...body, head, atMillis]
  }
  const spans: CoverSpan[] = []
  for (let k = 0; k < keys.length; k++) {
    for (let i = 0; i + 1 < bounds.length; i++) spans.push({ owner: k, fromMillis: bounds[i]!, toMillis: bounds[i + 1]! })
  }
  const round: ReadRound = async reads => {
    // One request for the round: the ranges grouped by key, each answer put back at its read's place.
    const byKey = new Map<number, { ranges: TileRange[], at: number[] }>()
    reads.forEach((r, i) => {
      let g = byKey.get(r.owner)
      if (g === undefined) byKey.set(r.owner, g = { ranges: [], at: [] })
      g.ranges.push(r)
      g.at.push(i)
    })
    const groups = [...byKey]
    const answers = await store.readTileRanges(dataset, groups.map(([k, g]) => ({ keyBytes: keys[k]!, ranges: g.ranges })))
    const out: StoredTile[][] = new Array(reads.length)
    groups.forEach(([, g], j) => { g.at.forEach((i, r) => { out[i] = answers[j]![r]! }) })
    return out
  }
  const covers = await readCovers(round, fine, sizes, spans)
  const perSpan = bounds.length - 1
  return keys.map((_, k) => {
    const tiles: StoredTile[] = []
    for (let i = 0; i < perSpan; i++) for (const c of covers[k * perSpan + i]!) tiles.push(c.tile)
    return tiles
  })
}

export async function fetchFeatures (read: ReadSide, store: TileStore, keyValues: readonly unknown[], atMillis: number, options: FetchOptions = {}): Promise<FetchResult> {
  return (await fetchFeaturesMany(read, store, [keyValues], atMillis, options))[0]!
}

/**
 * The features of several keys at one point in time, in the order of `keys`. Their tiles are read together: one
 * store request per round of the cover (tile-cover.ts) for all of them, where fetchFeatures per key makes one each.
 * A key the read side refuses (see readKey) fails the whole call.
 */
export async function fetchFeaturesMany (read: ReadSide, store: TileStore, keys: readonly (readonly unknown[])[], atMillis: number, options: FetchOptions = {}): Promise<FetchResult[]> {
  const keyBytes = keys.map(k => readKey(read, store, k))
  if (read.serving.untiled === true) return await Promise.all(keys.map(async k => await fetchUntiled(read, store, k, atMillis)))
  const plan = read.plan
  const byLatest = (options.headTile ?? defaultHeadTile(plan)) === 'latest'
  const cutoffs = plan.outputs.map(o => (o.window.unbounded ? -Infinity : roundTrunc(atMillis - o.window.millis, o.window.hopMillis)))
  const tiles = await readTilesFor(plan, store, keyBytes, atMillis, cutoffs, rollupsOf(plan, options.rollups))
  return tiles.map((t, i) => aggregate(read, t, atMillis, cutoffs, byLatest, keys[i]!))
}

/** Merges each tile's IRs into the windows that take it and finalizes every output column. */
function aggregate (read: ReadSide, tiles: readonly StoredTile[], atMillis: number, cutoffs: readonly number[], byLatest: boolean, key: readonly unknown[]): FetchResult {
  const outputs = read.plan.outputs
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
      try {
        accs[i] = read.aggregators[p]!.merge(accs[i], ir)
      } catch (e) {
        if (!isTilekilnError(e) || e.code !== 'TK_INPUT') throw e
        throw unmergeable(read, key, outputs[i]!.name, tile, e)
      }
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
 * The stored tiles of a key hold IRs that cannot be merged (an element-wise list whose length changed over the
 * window: Chronon's merge refuses it too). A data problem of this key and column, not of the reader: said with both.
 */
function unmergeable (read: ReadSide, key: readonly unknown[], column: string, tile: StoredTile, e: TilekilnError): TilekilnError {
  const described = describeKey(read.plan.keyColumns, key)
  return new TilekilnError('TK_INPUT',
    `the stored tiles of key ${described} cannot be merged into ${column}: ${e.message} (at the tile of ${new Date(tile.tileStartMillis).toISOString()}); the events of this key disagree, other keys are not affected`,
    { groupBy: read.plan.name, key: described, column }, { cause: e })
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
