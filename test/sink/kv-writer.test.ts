// The KvWriter against the in-memory store with injected latency and failures (src/sink/memory-store.ts: requests
// applied one at a time in call order, as LMDB's write queue and a Redis connection apply them). What it must keep:
// order and last-write-wins across failures, no second attempt of a batch while an earlier one may still run, a
// slow request waited for (not re-issued), deadlines that follow the store's pace, backpressure, fenced outcomes
// as final, fatal errors as fatal, and a bounded stop on a store that never answers.
import assert from 'node:assert/strict'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { describe, test } from 'node:test'
import { TilekilnError } from '../../src/errors.ts'
import { KvWriter, type KvWriterEvents, type KvWriterOptions, type SlowReport, type WriteBatch, writeTilesTo, type WriteTarget } from '../../src/sink/kv-writer.ts'
import { MemoryStore, type MemoryFault } from '../../src/sink/memory-store.ts'
import type { Fence, WriteOutcome } from '../../src/sink/store.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'

const DS = 'TEST_WRITER_STREAMING'
const TILE = 300_000
const key = (n: number): Uint8Array => new Uint8Array([0x02, n])
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A batch of (key number, tile index, value text) puts, optionally with partitions. */
function batch (puts: readonly (readonly [number, number, string])[], partitions?: readonly number[]): TilePuts {
  const w = new TilePutsWriter()
  w.begin()
  for (const [k, t, v] of puts) { w.beginPut(key(k), t * TILE).raw(Buffer.from(v)); w.endValue() }
  return new TilePuts(w.finish(), partitions === undefined ? undefined : Int32Array.from(partitions))
}

async function value (store: MemoryStore, k: number, t: number): Promise<string | undefined> {
  const tiles = await store.readTiles(DS, key(k), TILE, t * TILE, t * TILE + 1)
  return tiles.length === 0 ? undefined : Buffer.from(tiles[0]!.value).toString()
}

/**
 * The store's write, watched: how many attempts of each batch are live at once (must never exceed one), how many
 * requests are live at all, and how many were made.
 */
class Watched implements WriteTarget<TilePuts> {
  readonly store: MemoryStore
  readonly attempts = new Map<TilePuts, number>()
  readonly #live = new Map<TilePuts, number>()
  live = 0
  maxLive = 0
  stacked = 0
  requests = 0
  resets = 0
  readonly write: (puts: TilePuts, fence?: Fence) => Promise<WriteOutcome | void>
  readonly reset: (() => void) | undefined

