// The worker's open fine tiles (worker/open-tiles.ts) and entry table (worker/entry-table.ts): the lookups the
// per-row path relies on, and the bookkeeping closing and dropping a partition rely on.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EntryTable } from '../../src/worker/entry-table.ts'
import { Random } from '../../src/source/generator.ts'
import { type KeyHints, OpenTiles } from '../../src/worker/open-tiles.ts'

const SIZE = 300_000

/** KeyHints as KeyTable keeps them (one hint per key), in a Map. */
function mapHints (): KeyHints & { readonly map: Map<number, [number, number]> } {
  const map = new Map<number, [number, number]>()
  return {
    map,
    hinted: (k, t) => { const h = map.get(k); return h !== undefined && h[0] === t ? h[1] : -1 },
    hint: (k, t, e) => { map.set(k, [t, e]) },
    unhint: (k, t) => { if (map.get(k)?.[0] === t) map.delete(k) }
  }
}

test('entries: low numbers first, reused when freed; growing keeps the columns', () => {
  const t = new EntryTable()
  t.grow(2)
  assert.equal(t.alloc(7, 1, SIZE), 0)
  assert.equal(t.alloc(8, 2, 2 * SIZE), 1)
  assert.equal(t.full, true)
  t.grow(4)
  assert.equal(t.alloc(9, 0, 0), 2)
  t.free(0)
  assert.equal(t.alloc(10, 0, 0), 0)
  assert.equal(t.live, 3)
  assert.deepEqual([t.key[1], t.partition[1], t.tileStart[1], t.latest[1]], [8, 2, 2 * SIZE, 2 * SIZE])
  assert.equal(t.capacity, 4)
})

test('open tiles: lookups, the closing order and watermark, and removal', () => {
  const o = new OpenTiles(SIZE, 0, mapHints())
  const keyOf = new Int32Array([10, 11, 10, 12])
  o.add(10, 0, 2 * SIZE, 0)
  o.add(11, 0, 2 * SIZE, 1)
  o.add(10, 0, 0, 2)
  o.add(12, 1, 0, 3)
  assert.equal(o.entryOf(10, 2 * SIZE), 0)
  assert.equal(o.entryOf(10, 0), 2)
  assert.equal(o.entryOf(11, 0), -1)
  assert.equal(o.count, 3)
  assert.deepEqual(o.partitions(), [0, 1])
  assert.equal(o.due(5, 1e15), null, 'no state: nothing to close')
  const due = o.due(0, 3 * SIZE - 1)
  assert.deepEqual(due!.map(([start, list]) => [start, [...list.entries.subarray(0, list.n)]]), [[0, [2]], [2 * SIZE, [0, 1]]])
  assert.equal(o.closedAt(0), 3 * SIZE - 1)
  for (const [start] of due!) o.remove(0, start, keyOf)
  assert.equal(o.entryOf(10, 0), -1)
  assert.equal(o.entryOf(11, 2 * SIZE), -1)
  assert.equal(o.count, 1)
  assert.deepEqual(o.takeAll(1, keyOf)!.map(l => l.n), [1])
  assert.equal(o.entryOf(12, 0), -1)
  assert.deepEqual(o.partitions(), [0])
})

test('open tiles: a tile emptied by removeLast (a refused row) or closed is never written to again through the last-tile cache', () => {
  const o = new OpenTiles(SIZE, 0, mapHints())
  const keyOf = new Int32Array([1, 2, 3])
  o.add(1, 0, 0, 0)
  o.removeLast(0, 1, 0, 0)
  assert.equal(o.count, 0)
  o.add(2, 0, 0, 1) // same partition and tile as the cached one: must go to a tile that is open
  assert.equal(o.count, 1)
  assert.deepEqual(o.due(0, SIZE - 1)!.map(([, l]) => l.n), [1])
  o.remove(0, 0, keyOf)
  o.add(3, 0, 0, 2)
  assert.equal(o.count, 1)
  assert.equal(o.entryOf(3, 0), 2)
})

test('open tiles: entryOf through the per-key hints agrees with a model over random adds, refusals, closes and drops', () => {
  const r = new Random(11)
  const hints = mapHints()
  const o = new OpenTiles(SIZE, 0, hints)
  const model = new Map<string, number>() // "key:tileStart" → entry
  const keyOf = new Int32Array(100_000)
  const partOf = (key: number): number => key % 3
  let next = 0
  for (let step = 0; step < 20_000; step++) {
    const key = r.int(40)
    const tileStart = r.int(6) * SIZE
    const op = r.next()
    const id = `${key}:${tileStart}`
    if (op < 0.55) {
      if (!model.has(id)) {
        const e = next++
        keyOf[e] = key
        o.add(key, partOf(key), tileStart, e)
        model.set(id, e)
        // a refused row undoes the add of the entry it made
        if (r.next() < 0.1) { o.removeLast(e, key, partOf(key), tileStart); model.delete(id) }
      }
    } else if (op < 0.9) {
      assert.equal(o.entryOf(key, tileStart), model.get(id) ?? -1, `entryOf ${id} at step ${step}`)
    } else if (op < 0.97) {
      const p = r.int(3)
      for (const [start] of o.due(p, tileStart + SIZE - 1) ?? []) {
        o.remove(p, start, keyOf)
        for (const k of [...model.keys()]) if (k.endsWith(`:${start}`) && partOf(Number(k.split(':')[0])) === p) model.delete(k)
      }
    } else {
      const p = r.int(3)
      o.takeAll(p, keyOf)
      for (const k of [...model.keys()]) if (partOf(Number(k.split(':')[0])) === p) model.delete(k)
    }
  }
  for (let key = 0; key < 40; key++) for (let t = 0; t < 6; t++) assert.equal(o.entryOf(key, t * SIZE), model.get(`${key}:${t * SIZE}`) ?? -1)
  for (const [key, [t, e]] of hints.map) assert.equal(model.get(`${key}:${t * SIZE}`), e, 'no hint outlives its entry')
})
