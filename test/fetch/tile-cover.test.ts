// The cover of a read span (fetch/tile-cover.ts) over a fake store: random fine tiles, random subsets of them rolled
// up (some coarse tiles missing, some not marked complete, as another writer's would be), spans with open or
// unaligned ends. The cover must tile the span exactly — every stored fine tile's time covered once, by itself or
// by a complete coarse tile — take every complete coarse tile that fits, and be read in one round per level at most
// (one round when every coarse tile is there), every span and key of the read together.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type CoverRead, type CoverSpan, type CoverTile, isComplete, readCovers, type ReadRound } from '../../src/fetch/tile-cover.ts'
import type { StoredTile } from '../../src/sink/store.ts'
import { Random } from '../../src/source/generator.ts'
import { DAY, HOUR, tileStartOf } from '../../src/window/resolution.ts'

const FINE = 5 * 60_000
const COMPLETE = Uint8Array.of(2, 0, 2, 1)
const OPEN = Uint8Array.of(2, 0, 2, 0)

test('isComplete reads the trailing isComplete field', () => {
  assert.equal(isComplete(COMPLETE), true)
  assert.equal(isComplete(OPEN), false)
  assert.equal(isComplete(Uint8Array.of(2, 0, 0)), false) // isComplete null
})

/** A fake store of one key: tiles by size. */
type Tiles = Map<number, StoredTile[]>

/** Random fine tiles around T0, and random subsets of them rolled up (some missing, some not complete). */
function randomTiles (r: Random, T0: number): { store: Tiles, fineStarts: number[] } {
  const store: Tiles = new Map([[FINE, []], [HOUR, []], [DAY, []]])
  const fineStarts: number[] = []
  for (let t = T0 - 2 * DAY; t < T0 + 5 * DAY; t += FINE) if (r.next() < 0.2) fineStarts.push(t)
  for (const t of fineStarts) store.get(FINE)!.push({ tileStartMillis: t, latestMillis: t, value: COMPLETE })
  for (const size of [HOUR, DAY]) {
    const starts = [...new Set(fineStarts.map(t => tileStartOf(t, size)))]
    for (const s of starts) {
      const x = r.next()
      if (x < 0.2) continue // not rolled up (yet)
      store.get(size)!.push({ tileStartMillis: s, latestMillis: s, value: x < 0.3 ? OPEN : COMPLETE })
    }
  }
  return { store, fineStarts }
}

/** A ReadRound over fake stores (one per owner) that records each round's reads. */
function recordingReader (stores: readonly Tiles[], rounds: CoverRead[][]): ReadRound {
  return async reads => {
    rounds.push([...reads])
    return reads.map(g => stores[g.owner]!.get(g.tileSizeMillis)!.filter(t => t.tileStartMillis >= g.fromMillis && t.tileStartMillis < g.toMillis))
  }
}

