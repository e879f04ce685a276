// Coalesced tile writes (src/sink/tile-coalesce.ts and the KvWriter's joining of queued batches): a joined request
// must leave the store exactly as writing its batches one by one in order would, carry every tile once, keep each
// put's partition and latest event time, and never join batches whose fences disagree.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { KvWriter, type WriteBatch, writeTilesTo } from '../../src/sink/kv-writer.ts'
import { MemoryStore } from '../../src/sink/memory-store.ts'
import type { Fence } from '../../src/sink/store.ts'
import { coalesceTilePuts, mergeFences } from '../../src/sink/tile-coalesce.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'

const DS = 'TEST_COALESCE_STREAMING'
const TILE = 300_000

type Put = readonly [key: number, tile: number, value: string, partition: number, latest: number]

/** Keys of 1–3 bytes (so lengths differ), one put per tile per batch as a worker emits them. */
const keyBytes = (k: number): Uint8Array => new Uint8Array(k % 3 === 0 ? [0x02, k] : k % 3 === 1 ? [0x04, k, k >> 1] : [0x06, k, 0, k])

function batch (puts: readonly Put[], withPartitions = true): TilePuts {
  const w = new TilePutsWriter()
  w.begin()
  for (const [k, t, v] of puts) { w.beginPut(keyBytes(k), t * TILE).raw(Buffer.from(v)); w.endValue() }
  return new TilePuts(w.finish(), withPartitions ? Int32Array.from(puts.map(p => p[3])) : undefined, Float64Array.from(puts.map(p => p[4])))
}

function rng (seed: number): () => number {
  return () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000 }
}

function randomBatches (rnd: () => number, n: number, keys: number): Put[][] {
  const out: Put[][] = []
  for (let b = 0; b < n; b++) {
    const puts: Put[] = []
    const size = Math.floor(rnd() * 30)
    for (let i = 0; i < size; i++) {
      const k = Math.floor(rnd() * keys)
      const t = Math.floor(rnd() * 4) - 1 // a negative tile start too
      if (puts.some(p => p[0] === k && p[1] === t)) continue
      puts.push([k, t, `b${b}.${i}.${'x'.repeat(Math.floor(rnd() * 5))}`, k % 3, t * TILE + Math.floor(rnd() * TILE)])
    }
    out.push(puts)
  }
  return out
}

/** Every put of a TilePuts as text, in order. */
function putsOf (p: TilePuts): string[] {
  const out: string[] = []
  for (let i = 0; i < p.count; i++) out.push(`${Buffer.from(p.key(i)).toString('hex')}@${p.tileStart(i)}=${Buffer.from(p.value(i)).toString()} p${p.partition(i)} l${p.latest(i)}`)
  return out
}

async function storeAfter (writes: readonly TilePuts[]): Promise<string[]> {
  const store = new MemoryStore()
  for (const w of writes) await store.writeTiles(DS, TILE, w)
  const out: string[] = []
  for await (const [k, v] of store.entries()) out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
  return out.sort()
}

