// The cover of a read span (fetch/tile-cover.ts) over a fake store: random fine tiles, random subsets of them rolled
// up (some coarse tiles missing, some not marked complete, as another writer's would be), spans with open or
// unaligned ends. The cover must tile the span exactly — every stored fine tile's time covered once, by itself or
// by a complete coarse tile — and take every complete coarse tile that fits.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type CoverTile, isComplete, readCover } from '../../src/fetch/tile-cover.ts'
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

for (let seed = 1; seed <= 40; seed++) {
  test(`the cover tiles the span exactly with the coarsest complete tiles (seed ${seed})`, async () => {
    const r = new Random(seed)
    const T0 = 1_700_006_400_000 // a day boundary
    const store = new Map<number, StoredTile[]>([[FINE, []], [HOUR, []], [DAY, []]])
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
    const reads: [number, number, number][] = []
    const read = async (size: number, a: number, b: number): Promise<StoredTile[]> => {
      reads.push([size, a, b])
      return store.get(size)!.filter(t => t.tileStartMillis >= a && t.tileStartMillis < b)
    }
    const from = r.next() < 0.2 ? -Infinity : T0 - DAY + FINE * r.int(600)
    const to = T0 + DAY + FINE * r.int(600)
    const cover: CoverTile[] = await readCover(read, FINE, [HOUR, DAY], from, to)
    // ascending and disjoint, inside the span, each coarse tile complete
    for (let i = 0; i < cover.length; i++) {
      const c = cover[i]!
      assert.ok(c.tile.tileStartMillis >= from && c.tile.tileStartMillis + c.tileSizeMillis <= to)
      if (c.tileSizeMillis > FINE) assert.ok(isComplete(c.tile.value))
      if (i > 0) assert.ok(cover[i - 1]!.tile.tileStartMillis + cover[i - 1]!.tileSizeMillis <= c.tile.tileStartMillis)
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
    assert.ok(reads.length < 200)
  })
}