for (let seed = 1; seed <= 40; seed++) {
  test(`the cover tiles the span exactly with the coarsest complete tiles, in at most one round per level (seed ${seed})`, async () => {
    const r = new Random(seed)
    const T0 = 1_700_006_400_000 // a day boundary
    // Two keys, each read as 1–3 adjacent spans (a read's spans between window cutoffs), all in one readCovers.
    const keys = [randomTiles(r, T0), randomTiles(r, T0)]
    const spans: CoverSpan[] = []
    for (let owner = 0; owner < keys.length; owner++) {
      const from = r.next() < 0.2 ? -Infinity : T0 - DAY + FINE * r.int(600)
      const to = T0 + DAY + FINE * r.int(600)
      const cuts = [from, ...Array.from({ length: r.int(3) }, () => T0 - DAY + FINE * r.int(1200)).filter(c => c > from && c < to).sort((a, b) => a - b), to]
      for (let i = 0; i + 1 < cuts.length; i++) spans.push({ owner, fromMillis: cuts[i]!, toMillis: cuts[i + 1]! })
    }
    const rounds: CoverRead[][] = []
    const covers = await readCovers(recordingReader(keys.map(k => k.store), rounds), FINE, [HOUR, DAY], spans)
    assert.equal(covers.length, spans.length)
    spans.forEach(({ owner, fromMillis: from, toMillis: to }, i) => {
      const cover: CoverTile[] = covers[i]!
      const { store, fineStarts } = keys[owner]!
      // ascending and disjoint, inside the span, each coarse tile complete and the owner's
      for (let j = 0; j < cover.length; j++) {
        const c = cover[j]!
        assert.ok(c.tile.tileStartMillis >= from && c.tile.tileStartMillis + c.tileSizeMillis <= to)
        assert.ok(store.get(c.tileSizeMillis)!.includes(c.tile))
        if (c.tileSizeMillis > FINE) assert.ok(isComplete(c.tile.value))
        if (j > 0) assert.ok(cover[j - 1]!.tile.tileStartMillis + cover[j - 1]!.tileSizeMillis <= c.tile.tileStartMillis)
      }
      // every stored fine tile in the span is covered exactly once
      for (const t of fineStarts.filter(t => t >= from && t < to)) {
        const n = cover.filter(c => c.tile.tileStartMillis <= t && t < c.tile.tileStartMillis + c.tileSizeMillis).length
        assert.equal(n, 1, `fine tile at ${t} covered ${n} times`)
      }
      // a complete day tile inside the span is always taken (the coarsest that fits)
      for (const d of store.get(DAY)!) {
        if (isComplete(d.value) && d.tileStartMillis >= from && d.tileStartMillis + DAY <= to) assert.ok(cover.some(c => c.tile === d))
      }
    })
    // one round per level at most (day, hour, fine), each holding every span's and key's ranges
    assert.ok(rounds.length >= 1 && rounds.length <= 3, `${rounds.length} rounds`)
    assert.ok(rounds.flat().length < 400)
  })
}

test('a cover whose rolled-up tiles are all there is read in one round', async () => {
  const T0 = 1_700_006_400_000
  const store: Tiles = new Map([[FINE, []], [HOUR, []], [DAY, []]])
  for (let t = T0 - 3 * DAY; t < T0 + 3 * DAY; t += FINE) store.get(FINE)!.push({ tileStartMillis: t, latestMillis: t, value: COMPLETE })
  for (let t = T0 - 3 * DAY; t < T0 + 3 * DAY; t += HOUR) store.get(HOUR)!.push({ tileStartMillis: t, latestMillis: t, value: COMPLETE })
  for (let t = T0 - 3 * DAY; t < T0 + 3 * DAY; t += DAY) store.get(DAY)!.push({ tileStartMillis: t, latestMillis: t, value: COMPLETE })
  const from = T0 - 2 * DAY + 7 * HOUR + 5 * FINE // unaligned to hours and days: edges at both finer levels
  const to = T0 + DAY + 13 * HOUR + 2 * FINE
  const rounds: CoverRead[][] = []
  const [cover] = await readCovers(recordingReader([store], rounds), FINE, [HOUR, DAY], [{ owner: 0, fromMillis: from, toMillis: to }])
  assert.equal(rounds.length, 1)
  // 5 ranges: the days, the hours and fine tiles of either edge
  assert.deepEqual(rounds[0]!.map(g => g.tileSizeMillis).sort((a, b) => a - b), [FINE, FINE, HOUR, HOUR, DAY])
  assert.deepEqual(cover!.map(c => c.tileSizeMillis / FINE), [...Array(7).fill(1), ...Array(16).fill(12), 288, 288, ...Array(13).fill(12), 1, 1])
  // the same span with one day tile missing: its hours are read in a second round
  store.get(DAY)!.splice(2, 1) // the day T0 − 1 d
  rounds.length = 0
  const [again] = await readCovers(recordingReader([store], rounds), FINE, [HOUR, DAY], [{ owner: 0, fromMillis: from, toMillis: to }])
  assert.equal(rounds.length, 2)
  assert.deepEqual(rounds[1]!.map(g => [g.tileSizeMillis, g.toMillis - g.fromMillis]), [[HOUR, DAY]])
  assert.equal(again!.reduce((n, c) => n + c.tileSizeMillis, 0), to - from)
})