describe('coalesced tile writes', () => {
  test('a joined batch holds each tile once, its last version (with its partition and latest time), and leaves the store as the batches in order', async () => {
    const rnd = rng(11)
    for (let round = 0; round < 40; round++) {
      const spec = randomBatches(rnd, 1 + Math.floor(rnd() * 6), 1 + Math.floor(rnd() * 12))
      const batches = spec.map(s => batch(s, round % 4 !== 0))
      const joined = coalesceTilePuts(batches)
      // The oracle: last write wins per (key, tile), in order of the put's last position.
      const last = new Map<string, { at: number, put: Put }>()
      let at = 0
      for (const s of spec) for (const p of s) last.set(`${p[0]}/${p[1]}`, { at: at++, put: p })
      const want = [...last.values()].sort((a, b) => a.at - b.at).map(x => putsOf(batch([x.put], round % 4 !== 0))[0]!)
      assert.deepEqual(putsOf(joined), want, `round ${round}`)
      assert.deepEqual(await storeAfter([joined]), await storeAfter(batches), `round ${round}`)
    }
  })

  test('one batch is returned as it is; empty batches join to an empty batch', () => {
    const one = batch([[1, 0, 'a', 0, 5]])
    assert.equal(coalesceTilePuts([one]), one)
    assert.equal(coalesceTilePuts([batch([]), batch([])]).count, 0)
  })

  test('fences join only when one fence writes every put as its own batch would', () => {
    const scope = 'S'
    const f = (entries: [number, number][], s = scope): Fence => ({ scope: s, epochs: new Map(entries) })
    const p0 = batch([[1, 0, 'a', 0, 0]])
    const p1 = batch([[1, 0, 'a', 1, 0]])
    assert.equal(mergeFences(undefined, [p0], undefined, p1), undefined)
    assert.deepEqual(mergeFences(f([[0, 3]]), [p0], f([[1, 4]]), p1), f([[0, 3], [1, 4]]))
    assert.deepEqual(mergeFences(f([[0, 3]]), [p0], f([[0, 3]]), p0), f([[0, 3]]))
    assert.equal(mergeFences(f([[0, 3]]), [p0], f([[0, 4]]), p0), null, 'another epoch of the same partition')
    assert.equal(mergeFences(f([[0, 3]]), [p0], f([[1, 4]], 'T'), p1), null, 'another scope')
    assert.equal(mergeFences(f([[0, 3]]), [p0], undefined, p0), null, 'partition 0 fenced, then unfenced')
    assert.equal(mergeFences(undefined, [p0], f([[0, 3]]), p0), null, 'partition 0 unfenced, then fenced')
    assert.deepEqual(mergeFences(f([[0, 3]]), [p0], undefined, p1), f([[0, 3]]), 'the unfenced batch has no put of partition 0')
    assert.equal(mergeFences(f([[1, 4]]), [p1], f([[0, 3]]), batch([[1, 0, 'a', 0, 0], [2, 0, 'b', 1, 0]])), null, 'partition 1 written unfenced by the second')
  })

  test('the writer joins batches queued behind the requests in flight: fewer requests, every batch acknowledged in order, the store as written in order; with room in flight, none', async () => {
    for (const queued of [true, false]) await joinRun(queued)
  })

  async function joinRun (queued: boolean): Promise<void> {
    const rnd = rng(5)
    const store = new MemoryStore({ faults: { latencyMillis: () => 5 } })
    const inner = writeTilesTo(store, DS, TILE)
    const sizes: number[] = []
    const target = { ...inner, write: async (p: TilePuts, fence?: Fence) => { sizes.push(p.count); return await inner.write(p, fence) } }
    const durable: number[] = []
    // A deadline no run reaches (the default is 1 s): the store runs in this process, so a request queued in it behind
    // 49 others of 5 ms each answers only after all of them, later still on a loaded machine, and a request past its
    // deadline makes the writer reset this store's connection — a failure, which onError turns into this test's.
    const w = new KvWriter<number>(target, { onDurable: (b: WriteBatch<number>) => durable.push(b.meta), onError: e => { throw e } }, { maxInFlight: queued ? 1 : 100, maxCoalescedPuts: 60, maxQueuedPuts: 1_000_000, timeoutMillis: 60_000 })
    const spec = randomBatches(rnd, 50, 15)
    const batches = spec.map(s => batch(s))
    for (let b = 0; b < batches.length; b++) {
      w.enqueue(batches[b]!, b)
      if (b % 10 === 9) await new Promise(resolve => setTimeout(resolve, 2))
    }
    await w.drain()
    assert.deepEqual(durable, Array.from({ length: 50 }, (_, i) => i))
    if (queued) assert.ok(sizes.length < 50, `${sizes.length} requests for 50 batches`)
    else assert.equal(sizes.length, 50, 'a batch that finds room in flight is its own request')
    assert.ok(Math.max(...sizes) <= 60, `a request of ${Math.max(...sizes)} puts (at most 60)`)
    assert.equal(w.written, batches.reduce((n, b) => n + b.count, 0))
    assert.deepEqual(await storeAfter([coalesceTilePuts(batches)]), await storeAfter(batches))
    const entries: string[] = []
    for await (const [k, v] of store.entries()) entries.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
    assert.deepEqual(entries.sort(), await storeAfter(batches))
  }

  test('the writer does not join batches whose fences disagree: a fenced outcome reaches only the stale batch', async () => {
    const store = new MemoryStore({ faults: { latencyMillis: () => 5 } })
    const scope = 'TEST_COALESCE_STREAMING/events'
    const e1 = await store.acquireEpoch(scope, 1)
    const e2 = await store.acquireEpoch(scope, 1)
    const e0 = await store.acquireEpoch(scope, 0)
    const inner = writeTilesTo(store, DS, TILE)
    let requests = 0
    const target = { ...inner, write: async (p: TilePuts, fence?: Fence) => { requests++; return await inner.write(p, fence) } }
    const fenced: [readonly number[], number][] = []
    const durable: number[] = []
    const w = new KvWriter<number>(target, { onDurable: b => durable.push(b.meta), onFenced: (p, b) => fenced.push([p, b.meta]), onError: e => { throw e } }, { maxInFlight: 1, maxQueuedPuts: 1, timeoutMillis: 60_000 })
    w.enqueue(batch([[1, 0, 'first', 0, 0]]), 0, { scope, epochs: new Map([[0, e0]]) })
    // Queued behind the first: the new owner of partition 1, then a stale writer of it, then partition 0 again.
    w.enqueue(batch([[5, 0, 'new owner', 1, 0]]), 1, { scope, epochs: new Map([[1, e2]]) })
    w.enqueue(batch([[5, 0, 'zombie', 1, 0]]), 2, { scope, epochs: new Map([[1, e1]]) })
    w.enqueue(batch([[6, 0, 'partition 0', 0, 0]]), 3, { scope, epochs: new Map([[0, e0]]) })
    await w.drain()
    assert.deepEqual(durable, [0, 1, 2, 3])
    assert.deepEqual(fenced, [[[1], 2]])
    assert.equal(requests, 3, 'first alone; 1 alone (2 fences partition 1 otherwise); 2 and 3 joined')
    const value = async (k: number): Promise<string> => Buffer.from((await store.readTiles(DS, keyBytes(k), TILE, 0, 1))[0]!.value).toString()
    assert.equal(await value(5), 'new owner')
    assert.equal(await value(6), 'partition 0')
  })
})

test('batches of rolled-up tiles join only batches of their own tile size, and the join keeps that size', () => {
  const sized = (puts: readonly Put[], size: number | undefined): TilePuts => {
    const w = new TilePutsWriter()
    w.begin()
    for (const [k, t, v] of puts) { w.beginPut(keyBytes(k), t * TILE).raw(Buffer.from(v)); w.endValue() }
    return new TilePuts(w.finish(), Int32Array.from(puts.map(p => p[3])), Float64Array.from(puts.map(p => p[4])), size)
  }
  const fine = sized([[1, 0, 'a', 0, 1]], undefined)
  const hour = sized([[1, 0, 'h', 0, 1]], 3_600_000)
  const hour2 = sized([[2, 0, 'g', 0, 2]], 3_600_000)
  const day = sized([[1, 0, 'd', 0, 1]], 86_400_000)
  assert.equal(mergeFences(undefined, [fine], undefined, hour), null)
  assert.equal(mergeFences(undefined, [hour], undefined, day), null)
  assert.equal(mergeFences(undefined, [hour], undefined, hour2), undefined)
  assert.equal(coalesceTilePuts([hour, hour2]).tileSizeMillis, 3_600_000)
  assert.equal(coalesceTilePuts([hour, hour2]).count, 2)
})