  constructor (store: MemoryStore, withReset: boolean) {
    this.store = store
    const inner = writeTilesTo(store, DS, TILE)
    this.write = async (puts, fence) => {
      this.requests++
      this.attempts.set(puts, (this.attempts.get(puts) ?? 0) + 1)
      if ((this.#live.get(puts) ?? 0) > 0) this.stacked++
      this.#live.set(puts, (this.#live.get(puts) ?? 0) + 1)
      this.maxLive = Math.max(this.maxLive, ++this.live)
      try {
        return await inner.write(puts, fence)
      } finally {
        this.live--
        this.#live.set(puts, this.#live.get(puts)! - 1)
      }
    }
    this.reset = withReset ? () => { this.resets++; store.resetConnection() } : undefined
  }
}

interface Recorded {
  durable: number[]
  errors: string[]
  slow: SlowReport[]
  fenced: [readonly number[], number][]
  fatal: TilekilnError[]
}

function writer (target: WriteTarget<TilePuts>, options: Partial<KvWriterOptions> = {}): { w: KvWriter<number>, r: Recorded } {
  const r: Recorded = { durable: [], errors: [], slow: [], fenced: [], fatal: [] }
  const events: KvWriterEvents<number> = {
    onDurable: (b: WriteBatch<number>) => r.durable.push(b.meta),
    onError: e => r.errors.push((e as Error).message),
    onSlow: s => r.slow.push(s),
    onFenced: (p, b) => r.fenced.push([p, b.meta]),
    onFatal: e => r.fatal.push(e)
  }
  return { w: new KvWriter<number>(target, events, { retryInitialMillis: 5, retryMaxMillis: 40, slowReportMillis: 0, ...options }), r }
}

function faultsAt (list: Record<number, MemoryFault>): (n: number) => MemoryFault | undefined {
  return n => list[n]
}

describe('KvWriter', { timeout: 20_000 }, () => {
  test('order: acknowledgements in enqueue order, the store ends with every tile\'s last write, one request per batch', async () => {
    let seed = 7
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000 }
    const store = new MemoryStore({ faults: { latencyMillis: () => Math.floor(rnd() * 4) } })
    const t = new Watched(store, false)
    const { w, r } = writer(t, { maxInFlight: 4 })
    const expected = new Map<string, string>()
    for (let b = 0; b < 60; b++) {
      const puts: [number, number, string][] = []
      for (let i = 0; i < 20; i++) {
        const k = Math.floor(rnd() * 10)
        const tile = Math.floor(rnd() * 5)
        // One put per tile per batch, as a worker emits them.
        if (puts.some(p => p[0] === k && p[1] === tile)) continue
        puts.push([k, tile, `b${b}`])
        expected.set(`${k}/${tile}`, `b${b}`)
      }
      w.enqueue(batch(puts), b)
    }
    await w.drain()
    assert.deepEqual(r.durable, Array.from({ length: 60 }, (_, i) => i))
    for (const [kt, v] of expected) {
      const [k, tile] = kt.split('/').map(Number) as [number, number]
      assert.equal(await value(store, k, tile), v, kt)
    }
    assert.equal(t.requests, 60)
    assert.ok(t.maxLive <= 4 && t.maxLive > 1, `live requests peaked at ${t.maxLive}`)
    assert.equal(r.errors.length, 0)
  })

  test('a request that outlives its deadline but then succeeds is waited for, reported slow, and never issued again', async () => {
    // Request 1 takes 250 ms against a 40 ms deadline; no reset is possible.
    const store = new MemoryStore({ faults: { latencyMillis: n => n === 1 ? 250 : 1 } })
    const t = new Watched(store, false)
    const { w, r } = writer(t, { timeoutMillis: 40 })
    const first = batch([[1, 0, 'first']])
    w.enqueue(first, 0)
    w.enqueue(batch([[2, 0, 'second']]), 1)
    await w.drain()
    assert.equal(t.attempts.get(first), 1, 'the slow batch was issued once')
    assert.equal(t.requests, 2)
    assert.equal(t.stacked, 0)
    assert.ok(w.timeouts >= 1)
    assert.ok(r.slow.length >= 1)
    assert.equal(r.slow[0]!.oldestPuts, 1)
    assert.equal(r.slow[0]!.reset, false)
    assert.deepEqual(r.errors, [])
    assert.deepEqual(r.durable, [0, 1])
    assert.equal(await value(store, 1, 0), 'first')
  })

  test('a deadline that passes while the process itself did not run is not a slow store: the answer that came meanwhile is read first', async () => {
    // A store that answers at once over a socket, as Redis does (and as LMDB's write thread answers through the event
    // loop's poll phase): the answer is in the kernel when write() returns, so no other thread has to run for it.
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const accepted = new Promise<Socket>(resolve => server.once('connection', resolve))
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
    const [peer] = await Promise.all([accepted, new Promise(resolve => client.once('connect', resolve))])
    try {
      let resets = 0
      const target: WriteTarget<TilePuts> = {
        write: async () => { await new Promise<void>(resolve => { client.once('data', () => resolve()); peer.write('OK') }) },
        reset: () => { resets++ }
      }
      const { w, r } = writer(target, { timeoutMillis: 50 })
      // From the event loop's check phase: its next turn starts with the timers, and reads the socket after them.
      await new Promise(resolve => setImmediate(resolve))
      w.enqueue(batch([[1, 0, 'a']]), 1)
      // The event loop is held for 4× the deadline, as a loaded machine or a long GC holds it: the store answered
      // at once, but its answer is read only after the deadline's timer has fired.
      const until = Date.now() + 200
      while (Date.now() < until) { /* busy */ }
      await w.drain()
      assert.deepEqual(r.durable, [1])
      assert.equal(w.timeouts, 0, 'an answered request was counted as outliving its deadline')
      assert.deepEqual(r.slow, [])
      assert.equal(resets, 0, 'the connection was reset under an answered request')
    } finally {
      client.destroy()
      peer.destroy()
      server.close()
    }
  })

  test('last write wins across failures: a failed batch is retried with everything after it, in order', async () => {
    for (const fault of ['before', 'after'] as const) {
      // Request 1 (X = v1) fails; request 2 (X = v2) was applied meanwhile. Retrying request 1 alone would leave v1.
      const store = new MemoryStore({ faults: { latencyMillis: () => 2, fault: faultsAt({ 1: fault }) } })
      const t = new Watched(store, false)
      const { w, r } = writer(t)
      w.enqueue(batch([[1, 0, 'v1'], [2, 0, 'only in 1']]), 1)
      w.enqueue(batch([[1, 0, 'v2']]), 2)
      await w.drain()
      assert.equal(await value(store, 1, 0), 'v2', `fault ${fault}`)
      assert.equal(await value(store, 2, 0), 'only in 1')
      assert.equal(r.errors.length, 1)
      assert.match(r.errors[0]!, /injected failure of write request 1/)
      assert.deepEqual(r.durable, [1, 2])
      assert.equal(t.requests, 4, 'both batches issued again, in order')
      assert.equal(t.stacked, 0)
    }
  })

  test('backpressure: above maxQueuedPuts the writer says so and ready() waits; never more than maxInFlight live', async () => {
    const store = new MemoryStore({ faults: { latencyMillis: () => 15 } })
    const t = new Watched(store, false)
    const { w } = writer(t, { maxInFlight: 2, maxQueuedPuts: 5 })
    let readyAt = 0
    for (let b = 0; b < 4; b++) w.enqueue(batch([[b, 0, 'a'], [b, 1, 'b']]), b)
    assert.equal(w.queuedPuts, 8)
    assert.equal(w.backpressured, true)
    assert.equal(t.live, 2)
    const waiting = w.ready().then(() => { readyAt = w.queuedPuts })
    await sleep(5)
    assert.equal(readyAt, 0, 'ready() waits while backpressured')
    await waiting
    assert.ok(readyAt <= 5, `ready() resolved at ${readyAt} queued puts`)
    await w.drain()
    assert.equal(t.maxLive, 2)
    assert.equal(w.backpressured, false)
  })

  test('a store made slow on purpose: latency far beyond the deadline plus failures — no stacked attempt, no storm, nothing lost', async () => {
    let seed = 3
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000 }
    // 30 ms deadline; requests take 0–90 ms; one in six fails (before or after being applied).
    const store = new MemoryStore({
      faults: {
        latencyMillis: () => Math.floor(rnd() * 90),
        fault: () => { const x = rnd(); return x < 0.08 ? 'before' : x < 0.16 ? 'after' : undefined }
      }
    })
    const t = new Watched(store, false)
    const { w, r } = writer(t, { timeoutMillis: 30, maxInFlight: 5, maxQueuedPuts: 40 })
    const expected = new Map<number, string>()
    for (let b = 0; b < 40; b++) {
      await w.ready()
      const puts: [number, number, string][] = [[b % 7, 0, `b${b}`], [100 + b, 0, `own ${b}`]]
      expected.set(b % 7, `b${b}`)
      expected.set(100 + b, `own ${b}`)
      w.enqueue(batch(puts), b)
    }
    await w.drain()
    for (const [k, v] of expected) assert.equal(await value(store, k, 0), v, `key ${k}`)
    assert.deepEqual(r.durable, Array.from({ length: 40 }, (_, i) => i))
    assert.equal(t.stacked, 0, 'no attempt was issued while an earlier attempt of the same batch was live')
    assert.ok(t.maxLive <= 5)
    assert.ok(w.timeouts > 0, 'requests outlived the deadline')
    // Without failures there would be 40 requests; each failure re-issues at most the 5 that can be in flight
    // behind it — a re-issue per timeout (the old writer) would add far more.
    assert.ok(r.errors.length > 0)
    assert.ok(t.requests <= 40 + 6 * w.failures, `${t.requests} requests for 40 batches and ${w.failures} failure(s)`)
  })

  test('deadlines follow the store\'s pace: a store that applies big batches slowly is not called slow', async () => {
    // 2,000 puts take 40 ms: 50 puts/ms.
    const store = new MemoryStore({ faults: { latencyMillis: () => 40 } })
    const t = new Watched(store, false)
    // The slowest request as the writer saw it: the pace it measures is at least 2,000 puts in that long.
    let slowest = 0
    const timed: WriteTarget<TilePuts> = {
      write: async (puts, fence) => {
        const t0 = Date.now()
        try { return await t.write(puts, fence) } finally { slowest = Math.max(slowest, Date.now() - t0) }
      }
    }
    const { w } = writer(timed, { timeoutMillis: 20, maxInFlight: 1 })
    const big = (b: number): TilePuts => batch(Array.from({ length: 2000 }, (_, i) => [i, b, 'x'] as const))
    for (let b = 0; b < 12; b++) w.enqueue(big(b), b)
    await w.drain()
    // A 20,000-put batch at the measured pace takes ≈ 400 ms; the deadline says so, not 20 ms. At most 10 s — or, on
    // a machine so loaded that a 40 ms request took far longer (timers late by 100s of ms), at most 4 × what 20,000
    // puts take at the slowest request's pace (+2 ms of clock granularity per request).
    const deadline = w.deadlineFor(20_000)
    const ceiling = Math.max(10_000, 4 * 10 * (slowest + 2))
    assert.ok(deadline > 1000 && deadline < ceiling, `deadline for 20,000 puts: ${deadline} ms (slowest request ${slowest} ms)`)
    assert.ok(w.deadlineFor(1) <= 40, `deadline for 1 put: ${w.deadlineFor(1)} ms`)
  })

  test('a request that hangs: the writer asks for a connection reset, the request fails for real and is retried', async () => {
    const store = new MemoryStore({ faults: { latencyMillis: () => 1, fault: faultsAt({ 2: 'hang' }) } })
    const t = new Watched(store, true)
    // 400 ms, not 30: this store runs in the test's own process, so a request queued in it behind another starts its
    // latency only when the process runs again. With 30 ms (60 ms for the re-issued requests after the first slow
    // one), a pause of the process (a loaded machine) right after the retry let the second re-issued request outlive
    // its deadline while the store itself had not run, and the writer rightly asked for a second reset.
    const { w, r } = writer(t, { timeoutMillis: 400 })
    w.enqueue(batch([[1, 0, 'a']]), 1)
    w.enqueue(batch([[2, 0, 'b']]), 2)
    w.enqueue(batch([[3, 0, 'c']]), 3)
    await w.drain()
    assert.equal(t.resets, 1)
    assert.equal(r.slow[0]?.reset, true)
    assert.equal(r.errors.length, 1)
    assert.match(r.errors[0]!, /dropped with the connection/)
    assert.deepEqual(r.durable, [1, 2, 3])
    for (const [k, v] of [[1, 'a'], [2, 'b'], [3, 'c']] as const) assert.equal(await value(store, k, 0), v)
    assert.equal(t.stacked, 0)
  })

  test('stop(): a store that never answers makes drain() fail within the grace time, saying what was not written', async () => {
    const store = new MemoryStore({ faults: { fault: () => 'hang' } })
    const t = new Watched(store, false)
    const { w, r } = writer(t, { timeoutMillis: 20, stopGraceMillis: 150 })
    w.enqueue(batch([[1, 0, 'a'], [2, 0, 'b']]), 1)
    w.enqueue(batch([[3, 0, 'c']]), 2)
    const stopped = Date.now()
    w.stop()
    await assert.rejects(w.drain(), (e: unknown) => {
      assert.ok(e instanceof TilekilnError)
      assert.equal(e.code, 'TK_STORE')
      assert.match(e.message, /stopped with 3 write\(s\) in 2 batch\(es\) not acknowledged by the store/)
      assert.equal(e.context.unwrittenPuts, 3)
      return true
    })
    const took = Date.now() - stopped
    assert.ok(took >= 150 && took < 1500, `gave up after ${took} ms`)
    assert.equal(r.fatal.length, 1)
    assert.throws(() => w.enqueue(batch([[4, 0, 'd']]), 3), /not acknowledged/)
    await assert.rejects(w.ready().then(() => { throw new Error('not backpressured: ready() resolves') }), /not backpressured/)
  })

  test('stop() with a store that fails at once (Redis down) also gives up; a store that keeps acknowledging does not', async () => {
    const down = new MemoryStore({ faults: { fault: () => 'before' } })
    const a = writer(new Watched(down, false), { stopGraceMillis: 120 })
    a.w.enqueue(batch([[1, 0, 'a']]), 1)
    a.w.stop()
    await assert.rejects(a.w.drain(), /not acknowledged.*last store error: memory store: injected failure/)

    const slow = new MemoryStore({ faults: { latencyMillis: () => 20 } })
    const b = writer(new Watched(slow, false), { stopGraceMillis: 200 })
    for (let i = 0; i < 40; i++) b.w.enqueue(batch([[i, 0, 'x']]), i)
    b.w.stop()
    await b.w.drain() // 40 × 20 ms = 800 ms in all, but never 200 ms without an acknowledgement
    assert.equal(b.r.durable.length, 40)
  })

  test('stop(): a process that did not run for longer than the grace time is not a silent store (its acknowledgements wait behind the check)', async () => {
    const slow = new MemoryStore({ faults: { latencyMillis: () => 30 } })
    const { w, r } = writer(new Watched(slow, false), { stopGraceMillis: 100 })
    w.enqueue(batch([[1, 0, 'a']]), 1)
    w.enqueue(batch([[2, 0, 'b']]), 2)
    w.stop()
    // The event loop is held for 4× the grace time, as a loaded machine or a long GC holds it: the store answered
    // within 30 ms, but its answer is read only after the writer's next stall check.
    const until = Date.now() + 400
    while (Date.now() < until) { /* busy */ }
    await w.drain()
    assert.deepEqual(r.durable, [1, 2])
    assert.equal(r.fatal.length, 0)
  })

  test('a fatal store error is not retried: onFatal, drain() and later enqueues get it', async () => {
    let calls = 0
    const full = new TilekilnError('TK_STORE_FULL', 'the disk is full', { store: 'test' })
    const { w, r } = writer({ write: async () => { calls++; throw full } })
    w.enqueue(batch([[1, 0, 'a']]), 1)
    await assert.rejects(w.drain(), (e: unknown) => e === full)
    await sleep(30)
    assert.equal(calls, 1)
    assert.deepEqual(r.fatal, [full])
    assert.deepEqual(r.errors, [])
    assert.throws(() => w.enqueue(batch([[2, 0, 'b']]), 2), (e: unknown) => e === full)
    // context.fatal marks other errors that no retry can fix (a read-only store, a key the store cannot hold).
    const ro = writer({ write: async () => { throw new TilekilnError('TK_STORE', 'read-only', { fatal: true }) } })
    ro.w.enqueue(batch([[1, 0, 'a']]), 1)
    await assert.rejects(ro.w.drain(), /read-only/)
  })

  test('fences: a fenced outcome is final — reported once with onFenced before onDurable, never retried', async () => {
    const store = new MemoryStore()
    const t = new Watched(store, false)
    const { w, r } = writer(t)
    const scope = 'TEST_WRITER_STREAMING/events'
    const e1 = await store.acquireEpoch(scope, 0)
    await store.acquireEpoch(scope, 1)
    const e2 = await store.acquireEpoch(scope, 1)
    // The new owner of partition 1 writes key 5 under e2; a stale writer then sends e1 for it, and a put of
    // partition 0 in the same batch.
    w.enqueue(batch([[5, 0, 'new owner']], [1]), 1, { scope, epochs: new Map([[1, e2]]) })
    w.enqueue(batch([[5, 0, 'zombie'], [6, 0, 'partition 0']], [1, 0]), 2, { scope, epochs: new Map([[0, e1], [1, e2 - 1]]) })
    await w.drain()
    assert.deepEqual(r.fenced, [[[1], 2]])
    assert.deepEqual(r.durable, [1, 2])
    assert.equal(t.requests, 2)
    assert.equal(w.fencedPuts, 1)
    assert.equal(await value(store, 5, 0), 'new owner')
    assert.equal(await value(store, 6, 0), 'partition 0')
  })
})
